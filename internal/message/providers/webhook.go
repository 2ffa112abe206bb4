package providers

import (
	"fmt"
	"net/http"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/redact"
	"github.com/parcours/parcours/internal/message/webhook"
)

// webhookKind posts signed messages to the brand's endpoint: the webhook
// channel by default, or any channel its entry names (an SMS gateway of
// the brand's own), and takes signed receipts back (/receipts).
var webhookKind = func() kind {
	k := kindOf(channel.Webhook, validateWebhook, buildWebhook,
		hookOf("POST", "/receipts", func(r *http.Request, name string, s *WebhookSettings, c Call) (Callback, error) {
			rc, err := webhook.ParseReceipt(r, name, s.Secret, c.Now, 5*time.Minute)
			return Callback{Receipts: []provider.Receipt{rc}}, err
		}))
	k.any = true
	return k
}()

// WebhookSettings are the settings of type webhook (see webhook.Config).
// Secret signs outgoing requests and verifies incoming receipts.
type WebhookSettings struct {
	URL      string          `yaml:"url" required:"true"`
	Secret   provider.Secret `yaml:"secret" required:"true"`
	Timeout  time.Duration   `yaml:"timeout"`
	MaxConns int             `yaml:"max_conns"`
}

// Format prints the settings with secrets redacted, whatever the verb.
func (s WebhookSettings) Format(f fmt.State, verb rune) { redact.Format(f, verb, s) }

func validateWebhook(s *WebhookSettings) error {
	return checkURLs(map[string]string{"url": s.URL})
}

func buildWebhook(e Entry, s *WebhookSettings) (provider.Provider, error) {
	return webhook.New(webhook.Config{Name: e.Name, Channel: e.Channel, URL: s.URL, Secret: s.Secret, Timeout: s.Timeout, MaxConns: s.MaxConns})
}
