package stories_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The shop every story runs in: three stores (as in testdata/stores.yaml)
// that are commerce locations too, a pair of trail runners and a bag.
var shopStores = []map[string]any{
	{"id": "lyon-bellecour", "name": "Lyon Bellecour", "lat": 45.7578, "lon": 4.8320},
	{"id": "lyon-part-dieu", "name": "Lyon Part-Dieu", "lat": 45.7606, "lon": 4.8593},
	{"id": "paris-rivoli", "name": "Paris Rivoli", "lat": 48.8606, "lon": 2.3376},
}

// nearBellecour is a point in Lyon about 250 m from the Bellecour store
// and 2 km from Part-Dieu.
var nearBellecour = map[string]any{"latitude": 45.7600, "longitude": 4.8350}

// openShop creates the stores, the catalog and the stock through the
// management API, as the brand's back office would.
func (l *live) openShop(stock map[string]int) {
	l.t.Helper()
	for _, s := range shopStores {
		l.call("PUT", "/api/v1/locations/"+s["id"].(string), map[string]any{"name": s["name"], "lat": s["lat"], "lon": s["lon"],
			"time_zone": "Europe/Paris", "capabilities": []string{"click_collect", "returns", "reserve_in_store"}}, nil)
	}
	l.call("PUT", "/api/v1/products/trail-runner", map[string]any{"name": "Trail runner", "categories": []string{"Shoes", "Trail"},
		"variants": []map[string]any{
			{"sku": "TR-42", "name": "Trail runner 42", "price": 89.90, "currency": "EUR"},
			{"sku": "TR-43", "name": "Trail runner 43", "price": 89.90, "currency": "EUR"},
		}}, nil)
	l.call("PUT", "/api/v1/products/city-bag", map[string]any{"name": "City bag", "categories": []string{"Bags"},
		"variants": []map[string]any{{"sku": "BAG-7", "name": "City bag", "price": 129.00, "currency": "EUR"}}}, nil)
	for key, n := range stock {
		sku, loc, _ := strings.Cut(key, "@")
		l.call("PUT", "/api/v1/stock/"+sku+"/"+loc, map[string]any{"on_hand": n}, nil)
	}
	l.settle()
}

// expectSent checks the messages received on a channel to an address:
// exactly these texts, in this order (each message's text as text()
// gives it).
func (l *live) expectSent(channel, to string, want ...string) []sent {
	l.t.Helper()
	got := l.box.list(channel, to)
	var texts []string
	for _, s := range got {
		texts = append(texts, tokens.ReplaceAllString(s.text(), "$1…"))
	}
	if strings.Join(texts, "\n---\n") != strings.Join(want, "\n---\n") {
		l.t.Fatalf("at +%s, %s to %s received %d message(s):\n%s\nwant %d:\n%s", l.clock.Now().Sub(l.start), channel, to,
			len(got), strings.Join(texts, "\n---\n"), len(want), strings.Join(want, "\n---\n"))
	}
	return got
}

// tokens are the signed parts of tracking and unsubscribe links, which
// expectations write as "…".
var tokens = regexp.MustCompile(`(/t/c/|/t/o/|/u/)[A-Za-z0-9._~-]+`)

// From is an email's From header.
func (s sent) From() string { return s.Headers.Get("From") }

// text is what the customer reads: an SMS's or WhatsApp text's body, a
// push's title and body, an email's subject and text part.
func (s sent) text() string {
	switch s.Channel {
	case "email":
		return s.Subject + "\n\n" + s.Text
	case "push":
		return s.Title + " | " + s.Body
	case "whatsapp":
		if s.Template != "" {
			return fmt.Sprintf("%s %q", s.Template, s.Params)
		}
	}
	return s.Body
}

// noDuplicates fails if a message reached a provider twice.
func (l *live) noDuplicates() {
	l.t.Helper()
	seen := map[string]bool{}
	for _, s := range l.box.list("", "") {
		k := s.Channel + "|" + s.To + "|" + s.text()
		if seen[k] {
			l.t.Fatalf("sent twice to %s on %s: %q", s.To, s.Channel, s.text())
		}
		seen[k] = true
	}
}

// hours is a duration in hours, for readable story times.
func hours(h float64) time.Duration { return time.Duration(h * float64(time.Hour)) }

var _ = testing.T{}
