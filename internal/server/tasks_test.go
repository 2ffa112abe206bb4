package server_test

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/server"
)

// TestTasksAPI: a journey's task step creates a task for the store the
// customer is near; staff list the store's open tasks and mark one done.
func TestTasksAPI(t *testing.T) {
	rec := &journey.Recorder{}
	h := newHarness(t, func(o *server.Options) {
		o.JourneySender = rec
		o.Stores = []place.Location{{ID: "lyon", Name: "Lyon Bellecour", Lat: 45.7578, Lon: 4.8320}}
	})
	def := `{"id":"vip","name":"VIP near","triggers":[{"event":"Location Updated","near":{"km":0.5}}],
		"steps":[{"task":{"store":"nearest","title":"{{ trait.first_name }} is near","note":"Offer a coffee"}}]}`
	if code, resp := h.post("/api/v1/journeys", def); code != 200 {
		t.Fatalf("save: %d %v", code, resp)
	}
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/identify", `{"userId":"sara","traits":{"first_name":"Sara"},"timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	if code, resp := h.ingest("/v1/track", `{"userId":"sara","event":"Location Updated","properties":{"latitude":45.7582,"longitude":4.8325},"timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	var tasks []any
	deadline := time.Now().Add(10 * time.Second)
	for len(tasks) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		_, resp := h.api("/api/v1/tasks?store_id=lyon&status=open")
		tasks, _ = resp["tasks"].([]any)
	}
	if len(tasks) != 1 {
		t.Fatalf("open tasks of lyon: %v", tasks)
	}
	task := tasks[0].(map[string]any)
	if task["title"] != "Sara is near" || task["note"] != "Offer a coffee" || task["profile_id"] != float64(h.profileOf("sara")) ||
		task["detail"].(map[string]any)["history"] == nil {
		t.Fatalf("task = %v", task)
	}
	id := int64(task["id"].(float64))
	code, resp := h.post(fmt.Sprintf("/api/v1/tasks/%d/done", id), "")
	if code != 200 || resp["status"] != "done" || resp["done_at"] == nil {
		t.Fatalf("done: %d %v", code, resp)
	}
	if _, resp := h.api("/api/v1/tasks?store_id=lyon&status=open"); len(resp["tasks"].([]any)) != 0 {
		t.Fatalf("open tasks after done: %v", resp)
	}
	if _, resp := h.api("/api/v1/tasks?store_id=lyon&status=done"); len(resp["tasks"].([]any)) != 1 {
		t.Fatalf("done tasks: %v", resp)
	}
	for path, want := range map[string]int{"/api/v1/tasks/999": 404, "/api/v1/tasks?status=closed": 400, "/api/v1/tasks/x": 400} {
		if code, resp := h.api(path); code != want {
			t.Errorf("GET %s: %d %v, want %d", path, code, resp, want)
		}
	}
	if code, _ := h.post("/api/v1/tasks/999/done", ""); code != 404 {
		t.Errorf("done of an unknown task: %d, want 404", code)
	}
}

// TestInStockNamesTheStore: a browse-abandonment branch reads the
// commerce stock of the viewed SKU near where the customer browsed, and
// the email names the store that has it (and the SKU, from the event).
func TestInStockNamesTheStore(t *testing.T) {
	rec := messagetest.NewRecorder("smtp-test", provider.Email)
	h := newHarness(t, func(o *server.Options) {
		o.Providers = message.ProviderSet{provider.Email: {Provider: rec}}
		o.Messages.BaseURL = "https://shop.example"
	})
	for _, c := range []struct{ path, body string }{
		{"/api/v1/locations/lyon", `{"name":"Lyon Bellecour","lat":45.7578,"lon":4.8320,"time_zone":"Europe/Paris"}`},
		{"/api/v1/locations/paris", `{"name":"Paris Rivoli","lat":48.8606,"lon":2.3376,"time_zone":"Europe/Paris"}`},
		{"/api/v1/products/shoe", `{"name":"Trail shoe","variants":[{"sku":"SHOE-42","price":89.9,"currency":"EUR"}]}`},
		{"/api/v1/stock/SHOE-42/lyon", `{"on_hand":3}`},
	} {
		if code, body := h.call("PUT", c.path, c.body); code != 200 {
			t.Fatalf("PUT %s: %d %s", c.path, code, body)
		}
	}
	if code, resp := h.post("/api/v1/templates", `{"id":"in-store","topic":"offers",
		"body":{"email":{"subject":"{{ event.sku }} vous attend à {{ store.name }}","html":"<p>À {{ store.distance_km }} km</p>"}}}`); code != 201 {
		t.Fatalf("template: %d %v", code, resp)
	}
	if code, resp := h.post("/api/v1/journeys", `{"id":"browse","name":"Browse","triggers":[{"event":"Product Viewed"}],
		"steps":[{"branch":{"cases":[{"when":{"in_stock":{"sku":"{{ event.sku }}"}},"steps":[{"send":{"channel":"email","template":"in-store"}}]}]}}]}`); code != 200 {
		t.Fatalf("journey: %d %v", code, resp)
	}
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/batch", `{"batch":[
		{"type":"identify","userId":"max","traits":{"email":"max@example.fr","emailOptIn":true},"timestamp":"`+ts+`"},
		{"type":"track","userId":"max","event":"Product Viewed","properties":{"sku":"SHOE-42","latitude":45.76,"longitude":4.835},"timestamp":"`+ts+`"}]}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(rec.Sent()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s := rec.Sent(); len(s) != 1 || s[0].Subject != "SHOE-42 vous attend à Lyon Bellecour" {
		_, st := h.api("/api/v1/journeys/browse/stats")
		t.Fatalf("sent %+v; stats %v", s, st)
	}
}

// TestPromoCodeReachesTheTemplate: a send step's unique promo code is in
// the message as {{ data.promo_code }}.
func TestPromoCodeReachesTheTemplate(t *testing.T) {
	rec := messagetest.NewRecorder("smtp-test", provider.Email)
	h := newHarness(t, func(o *server.Options) {
		o.Providers = message.ProviderSet{provider.Email: {Provider: rec}}
		o.Messages.BaseURL = "https://shop.example"
	})
	if code, resp := h.post("/api/v1/templates", `{"id":"offer","topic":"offers",
		"body":{"email":{"subject":"Votre code {{ data.promo_code }}","html":"<p>{{ data.promo_code }}</p>"}}}`); code != 201 {
		t.Fatalf("template: %d %v", code, resp)
	}
	if code, resp := h.post("/api/v1/journeys", `{"id":"welcome","name":"Welcome","triggers":[{"event":"Signed Up"}],
		"steps":[{"send":{"channel":"email","template":"offer","promo_code":{"prefix":"HELLO"}}}]}`); code != 200 {
		t.Fatalf("journey: %d %v", code, resp)
	}
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/batch", `{"batch":[
		{"type":"identify","userId":"lea","traits":{"email":"lea@example.fr","emailOptIn":true},"timestamp":"`+ts+`"},
		{"type":"track","userId":"lea","event":"Signed Up","timestamp":"`+ts+`"}]}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(rec.Sent()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	s := rec.Sent()
	if len(s) != 1 || !regexp.MustCompile(`^Votre code HELLO-[A-Z2-9]{10}$`).MatchString(s[0].Subject) {
		t.Fatalf("sent %+v", s)
	}
}
