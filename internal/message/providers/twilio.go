package providers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/redact"
	"github.com/parcours/parcours/internal/message/sms"
)

// twilioKind sends SMS through Twilio, which calls back with delivery
// statuses (/status) and the texts customers send (/inbound).
var twilioKind = kindOf(channel.SMS, validateTwilio, buildTwilio,
	hookOf("POST", "/status", func(r *http.Request, name string, s *TwilioSettings, c Call) (Callback, error) {
		rc, err := sms.ParseTwilioStatusCallback(r, s.AuthToken, c.URL, name, c.Now)
		if errors.Is(err, sms.ErrInterimStatus) {
			return Callback{}, nil // a state that is not a receipt: nothing to record
		}
		return Callback{Receipts: []provider.Receipt{rc}}, err
	}),
	hookOf("POST", "/inbound", func(r *http.Request, name string, s *TwilioSettings, c Call) (Callback, error) {
		in, err := sms.ParseTwilioInbound(r, s.AuthToken, c.URL, name)
		// An empty TwiML answer: Twilio's own STOP handling confirms
		// opt-outs; the policy's opt_out_confirmation, when set, goes as
		// a message of its own.
		return Callback{Inbound: []Inbound{{ID: in.MessageID, From: in.From, Body: in.Body}},
			Reply: `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`, ReplyType: "text/xml"}, err
	}),
)

// TwilioSettings are the settings of type twilio (see sms.TwilioConfig).
// AuthToken also validates status callbacks and inbound webhooks.
type TwilioSettings struct {
	AccountSID          string          `yaml:"account_sid" required:"true"`
	AuthToken           provider.Secret `yaml:"auth_token" required:"true"`
	From                string          `yaml:"from"`
	MessagingServiceSID string          `yaml:"messaging_service_sid"`
	StatusCallback      string          `yaml:"status_callback"`
	BaseURL             string          `yaml:"base_url"`
	Timeout             time.Duration   `yaml:"timeout"`
	MaxConns            int             `yaml:"max_conns"`
}

// Format prints the settings with secrets redacted, whatever the verb.
func (s TwilioSettings) Format(f fmt.State, verb rune) { redact.Format(f, verb, s) }

func validateTwilio(s *TwilioSettings) error {
	if !strings.HasPrefix(s.AccountSID, "AC") {
		return settingErr("account_sid", "must start with AC")
	}
	if s.From == "" && s.MessagingServiceSID == "" {
		return settingErr("from", "set from or messaging_service_sid")
	}
	return checkURLs(map[string]string{"status_callback": s.StatusCallback, "base_url": s.BaseURL})
}

func buildTwilio(e Entry, s *TwilioSettings) (provider.Provider, error) {
	return sms.NewTwilio(sms.TwilioConfig{Name: e.Name, AccountSID: s.AccountSID, AuthToken: s.AuthToken, From: s.From,
		MessagingServiceSID: s.MessagingServiceSID, StatusCallback: s.StatusCallback, BaseURL: s.BaseURL, Timeout: s.Timeout, MaxConns: s.MaxConns})
}
