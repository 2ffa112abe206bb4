package server_test

import (
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/server"
)

// TestClickAndCollectSMSNamesTheOrderAndPickupStore: the journey's SMS
// for an order ready for pickup reads the order (its id, total, status,
// from commerce) and the pickup store (Paris Rivoli, with its address),
// not the store nearest the customer (Lyon Part-Dieu), and every property
// of the event that triggered it.
func TestClickAndCollectSMSNamesTheOrderAndPickupStore(t *testing.T) {
	sms := messagetest.NewRecorder("sms-test", provider.SMS)
	h := newHarness(t, func(o *server.Options) {
		o.Providers = message.ProviderSet{provider.SMS: {Provider: sms}}
		o.Messages.BaseURL = "https://shop.example"
		o.Stores = []place.Location{
			{ID: "lyon-part-dieu", Name: "Lyon Part-Dieu", Lat: 45.7606, Lon: 4.8593},
			{ID: "paris-rivoli", Name: "Paris Rivoli", Lat: 48.8606, Lon: 2.3376},
		}
	})
	for _, s := range []struct{ method, path, body string }{
		{"PUT", "/api/v1/locations/lyon-part-dieu", `{"name":"Lyon Part-Dieu","lat":45.7606,"lon":4.8593,"time_zone":"Europe/Paris"}`},
		{"PUT", "/api/v1/locations/paris-rivoli", `{"name":"Paris Rivoli","lat":48.8606,"lon":2.3376,"time_zone":"Europe/Paris",
			"address":{"line1":"99 rue de Rivoli","postal_code":"75001","city":"Paris","country":"FR"},"capabilities":["click_collect"]}`},
		{"PUT", "/api/v1/products/shoe", `{"name":"Trail shoe","variants":[{"sku":"SHOE-42","price":89.9,"currency":"EUR"}]}`},
		{"PUT", "/api/v1/stock/SHOE-42/paris-rivoli", `{"on_hand":5}`},
		{"POST", "/api/v1/templates", `{"id":"pickup-ready-sms","topic":"order_updates","body":{"sms":{"body":
			"Bonjour {{ profile.first_name }}, votre commande {{ order.id }} ({{ order.total }} {{ order.currency }}, {{ order.status }}) est prete a {{ store.name }}, {{ store.address.line1 }} {{ store.address.city }}. Canal: {{ event.channel }}"}}}`},
		{"POST", "/api/v1/journeys", `{"id":"click-collect-ready","name":"Ready","triggers":[{"event":"Order Ready For Pickup"}],
			"re_entry":{"policy":"always"},"steps":[{"send":{"channel":"sms","template":"pickup-ready-sms"}}]}`},
	} {
		if code, resp := h.call(s.method, s.path, s.body); code/100 != 2 {
			t.Fatalf("%s %s: %d %v", s.method, s.path, code, resp)
		}
	}
	// Sophie was last seen in Lyon: her nearest store is Lyon Part-Dieu.
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/batch", `{"batch":[{"type":"identify","userId":"sophie","traits":{"phone":"+33612345678","first_name":"Sophie"},
		"context":{"location":{"latitude":45.76,"longitude":4.85,"city":"Lyon"}},"timestamp":"`+ts+`"}]}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	for _, s := range []struct{ path, body string }{
		{"/api/v1/orders", `{"id":"web-1042","channel":"web","fulfilment":"click_collect","location_id":"paris-rivoli","currency":"EUR",
			"customer":{"user_id":"sophie"},"lines":[{"sku":"SHOE-42","quantity":2}]}`},
		{"/api/v1/orders/web-1042/transitions", `{"to":"confirmed"}`},
		{"/api/v1/orders/web-1042/transitions", `{"to":"picking"}`},
		{"/api/v1/orders/web-1042/transitions", `{"to":"ready_for_pickup"}`},
	} {
		if code, resp := h.call("POST", s.path, s.body); code/100 != 2 {
			t.Fatalf("POST %s: %d %v", s.path, code, resp)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(sms.Sent()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(sms.Sent()) != 1 {
		_, msgs := h.api("/api/v1/profiles/" + jsonNumber(float64(h.profileOf("sophie"))) + "/messages")
		t.Fatalf("sent %d SMS; messages %v", len(sms.Sent()), msgs)
	}
	want := "Bonjour Sophie, votre commande web-1042 (179.8 EUR, ready_for_pickup) est prete a Paris Rivoli, 99 rue de Rivoli Paris. Canal: web"
	if got := sms.Sent()[0].Body; got != want {
		t.Fatalf("SMS:\n got %q\nwant %q", got, want)
	}
}
