package stories_test

import (
	"testing"
	"time"
)

// TestStoryClickAndCollect: Inès lives by the Bellecour store (her last
// known position), but picks her orders up elsewhere: trail runners at
// Part-Dieu, a bag at Paris Rivoli, two orders placed on the web shop and
// ready a minute apart. Each gets its own SMS naming its order and its
// pickup store — not her nearest. She collects the shoes the same day:
// that order's series ends, the bag's goes on, and its reminder, two days
// later at 10:00, names the bag's order and store. Three SMS in all.
func TestStoryClickAndCollect(t *testing.T) {
	l := newLive(t, liveOptions{})
	l.openShop(map[string]int{"TR-42@lyon-part-dieu": 2, "BAG-7@paris-rivoli": 1, "TR-42@lyon-bellecour": 4, "BAG-7@lyon-bellecour": 4})
	l.apply("../../examples/journeys/click-collect-ready.yaml")
	// The order templates the brand writes: what is ready, where.
	for id, sms := range map[string]string{
		"pickup-ready-sms": "Votre commande {{ order.id }} est prête chez Parcours {{ store.name }}. Retrait sous 5 jours.",
		"pickup-reminder":  "Rappel : votre commande {{ order.id }} ({{ order.total }} {{ order.currency }}) vous attend chez Parcours {{ store.name }}.",
		"pickup-last-call": "Dernier jour pour retirer la commande {{ order.id }} chez Parcours {{ store.name }}.",
	} {
		l.call("PUT", "/api/v1/templates/"+id, map[string]any{"body": map[string]any{"sms": map[string]any{"body": sms}}}, nil)
	}
	l.track("identify", map[string]any{"userId": "ines-3", "traits": map[string]any{"first_name": "Inès", "phone": "+33611223344", "smsOptIn": true},
		"context": map[string]any{"location": nearBellecour}})
	l.settle()

	order := func(id, sku, store string) {
		l.call("POST", "/api/v1/orders", map[string]any{"id": id, "channel": "web", "fulfilment": "click_collect", "location_id": store,
			"currency": "EUR", "customer": map[string]any{"user_id": "ines-3"}, "lines": []map[string]any{{"sku": sku, "quantity": 1}}}, nil)
	}
	move := func(id string, to ...string) {
		for _, s := range to {
			l.call("POST", "/api/v1/orders/"+id+"/transitions", map[string]any{"to": s}, nil)
		}
	}
	order("web-20001", "TR-42", "lyon-part-dieu")
	order("web-20002", "BAG-7", "paris-rivoli")
	move("web-20001", "confirmed", "picking", "ready_for_pickup")
	l.at(time.Minute)
	move("web-20002", "confirmed", "picking", "ready_for_pickup")
	l.at(2 * time.Minute)
	ready := []string{
		"Votre commande web-20001 est prête chez Parcours Lyon Part-Dieu. Retrait sous 5 jours.",
		"Votre commande web-20002 est prête chez Parcours Paris Rivoli. Retrait sous 5 jours.",
	}
	l.expectSent("sms", "+33611223344", ready...)

	l.at(5 * time.Hour)
	move("web-20001", "collected")
	l.settle()
	// Ready at 10:01 on Monday: two days later is Wednesday 10:01, the
	// reminder waits for the next 10:00 (UTC: no time zone), Thursday.
	l.at(3*24*time.Hour - time.Minute)
	l.expectSent("sms", "+33611223344", ready...)
	l.at(3 * 24 * time.Hour)
	l.expectSent("sms", "+33611223344", append(ready, "Rappel : votre commande web-20002 (129 EUR) vous attend chez Parcours Paris Rivoli.")...)
	l.noDuplicates()
	var stats struct {
		Entered    int            `json:"entered"`
		Enrolments map[string]int `json:"enrolments"`
	}
	l.call("GET", "/api/v1/journeys/click-collect-ready/stats", nil, &stats)
	if stats.Entered != 2 || stats.Enrolments["exited"] != 1 || stats.Enrolments["active"] != 1 {
		t.Fatalf("two orders, two enrolments, the collected one exited: %+v", stats)
	}
}
