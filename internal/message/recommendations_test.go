package message_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
)

// fakeRecs answers for_you with one product and records what it was
// asked.
type fakeRecs struct{ asked *[]string }

func (f fakeRecs) ForTemplate(_ context.Context, profileID int64, channel, storeID string, mentions func(string) bool) (map[string]any, error) {
	*f.asked = append(*f.asked, channel+"|"+storeID)
	out := map[string]any{}
	if mentions("recommendations.for_you") {
		out["for_you"] = []any{map[string]any{"name": "Sac cabas", "url": "https://shop.example/p/bag?rec=for_you"}}
	}
	return out, nil
}

// TestTemplatesGetRecommendations: a template that mentions
// recommendations gets them for its customer, channel and store; one that
// does not costs no query; a name nobody defined renders nothing.
func TestTemplatesGetRecommendations(t *testing.T) {
	var asked []string
	h := newHarness(t, func(o *message.Options) { o.Recommendations = fakeRecs{&asked} })
	h.customer(1, map[string]any{"first_name": "Sophie"})
	render := func(key, body, store string) string {
		t.Helper()
		m := h.send(message.Request{ProfileID: 1, Channel: provider.SMS, Topic: "order_updates", Key: key, StoreID: store,
			Content: &template.Template{SMS: &template.SMS{Body: body}}})
		var pm provider.Message
		if err := json.Unmarshal(m.Payload, &pm); err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
		return pm.Body
	}
	body := `{% for p in recommendations.for_you %}{{ p.name }} {{ p.url }}{% else %}Nos nouveautés{% endfor %}{% for p in recommendations.unknown %}x{% endfor %}`
	// The pipeline tags the link as any other (utm_source, utm_medium).
	if got := render("rec-1", body, "paris-rivoli"); !strings.HasPrefix(got, "Sac cabas https://shop.example/p/bag?rec=for_you&utm_medium=sms") {
		t.Errorf("rendered %q", got)
	}
	if len(asked) != 1 || asked[0] != "sms|paris-rivoli" {
		t.Errorf("asked %v, want the SMS's channel and store once", asked)
	}
	render("rec-2", "Bonjour {{ profile.first_name }}", "")
	if len(asked) != 1 {
		t.Errorf("a template without recommendations asked for them: %v", asked)
	}
}
