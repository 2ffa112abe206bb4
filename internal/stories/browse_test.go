package stories_test

import (
	"testing"
	"time"
)

// TestStoryBrowseThenStoreSMS is the seeds' drive-to-store story: someone
// not yet known looks at trail runners on the web shop (from Lyon), signs
// in twenty minutes later, and does not add them to the cart. Two hours
// after the visit, an SMS says the shoes are waiting at the store two
// streets away — Lyon Bellecour, which has them, not Part-Dieu — by their
// first name. One SMS, never a second.
func TestStoryBrowseThenStoreSMS(t *testing.T) {
	playBrowse(t, "", "Léa, vos TR-42 vous attendent chez Parcours Lyon Bellecour. STOP au 36111")
}

// TestStoryBrowseNamesTheProduct is the same story with a template that
// names the product as the web shop sent it (event.name: every property
// of the triggering event, not only those the journey refers to).
func TestStoryBrowseNamesTheProduct(t *testing.T) {
	playBrowse(t, `{"topic":"offers","body":{"sms":{"body":"{{ profile.first_name }}, les {{ event.name }} ({{ event.sku }}) à {{ event.price }} € vous attendent chez Parcours {{ store.name }}. STOP au 36111"}}}`,
		"Léa, les Trail runner (TR-42) à 89.9 € vous attendent chez Parcours Lyon Bellecour. STOP au 36111")
}

// playBrowse plays the story; template, if set, replaces the SMS
// template (PUT /api/v1/templates/browse-in-store-sms).
func playBrowse(t *testing.T, template, want string) {
	l := newLive(t, liveOptions{})
	// Bellecour has size 42; Part-Dieu, a little further, too; Paris too.
	l.openShop(map[string]int{"TR-42@lyon-bellecour": 3, "TR-42@lyon-part-dieu": 5, "TR-42@paris-rivoli": 9})
	l.apply("../../examples/journeys/browse-abandonment.yaml")
	if template != "" {
		l.call("PUT", "/api/v1/templates/browse-in-store-sms", rawJSON(template), nil)
	}

	l.track("track", map[string]any{"anonymousId": "anon-7f3a", "event": "Product Viewed",
		"properties": map[string]any{"sku": "TR-42", "product_id": "trail-runner", "name": "Trail runner", "price": 89.9, "category": "Shoes"},
		"context":    map[string]any{"location": nearBellecour, "page": map[string]any{"url": "https://shop.example/p/trail-runner"}}})
	l.settle()
	l.at(20 * time.Minute)
	l.track("identify", map[string]any{"anonymousId": "anon-7f3a", "userId": "lea-1987",
		"traits": map[string]any{"first_name": "Léa", "email": "lea@example.fr", "phone": "06 12 34 56 78", "smsOptIn": true}})
	l.settle()

	l.at(hours(1.99))
	l.expectSent("", "")
	l.at(2 * time.Hour)
	l.expectSent("sms", "+33612345678", want)
	l.expectSent("email", "")
	// Nothing more: a day later, a week later.
	l.at(26 * time.Hour)
	l.at(8 * 24 * time.Hour)
	l.expectSent("", "", want)
	l.noDuplicates()
	msgs := l.outbox("user_id=lea-1987")
	if len(msgs) != 1 || msgs[0]["status"] != "sent" || msgs[0]["template_id"] != "browse-in-store-sms" {
		t.Fatalf("Léa's messages: %v", msgs)
	}
}
