package stories_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestStoryAbandonedCart is the seeds' first story: Marc puts trail
// runners in his cart and leaves. An hour later an email reminds him,
// with his cart and an offer; its link is tracked. He orders two hours
// later: he leaves the journey, and the SMS the journey would send a day
// later never goes.
func TestStoryAbandonedCart(t *testing.T) {
	playAbandonedCart(t, func(l *live) {
		l.track("track", map[string]any{"userId": "marc-9", "event": "Order Completed", "properties": map[string]any{
			"order_id": "web-10042", "total": 89.9, "currency": "EUR",
			"products": []map[string]any{{"sku": "TR-42", "product_id": "trail-runner", "price": 89.9, "quantity": 1}}}})
	})
}

// TestStoryAbandonedCartOrderAPI is the same story with the order placed
// the way the web shop places it: through the orders API. The order
// counts in his profile and ends the abandoned-cart journey.
func TestStoryAbandonedCartOrderAPI(t *testing.T) {
	l := playAbandonedCart(t, func(l *live) {
		l.call("POST", "/api/v1/orders", map[string]any{"id": "web-10042", "channel": "web", "fulfilment": "ship",
			"location_id": "lyon-bellecour", "currency": "EUR", "customer": map[string]any{"user_id": "marc-9", "email": "marc@example.fr"},
			"lines": []map[string]any{{"sku": "TR-42", "quantity": 1}}}, nil)
	})
	p := l.profile("user_id=marc-9")
	if c := p["computed"].(map[string]any); c["order_count"] != float64(1) {
		t.Fatalf("Marc's order through the API does not count in his profile: %v", c)
	}
}

// playAbandonedCart plays the story; order places Marc's order at +3h.
func playAbandonedCart(t *testing.T, order func(*live)) *live {
	l := newLive(t, liveOptions{})
	l.openShop(map[string]int{"TR-42@lyon-bellecour": 3})
	l.apply("../../examples/journeys/abandoned-cart.yaml")
	l.track("identify", map[string]any{"userId": "marc-9", "traits": map[string]any{"first_name": "Marc", "email": "marc@example.fr",
		"phone": "+33698765432", "emailOptIn": true, "smsOptIn": true}})
	l.settle()
	l.track("track", map[string]any{"userId": "marc-9", "event": "Product Added",
		"properties": map[string]any{"sku": "TR-42", "product_id": "trail-runner", "name": "Trail runner", "price": 89.9, "quantity": 1}})
	// Back ten minutes later, he adds a second pair: still one journey.
	l.at(10 * time.Minute)
	l.track("track", map[string]any{"userId": "marc-9", "event": "Product Added",
		"properties": map[string]any{"sku": "TR-42", "product_id": "trail-runner", "name": "Trail runner", "price": 89.9, "quantity": 1}})

	l.at(59 * time.Minute)
	l.expectSent("", "")
	l.at(time.Hour)
	mail := l.expectSent("email", "marc@example.fr", `Marc, votre panier vous attend : -10 % avec PANIER10

Bonjour Marc,
Vous avez laissé dans votre panier :

- 2 × Trail runner (TR-42) à 89.9 €
Finaliser ma commande (https://crm.shop.example/t/c/…) avec le code PANIER10.
Se désabonner (https://crm.shop.example/u/…)`)[0]
	if got := mail.Headers.Get("List-Unsubscribe"); !strings.HasPrefix(got, "<https://crm.shop.example/u/") || mail.Headers.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("a marketing email without one-click unsubscribe: %v", mail.Headers)
	}
	if !strings.Contains(mail.From(), "boutique@shop.example") {
		t.Fatalf("From %q", mail.From())
	}
	// He clicks: the tracked link takes him to his cart, tagged, and the
	// click is on his timeline.
	click := regexp.MustCompile(`https://crm\.shop\.example(/t/c/[^"]+)"`).FindStringSubmatch(mail.HTML)
	if click == nil {
		t.Fatalf("no tracked link in %s", mail.HTML)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(l.http.URL + click[1])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 302 ||
		loc != "https://shop.example/cart?utm_campaign=abandoned-cart&utm_medium=email&utm_source=parcours" {
		t.Fatalf("click: %d to %q", resp.StatusCode, loc)
	}

	l.at(3 * time.Hour)
	order(l)
	l.settle()
	// A day after the email: no SMS nudge, he bought.
	l.at(25 * time.Hour)
	l.at(9 * 24 * time.Hour)
	l.expectSent("sms", "")
	if len(l.box.list("", "")) != 1 {
		t.Fatalf("Marc received %d messages, want the one email", len(l.box.list("", "")))
	}
	var stats struct {
		Entered int            `json:"entered"`
		Exits   map[string]int `json:"exits"`
		Sent    map[string]int `json:"sent"`
	}
	l.call("GET", "/api/v1/journeys/abandoned-cart/stats", nil, &stats)
	if stats.Entered != 1 || stats.Sent["email"] != 1 || stats.Sent["sms"] != 0 || len(stats.Exits) != 1 {
		t.Fatalf("journey stats: %+v", stats)
	}
	if s := l.timeline("user_id=marc-9"); !strings.Contains(s, `"Message Sent"`) || !strings.Contains(s, `"Message Clicked"`) {
		t.Fatalf("Marc's timeline: %s", s)
	}
	return l
}
