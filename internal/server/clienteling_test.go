package server_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/source"
)

// TestClientelingCard: the associate at lyon-01 finds the customer in
// front of them by the phone number as they say it and sees their whole
// card in one call (traits, cart, browsing, stock here); their note goes
// onto the timeline once per Idempotency-Key; store roles see their
// stores' customers only; on both engines.
func TestClientelingCard(t *testing.T) {
	onEngines(t, func(t *testing.T, h *harness, _ engine) {
		ctx := context.Background()
		h.commerceBasics() // store lyon, SHOE-42
		for _, c := range []struct{ method, path, body string }{
			{"PUT", "/api/v1/locations/lyon-01", `{"name":"Lyon Bellecour","lat":45.76,"lon":4.83,"time_zone":"Europe/Paris","capabilities":["returns"]}`},
			{"PUT", "/api/v1/stock/SHOE-42/lyon-01", `{"on_hand":4}`},
			{"PUT", "/api/v1/carts/user_id:sophie", `{"items":[{"sku":"SHOE-42","quantity":1,"price":89.9}]}`},
		} {
			if code, out := h.adminJSON(c.method, c.path, c.body); code != 200 {
				t.Fatalf("%s %s: %d %v", c.method, c.path, code, out)
			}
		}
		pos, _ := source.New("Lyon tills", "pos", "lyon-01", now)
		if err := h.st.CreateSource(ctx, pos); err != nil {
			t.Fatal(err)
		}
		if code, _, resp := h.do("POST", "/v1/identify", []byte(`{"userId":"sophie","traits":{"email":"sophie@example.fr","phone":"+33612345678","loyaltyId":"LC-1234","first_name":"Sophie","shoe_size":38}}`),
			map[string]string{"Authorization": basic(pos.WriteKey + ":")}); code != 200 {
			t.Fatalf("till: %d %v", code, resp)
		}
		if code, _, resp := h.do("POST", "/v1/track", []byte(`{"userId":"sophie","event":"Order Completed","timestamp":"2026-11-20T10:00:00Z","properties":{"order_id":"T-1","total":59.5,"currency":"EUR","products":[{"sku":"SOCK","price":59.5}]}}`),
			map[string]string{"Authorization": basic(pos.WriteKey + ":")}); code != 200 {
			t.Fatalf("till's sale: %d %v", code, resp)
		}
		if code, resp := h.ingest("/v1/batch", `{"batch":[
			{"type":"track","userId":"sophie","event":"Product Viewed","properties":{"sku":"SHOE-42","name":"Trail shoe","price":89.9}},
			{"type":"identify","userId":"bob","traits":{"email":"bob@example.fr"}}]}`); code != 200 {
			t.Fatalf("web: %d %v", code, resp)
		}
		h.waitUnify()
		keys := h.roleKeys() // store roles on lyon-01
		staff := bearer(keys[auth.RoleStoreStaff])
		card := "/api/v1/clienteling/customers?phone=" + url.QueryEscape("06 12 34 56 78")

		code, _, out := h.do("GET", card, nil, staff)
		if code != 200 {
			t.Fatalf("staff opens sophie's card: %d %v", code, out)
		}
		cart, _ := out["cart"].(map[string]any)
		views, _ := out["recent_views"].([]any)
		stock, _ := out["stock"].([]any)
		st, _ := out["store"].(map[string]any)
		buys, _ := out["purchases"].([]any)
		unavailable, _ := out["unavailable"].(map[string]any) // absent once everything is wired
		if len(buys) != 1 || buys[0].(map[string]any)["order_id"] != "T-1" || buys[0].(map[string]any)["store_id"] != "lyon-01" ||
			buys[0].(map[string]any)["total"] != 59.5 || buys[0].(map[string]any)["channel"] != "pos" {
			t.Errorf("sophie's purchases: %v", out["purchases"])
		}
		if out["found_by"] != "phone:+33612345678" || st["id"] != "lyon-01" || st["name"] != "Lyon Bellecour" ||
			len(cart["items"].([]any)) != 1 || len(views) != 1 || views[0].(map[string]any)["sku"] != "SHOE-42" ||
			len(stock) != 1 || stock[0].(map[string]any)["on_hand"] != 4.0 || out["sizes"].(map[string]any)["shoe_size"] != 38.0 ||
			len(out["conversations"].([]any)) != 0 || unavailable["conversations"] != nil || unavailable["recommendations"] != nil {
			t.Fatalf("sophie's card: %v", out)
		}
		// The recommender is wired (issue 22): the card lists what to
		// propose (she viewed the shoe, in stock here), never null.
		if recs, ok := out["recommendations"].([]any); !ok || len(recs) != 1 || recs[0].(map[string]any)["sku"] != "SHOE-42" {
			t.Errorf("sophie's recommendations: %v", out["recommendations"])
		}
		id := int64(out["profile_id"].(float64))
		// A store note opens her conversation: the card lists it.
		if code, _, resp := h.do("POST", "/api/v1/conversations", []byte(fmt.Sprintf(`{"profile_id":%d,"channel":"store_note","body":"Cherche la taille 38 en bleu","store_id":"lyon-01","key":"note-1"}`, id)), staff); code != 201 {
			t.Fatalf("store note: %d %v", code, resp)
		}
		if code, _, out := h.do("GET", card, nil, staff); code != 200 || len(out["conversations"].([]any)) != 1 ||
			out["conversations"].([]any)[0].(map[string]any)["status"] != "open" || out["conversations"].([]any)[0].(map[string]any)["store_id"] != "lyon-01" {
			t.Fatalf("sophie's card after the note: %d %v", code, out["conversations"])
		}
		for _, c := range []struct {
			path string
			hdr  map[string]string
			want int
		}{
			{card + "&store=lyon", staff, 403},                                 // not the staff's store
			{"/api/v1/clienteling/customers?email=bob@example.fr", staff, 403}, // never seen at lyon-01
			{"/api/v1/clienteling/customers?email=bob@example.fr", bearer(h.admin), 200},
			{"/api/v1/clienteling/customers?card=LC-1234&store=lyon", bearer(h.admin), 200},
			{"/api/v1/clienteling/customers?code=LC-1234", bearer(keys[auth.RoleAgent]), 200},
			{"/api/v1/clienteling/customers?phone=0799999999", staff, 404},
			{"/api/v1/clienteling/customers?phone=+33612345678", staff, 200}, // a + sent unescaped
			{"/api/v1/clienteling/customers?store=lyon-01", staff, 400},
			{"/api/v1/clienteling/customers?card=LC-1234&store=atlantis", bearer(h.admin), 404},
			{card, bearer(keys[auth.RoleMarketer]), 403},
		} {
			if code, _, out := h.do("GET", c.path, nil, c.hdr); code != c.want {
				t.Errorf("GET %s: %d %v; want %d", c.path, code, out, c.want)
			}
		}

		note := fmt.Sprintf("/api/v1/clienteling/customers/%d/notes", id)
		hdr := map[string]string{"Idempotency-Key": "n-1"}
		for k, v := range staff {
			hdr[k] = v
		}
		for range 2 {
			if code, _, out := h.do("POST", note, []byte(`{"text":"Tried the 38, wants it in blue"}`), hdr); code != 202 || out["store_id"] != "lyon-01" {
				t.Fatalf("staff's note: %d %v", code, out)
			}
		}
		if code, _, out := h.do("POST", note, []byte(`{"text":"x","store_id":"lyon"}`), staff); code != 403 {
			t.Errorf("a note for another store: %d %v", code, out)
		}
		if code, _, out := h.do("POST", note, []byte(`{"text":""}`), staff); code != 400 {
			t.Errorf("an empty note: %d %v", code, out)
		}
		h.waitUnify()
		_, _, out = h.do("GET", card, nil, staff)
		notes, _ := out["notes"].([]any)
		if len(notes) != 1 || notes[0].(map[string]any)["text"] != "Tried the 38, wants it in blue" ||
			notes[0].(map[string]any)["author"] == "" {
			t.Fatalf("notes after two posts with one key: %v", out["notes"])
		}
	}, noRateLimit)
}

// TestClientelingRoutes requests the clienteling routes through the
// observed harness: an unknown customer and an unknown profile are 404s
// that name what was not found, an empty lookup a 400.
func TestClientelingRoutes(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/api/v1/clienteling/customers?email=nobody@example.fr", "", 404},
		{"GET", "/api/v1/clienteling/customers", "", 400},
		{"POST", "/api/v1/clienteling/customers/999/notes", `{"text":"hello"}`, 404},
	} {
		if code, out := h.adminJSON(c.method, c.path, c.body); code != c.want || out["error"].(map[string]any)["details"] == nil {
			t.Errorf("%s %s: %d %v; want %d with details", c.method, c.path, code, out, c.want)
		}
	}
}
