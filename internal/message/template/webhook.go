package template

import (
	"encoding/json"

	"github.com/parcours/parcours/internal/message/provider"
)

// Webhook is a JSON payload template: it must render to valid JSON.
type Webhook struct {
	Payload string `json:"payload"`
}

func (w *Webhook) fields(add func(name, src string, html bool)) {
	add("webhook.payload", w.Payload, false)
}

func (w *Webhook) problems() []Problem { return nil }

func (w *Webhook) render(rd *renderer, m *provider.Message) {
	out := rd.field("webhook.payload", w.Payload, false)
	if rd.err != nil {
		return
	}
	if !json.Valid([]byte(out)) {
		rd.problem("webhook.payload", "does not render to valid JSON")
		return
	}
	m.Payload = json.RawMessage(out)
}

// links leaves the payload as it is: it is data for the brand's system.
func (w *Webhook) links(*provider.Message, Links) {}
