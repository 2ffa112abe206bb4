package message

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/message/provider"
)

// Policy is the brand's rules for every message: its topics, frequency
// caps, quiet hours and channel choice.
type Policy struct {
	// Topics are the subscription topics; a topic not listed is marketing.
	Topics map[string]Topic `json:"topics" yaml:"topics"`
	// Caps limit marketing messages per customer, across journeys.
	Caps []Cap `json:"caps" yaml:"caps"`
	// QuietHours defer marketing messages out of the customer's night.
	QuietHours *QuietHours `json:"quiet_hours,omitempty" yaml:"quiet_hours"`
	// Timezone is the brand's, for customers whose own is unknown;
	// default Europe/Paris.
	Timezone string `json:"timezone" yaml:"timezone"`
	// Fallback is the order "best" tries channels in after the
	// customer's preference; default channel.Fallback (email, push, sms,
	// whatsapp).
	Fallback []provider.Channel `json:"fallback" yaml:"fallback"`
	// ConfirmationTemplate is the template of double opt-in emails (it
	// uses message.confirm_url); empty: DefaultConfirmation.
	ConfirmationTemplate string `json:"confirmation_template,omitempty" yaml:"confirmation_template"`
	// MaxSMSSegments refuses longer SMS at save and preview; default the
	// sms channel's limit (4).
	MaxSMSSegments int `json:"max_sms_segments" yaml:"max_sms_segments"`
	// OptOutConfirmation is the text sent, once, to a customer who
	// texted STOP, per channel (sms, whatsapp): the only message that
	// follows a STOP. Empty: none (Twilio confirms US opt-outs itself).
	OptOutConfirmation map[provider.Channel]string `json:"opt_out_confirmation,omitempty" yaml:"opt_out_confirmation"`
}

// reservedTopics are topics Parcours uses itself.
var reservedTopics = []string{ConfirmationTopic, OptOutTopic, StopTopic}

// Topic is a subscription topic (newsletter, offers, order_updates).
type Topic struct {
	// Transactional topics pass marketing opt-outs (never suppressions),
	// caps and quiet hours.
	Transactional bool   `json:"transactional" yaml:"transactional"`
	Description   string `json:"description,omitempty" yaml:"description"`
}

// Cap is a frequency cap: at most Max marketing messages per Per, on one
// channel and topic or (empty) all of them.
type Cap struct {
	Channel provider.Channel `json:"channel,omitempty" yaml:"channel"`
	Topic   string           `json:"topic,omitempty" yaml:"topic"`
	Max     int              `json:"max" yaml:"max"`
	Per     Duration         `json:"per" yaml:"per"`
}

func (c Cap) String() string {
	scope := "all marketing"
	if c.Channel != "" {
		scope = string(c.Channel)
	}
	if c.Topic != "" {
		scope += " " + c.Topic
	}
	return fmt.Sprintf("%s: at most %d per %s", scope, c.Max, time.Duration(c.Per))
}

// Duration is a time.Duration written as "168h" in files and JSON.
type Duration time.Duration

// UnmarshalText parses "168h", "30m".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as "168h0m0s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// DefaultTopics are the topics a brand starts with.
var DefaultTopics = map[string]Topic{
	"newsletter":    {Description: "news and inspiration"},
	"offers":        {Description: "promotions and personal offers"},
	"order_updates": {Transactional: true, Description: "order confirmations, shipping, receipts"},
}

func (p *Policy) defaults() {
	if p.Topics == nil {
		p.Topics = DefaultTopics
	}
	if _, ok := p.Topics[ServiceTopic]; !ok {
		// Every policy has the topic of answers to customers who wrote
		// (service.go); a copy, not to change DefaultTopics or the caller's.
		p.Topics = maps.Clone(p.Topics)
		p.Topics[ServiceTopic] = serviceTopic
	}
	if p.Timezone == "" {
		p.Timezone = "Europe/Paris"
	}
	if len(p.Fallback) == 0 {
		p.Fallback = channel.Fallback()
	}
	if d, _ := channel.Lookup(channel.SMS); p.MaxSMSSegments <= 0 {
		p.MaxSMSSegments = d.Limits.Segments
	}
}

// transactional reports whether a topic is transactional.
func (p *Policy) transactional(topic string) bool {
	return topic == ConfirmationTopic || topic == OptOutTopic || p.Topics[topic].Transactional
}

// Validate checks a policy read from a file, naming what is wrong.
func (p *Policy) Validate() error {
	for i, c := range p.Caps {
		switch {
		case c.Max <= 0 || c.Per <= 0:
			return fmt.Errorf("message policy: caps[%d]: max and per must be positive (e.g. {max: 3, per: 168h})", i)
		case c.Channel != "" && !channel.Known(c.Channel):
			return fmt.Errorf("message policy: caps[%d]: unknown channel %q", i, c.Channel)
		case c.Topic != "" && p.Topics != nil && !p.known(c.Topic):
			return fmt.Errorf("message policy: caps[%d]: unknown topic %q", i, c.Topic)
		}
	}
	if q := p.QuietHours; q != nil {
		if err := q.Validate(); err != nil {
			return fmt.Errorf("message policy: %w", err)
		}
	}
	if p.Timezone != "" {
		if _, err := time.LoadLocation(p.Timezone); err != nil {
			return fmt.Errorf("message policy: timezone %q: %w", p.Timezone, err)
		}
	}
	for _, t := range reservedTopics {
		if _, ok := p.Topics[t]; ok {
			return fmt.Errorf("message policy: topics: %q is reserved for Parcours' own messages; name the topic otherwise", t)
		}
	}
	for ch, text := range p.OptOutConfirmation {
		if !stoppable(ch) {
			return fmt.Errorf("message policy: opt_out_confirmation: %q: a STOP comes by %s", ch, channel.Or(channel.Names(stopChannel)))
		}
		if strings.TrimSpace(text) == "" {
			return fmt.Errorf("message policy: opt_out_confirmation.%s: empty text (remove the entry to send none)", ch)
		}
	}
	for _, ch := range p.Fallback {
		if !channel.Known(ch) {
			return fmt.Errorf("message policy: fallback: unknown channel %q", ch)
		}
	}
	return nil
}

func (p *Policy) known(topic string) bool {
	_, ok := p.Topics[topic]
	return ok
}
