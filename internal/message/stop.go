package message

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
)

// STOP means stop. A customer who texts a stop keyword to the brand gets
// nothing more on that channel (SMS, or WhatsApp for a WhatsApp STOP):
// no marketing, no transactional message, no journey step, until they
// text a start keyword or give their consent again in a way that is
// theirs (the consent API, a double opt-in; not an identify trait, which
// a sync can replay long after). The one message allowed after it is
// the confirmation of the opt-out, once per STOP, when the policy gives
// its text (off by default: Twilio's Advanced Opt-Out sends its own).

// OptOutTopic is the topic of opt-out confirmations: transactional,
// reserved (no send request or template may use it), and the only one
// that goes to a number after its STOP.
const OptOutTopic = "opt_out_confirmation"

// stopWords withdraw the channel's consent when a customer texts them;
// startWords give it back.
var (
	stopWords = map[string]bool{"STOP": true, "ARRET": true, "ARRÊT": true, "STOPALL": true, "UNSUBSCRIBE": true,
		"STOP SMS": true, "END": true, "QUIT": true, "CANCEL": true}
	startWords = map[string]bool{"START": true, "UNSTOP": true}
)

// Inbound is a text a customer sent on a messaging channel.
type Inbound struct {
	Channel provider.Channel // sms or whatsapp
	From    string           // the customer's number
	Body    string
	// ID is the provider's id of the inbound message: a callback
	// delivered twice changes consent and confirms once. Empty: the
	// number, the text and the minute stand for it.
	ID string
	// Provider is the name of the provider entry the text came through
	// (providers file), empty when unknown.
	Provider string
	// At is when the provider received the text; zero: unknown.
	At time.Time
	// ReplyID is the id of the quick reply the customer tapped (a
	// WhatsApp interactive button or list row, a template's quick-reply
	// button payload); Body is then its title. Empty for typed text.
	ReplyID string
}

// inboundFrom is the sender's number in E.164 form, and false when it
// holds a NUL character or bytes that are not UTF-8 (no profile holds
// such a number, and PostgreSQL cannot look it up).
func inboundFrom(in Inbound) (string, bool) {
	from := in.From
	if in.Channel == provider.WhatsApp && !strings.HasPrefix(from, "+") {
		from = "+" + from // WhatsApp's wa_id is the number without its '+'
	}
	return from, strings.IndexByte(from, 0) < 0 && utf8.ValidString(from)
}

// HandleInboundSMS handles an SMS a customer sent (see Receive).
func (p *Pipeline) HandleInboundSMS(ctx context.Context, from, body string) (bool, error) {
	return p.Receive(ctx, Inbound{Channel: provider.SMS, From: from, Body: body})
}

// HandleInbound handles a text a customer sent on ch (see Receive).
func (p *Pipeline) HandleInbound(ctx context.Context, ch provider.Channel, from, body string) (bool, error) {
	return p.Receive(ctx, Inbound{Channel: ch, From: from, Body: body})
}

// Receive handles a text a customer sent: a stop keyword (STOP, ARRET,
// STOPALL, UNSUBSCRIBE, ...; any case, trimmed) withdraws the channel's
// consent of every profile holding the number, which stops every message
// to it on that channel, and sends the policy's opt-out confirmation; a
// start keyword (START, UNSTOP) grants it again. It reports whether the
// text was a keyword. Any other text goes to the handlers added with
// OnInbound (surveys, conversations); it then reports whether one took it.
func (p *Pipeline) Receive(ctx context.Context, in Inbound) (bool, error) {
	word := strings.ToUpper(strings.Join(strings.Fields(in.Body), " "))
	stop, start := stopWords[word], startWords[word]
	if !stop && !start {
		return p.handOver(ctx, in)
	}
	from, ok := inboundFrom(in)
	if !ok {
		// An error would answer 503 and the provider retry for ever.
		p.log.Warn("messages: keyword from a number with a NUL character or bytes that are not UTF-8", "channel", in.Channel, "keyword", word)
		return true, nil
	}
	ids, err := p.profilesOf(ctx, in.Channel, from)
	if err != nil {
		return true, err
	}
	if len(ids) == 0 {
		p.log.Warn("messages: keyword from a number no profile holds", "channel", in.Channel, "keyword", word)
		return true, nil
	}
	slices.Sort(ids)
	id := in.ID
	if id == "" {
		id = from + "|" + word + "|" + p.clock.Now().UTC().Format("2006-01-02T15:04")
	}
	sum := sha256.Sum256([]byte(string(in.Channel) + "|" + id))
	key := hex.EncodeToString(sum[:12])
	source := string(in.Channel) + map[bool]string{true: "-stop", false: "-start"}[stop]
	for _, pid := range ids {
		if _, err := p.RecordConsent(ctx, ConsentChange{ProfileID: pid, Channel: in.Channel, Granted: start, Source: source,
			Proof: map[string]any{"from": from, "text": in.Body, "inbound_id": in.ID}, Key: source + ":" + key + ":" + strconv.FormatInt(pid, 10)}); err != nil {
			return true, err
		}
	}
	if text := p.o.Policy.OptOutConfirmation[in.Channel]; stop && text != "" {
		// To the number that texted, which may not be the profile's
		// first.
		addr, _ := p.addressOf(in.Channel, from)
		content, ok := template.Text(in.Channel, text)
		if !ok {
			return true, fmt.Errorf("message: opt-out confirmation: the %s template variant cannot hold a plain text", in.Channel)
		}
		r := Request{ProfileID: ids[0], Channel: in.Channel, Topic: OptOutTopic, Key: "opt-out:" + key, Campaign: "opt-out",
			Content: content, optOut: true, to: addr.Value}
		if _, err := p.Send(ctx, r); err != nil {
			return true, fmt.Errorf("message: opt-out confirmation: %w", err)
		}
	}
	return true, nil
}

// StopTopic is the pseudo-topic that records, per channel, whether the
// customer's last word was a stop keyword: withdrawn by STOP, granted by
// START and by every grant of the channel that is the customer's own
// (RecordConsent: the API, a double opt-in), never by an identify trait.
// Being a topic of the ledger, it is read with the rest of the consent in
// the same query, and shows on the profile's consent as "sms:*stop".
const StopTopic = "*stop"

// stoppedOn says why nothing may go to the customer on ch after a stop
// keyword, "" if they sent none or started again since.
func (c *contact) stoppedOn(ch provider.Channel) string {
	r, ok := c.consent[consentKey{string(ch), StopTopic}]
	if !ok || r.Granted {
		return ""
	}
	return fmt.Sprintf("the customer texted STOP on %s: nothing more goes to them on %s (only the opt-out confirmation) until they text START or consent again",
		r.At.Format(time.DateOnly), ch)
}

// stoppable reports whether a stop keyword can come from ch
// (channel.Descriptor.Stop).
func stoppable(ch provider.Channel) bool {
	d, _ := channel.Lookup(ch)
	return d.Stop
}

func stopChannel(d channel.Descriptor) bool { return d.Stop }
