package providers

import (
	"fmt"
	"net/http"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/redact"
	"github.com/parcours/parcours/internal/message/whatsapp"
)

// whatsappKind sends WhatsApp messages through the WhatsApp Cloud API,
// whose webhook is verified by GET and then POSTs statuses and the
// messages customers send.
var whatsappKind = kindOf(channel.WhatsApp, validateWhatsApp, buildWhatsApp,
	hookOf("GET", "", func(r *http.Request, _ string, s *WhatsAppSettings, _ Call) (Callback, error) {
		challenge, err := whatsapp.VerifySubscription(r.URL.Query(), s.VerifyToken)
		return Callback{Reply: challenge}, err
	}),
	hookOf("POST", "", func(r *http.Request, name string, s *WhatsAppSettings, _ Call) (Callback, error) {
		n, err := whatsapp.ParseWebhook(r, s.AppSecret, name)
		cb := Callback{Receipts: n.Receipts}
		for _, in := range n.Inbound {
			cb.Inbound = append(cb.Inbound, Inbound{ID: in.MessageID, From: in.From, Body: in.Body, ReplyID: in.ReplyID})
		}
		return cb, err
	}),
)

// WhatsAppSettings are the settings of type whatsapp (see
// whatsapp.Config). AppSecret validates webhook signatures; VerifyToken
// answers the subscription handshake.
type WhatsAppSettings struct {
	PhoneNumberID string          `yaml:"phone_number_id" required:"true"`
	AccessToken   provider.Secret `yaml:"access_token" required:"true"`
	APIVersion    string          `yaml:"api_version"`
	BaseURL       string          `yaml:"base_url"`
	AppSecret     provider.Secret `yaml:"app_secret"`
	VerifyToken   provider.Secret `yaml:"verify_token"`
	Timeout       time.Duration   `yaml:"timeout"`
	MaxConns      int             `yaml:"max_conns"`
}

// Format prints the settings with secrets redacted, whatever the verb.
func (s WhatsAppSettings) Format(f fmt.State, verb rune) { redact.Format(f, verb, s) }

func validateWhatsApp(s *WhatsAppSettings) error {
	return checkURLs(map[string]string{"base_url": s.BaseURL})
}

func buildWhatsApp(e Entry, s *WhatsAppSettings) (provider.Provider, error) {
	return whatsapp.New(whatsapp.Config{Name: e.Name, PhoneNumberID: s.PhoneNumberID, AccessToken: s.AccessToken,
		APIVersion: s.APIVersion, BaseURL: s.BaseURL, Timeout: s.Timeout, MaxConns: s.MaxConns})
}
