package server_test

import (
	"context"
	"fmt"

	"github.com/parcours/parcours/internal/server"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestRecommendationsThroughServe: customers who bought the trail shoe
// also bought the bag (three times) and the socks (once); Sophie, who
// bought the shoe, is proposed the bag first, with its catalogue price,
// its stock and a tagged link; at the Lyon store only what Lyon has,
// online only what the warehouse has; a saved kind: recommendation
// (cheap similar products) is served by name; a name nobody defined is
// refused, saying which exist.
func TestRecommendationsThroughServe(t *testing.T) {
	h := newHarness(t, func(o *server.Options) {
		o.Messages.BaseURL, o.Messages.Secret = "https://crm.example", []byte("a secret of the messages")
	})
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/api/v1/locations/lyon", `{"name":"Lyon","lat":45.76,"lon":4.83,"time_zone":"Europe/Paris"}`},
		{"PUT", "/api/v1/locations/wh", `{"name":"Entrepôt","kind":"warehouse","lat":45.7,"lon":4.9,"time_zone":"Europe/Paris"}`},
		{"PUT", "/api/v1/products/shoe", `{"name":"Trail shoe","categories":["shoes"],"variants":[{"sku":"SHOE-42","price":89.9,"currency":"EUR"}]}`},
		{"PUT", "/api/v1/products/bag", `{"name":"Sac cabas","categories":["bags"],"media":["https://cdn.example/bag.jpg"],"variants":[{"sku":"BAG-1","price":129,"currency":"EUR"}]}`},
		{"PUT", "/api/v1/products/socks", `{"name":"Chaussettes","categories":["socks"],"variants":[{"sku":"SOCK-1","price":9.9,"currency":"EUR"}]}`},
		{"PUT", "/api/v1/stock/BAG-1/lyon", `{"on_hand":10}`}, // the three sales at lyon leave 7, once commerce has read them
		{"PUT", "/api/v1/stock/SOCK-1/wh", `{"on_hand":5}`},
		{"PUT", "/api/v1/stock/SHOE-42/lyon", `{"on_hand":5}`},
	} {
		if code, out := h.adminJSON(c.method, c.path, c.body); code != 200 {
			t.Fatalf("%s %s: %d %v", c.method, c.path, code, out)
		}
	}
	shoe := `{"product_id":"shoe","sku":"SHOE-42","name":"Trail shoe","category":"shoes","price":89.9,"url":"https://shop.example/p/shoe"}`
	bag := `{"product_id":"bag","sku":"BAG-1","name":"Sac cabas","category":"bags","price":129,"url":"https://shop.example/p/bag"}`
	socks := `{"product_id":"socks","sku":"SOCK-1","name":"Chaussettes","category":"socks","price":9.9,"url":"https://shop.example/p/socks"}`
	var batch []string
	buy := func(user, id string, lines ...string) {
		batch = append(batch, fmt.Sprintf(`{"type":"track","userId":%q,"event":"Order Completed","properties":{"order_id":%q,"store_id":"lyon","products":[%s]}}`,
			user, id, strings.Join(lines, ",")))
	}
	buy("u1", "o1", shoe, bag)
	buy("u2", "o2", shoe, bag)
	buy("u3", "o3", shoe, bag)
	buy("u4", "o4", shoe, socks)
	buy("sophie", "o5", shoe)
	if code, resp := h.ingest("/v1/batch", `{"batch":[`+strings.Join(batch, ",")+`]}`); code != 200 {
		t.Fatalf("ingest: %d %v", code, resp)
	}
	h.waitUnify()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, out := h.api("/api/v1/recommendations")
		if m, _ := out["model"].(map[string]any); m != nil && m["events"] == 5.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the model did not learn the orders: %v", out["model"])
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, p := h.api("/api/v1/profiles?user_id=sophie")
	id := int64(p["id"].(float64))
	recs := func(query string) []map[string]any {
		t.Helper()
		code, out := h.api(fmt.Sprintf("/api/v1/profiles/%d/recommendations?%s", id, query))
		if code != 200 {
			t.Fatalf("%s: %d %v", query, code, out)
		}
		var items []map[string]any
		for _, it := range out["items"].([]any) {
			items = append(items, it.(map[string]any))
		}
		return items
	}
	names := func(items []map[string]any) string {
		var out []string
		for _, it := range items {
			out = append(out, it["product_id"].(string))
		}
		return strings.Join(out, ",")
	}
	all := recs("strategy=for_you")
	if names(all) != "bag,socks" {
		t.Fatalf("for_you = %s, want bag then socks (the shoe she bought is left out)", names(all))
	}
	b := all[0]
	link, _ := url.Parse(b["url"].(string))
	av := b["availability"].(map[string]any)
	if b["price"] != 129.0 || b["currency"] != "EUR" || b["image_url"] != "https://cdn.example/bag.jpg" || av["status"] != "in_stock" ||
		(av["available"] != 7.0 && av["available"] != 10.0) || link.Query().Get("rec") != "for_you" || link.Query().Get("utm_campaign") != "rec-for_you" ||
		!strings.HasPrefix(b["reason"].(string), "goes with") {
		t.Errorf("the bag: %v", b)
	}
	if got := names(recs("strategy=for_you&store=lyon")); got != "bag" {
		t.Errorf("at lyon: %s, want bag", got)
	}
	if got := names(recs("strategy=for_you&available=online")); got != "socks" {
		t.Errorf("online: %s, want socks", got)
	}
	sms := recs("strategy=for_you&channel=sms")
	if names(sms) != "bag" || !strings.HasPrefix(sms[0]["url"].(string), "https://crm.example/r/") || len(sms[0]["url"].(string)) > 70 {
		t.Fatalf("sms names one product with a short link: %v", sms)
	}
	// Following the short link records the click and leads to the
	// product's tagged page; an altered one leads nowhere.
	short := strings.TrimPrefix(sms[0]["url"].(string), "https://crm.example")
	follow := func(path string) (int, string) {
		resp, err := h.client.Get(h.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	code, to := follow(short)
	if code != 302 || !strings.HasPrefix(to, "https://shop.example/p/bag?") || !strings.Contains(to, "rec=for_you") {
		t.Errorf("follow %s: %d %s", short, code, to)
	}
	if code, _ := follow(short[:len(short)-2] + "xx"); code != 404 {
		t.Errorf("an altered link: %d, want 404", code)
	}
	clicked := false
	for deadline := time.Now().Add(5 * time.Second); !clicked && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		list, err := h.st.ReadAfter(context.Background(), 0, 100000) // the click is Parcours' own event (src_parcours)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list {
			clicked = clicked || e.Event == "Recommendation Clicked"
		}
	}
	if !clicked {
		t.Error("the click is not in the log")
	}
	if code, out := h.adminJSON("POST", "/api/v1/recommendations", `{"recommendations":[{"name":"cheap_with","strategy":"similar","filters":{"max_price":20},"fallback":"none"}]}`); code != 200 {
		t.Fatalf("save: %d %v", code, out)
	}
	if got := names(recs("strategy=cheap_with&product=shoe")); got != "socks" {
		t.Errorf("cheap_with: %s, want socks", got)
	}
	code, out := h.api(fmt.Sprintf("/api/v1/profiles/%d/recommendations?strategy=nope", id))
	if msg := fmt.Sprint(out); code != 400 || !strings.Contains(msg, "cheap_with") || !strings.Contains(msg, "personalised") {
		t.Errorf("unknown name: %d %v", code, out)
	}
	if code, out := h.adminJSON("POST", "/api/v1/recommendations", `{"recommendations":[{"name":"Bad Name","strategy":"similar"}]}`); code != 400 ||
		!strings.Contains(fmt.Sprint(out), "recommendations[0].name") {
		t.Errorf("bad name: %d %v", code, out)
	}
}
