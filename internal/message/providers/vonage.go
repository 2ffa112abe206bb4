package providers

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/redact"
	"github.com/parcours/parcours/internal/message/sms"
)

// vonageKind sends SMS through Vonage, which calls back, by GET or POST,
// with delivery receipts (/dlr) and the texts customers send (/inbound).
var vonageKind = kindOf(channel.SMS, validateVonage, buildVonage,
	hookOf("", "/dlr", func(r *http.Request, name string, s *VonageSettings, c Call) (Callback, error) {
		rc, err := sms.ParseVonageDLR(r, s.APIKey, name, c.Now)
		if errors.Is(err, sms.ErrInterimStatus) {
			return Callback{}, nil // a state that is not a receipt: nothing to record
		}
		return Callback{Receipts: []provider.Receipt{rc}}, err
	}),
	hookOf("", "/inbound", func(r *http.Request, name string, s *VonageSettings, _ Call) (Callback, error) {
		in, err := sms.ParseVonageInbound(r, s.APIKey, name)
		return Callback{Inbound: []Inbound{{ID: in.MessageID, From: in.From, Body: in.Body}}}, err
	}),
)

// VonageSettings are the settings of type vonage (see sms.VonageConfig).
type VonageSettings struct {
	APIKey    string          `yaml:"api_key" required:"true"`
	APISecret provider.Secret `yaml:"api_secret" required:"true"`
	From      string          `yaml:"from" required:"true"`
	Callback  string          `yaml:"callback"`
	BaseURL   string          `yaml:"base_url"`
	Timeout   time.Duration   `yaml:"timeout"`
	MaxConns  int             `yaml:"max_conns"`
}

// Format prints the settings with secrets redacted, whatever the verb.
func (s VonageSettings) Format(f fmt.State, verb rune) { redact.Format(f, verb, s) }

func validateVonage(s *VonageSettings) error {
	return checkURLs(map[string]string{"callback": s.Callback, "base_url": s.BaseURL})
}

func buildVonage(e Entry, s *VonageSettings) (provider.Provider, error) {
	return sms.NewVonage(sms.VonageConfig{Name: e.Name, APIKey: s.APIKey, APISecret: s.APISecret, From: s.From,
		Callback: s.Callback, BaseURL: s.BaseURL, Timeout: s.Timeout, MaxConns: s.MaxConns})
}
