package server_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/loyalty"
)

// applyClub applies examples/loyalty/club.yaml through the API.
func (h *harness) applyClub() {
	h.t.Helper()
	f, err := os.Open("../../examples/loyalty/club.yaml")
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	ps, err := loyalty.ParseYAML("club.yaml", f)
	if err != nil {
		h.t.Fatal(err)
	}
	body, _ := json.Marshal(ps[0])
	if code, out := h.call("POST", "/api/v1/loyalty/programme", string(body)); code != 200 || out["version"] != 1.0 {
		h.t.Fatalf("apply programme: %d %v", code, out)
	}
}

// waitBalance waits until a member's statement shows balance.
func (h *harness) waitBalance(member string, balance float64) map[string]any {
	h.t.Helper()
	var out map[string]any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var code int
		code, out = h.api("/api/v1/loyalty/" + member + "/statement")
		if code == 200 && out["balance"] == balance {
			return out
		}
	}
	h.t.Fatalf("statement of %s: %v; want balance %v", member, out, balance)
	return nil
}

// waitLoyaltyTraits waits until a user's computed loyalty_points read
// points.
func (h *harness) waitLoyaltyTraits(user string, points float64) {
	h.t.Helper()
	var c map[string]any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if c = h.computed(user); c["loyalty_points"] == points && c["loyalty_tier"] == "silver" {
			return
		}
	}
	h.t.Fatalf("computed traits = %v; want loyalty_points %v", c, points)
}

// TestLoyaltyThroughServe follows a member the way a brand meets the
// programme: the web shop's order earns from the log, the same order seen
// again from the till earns nothing more, the till earns and redeems by
// the API with an Idempotency-Key, a return takes the returned line's
// points back, and the balance reaches the profile's computed traits.
func TestLoyaltyThroughServe(t *testing.T) {
	h := newHarness(t)
	if code, out := h.api("/api/v1/loyalty/liability"); code != 409 {
		t.Fatalf("statement without a programme: %d %v; want 409 no_loyalty_programme", code, out)
	}
	h.applyClub()
	if code, p := h.api("/api/v1/loyalty/programme"); code != 200 || p["id"] != "club" || len(p["rewards"].([]any)) != 3 {
		t.Fatalf("programme: %d %v", code, p)
	}
	h.ingest("/v1/identify", `{"userId":"ana","traits":{"email":"ana@example.com","phone":"+33612345678","loyaltyId":"4006381333931"}}`)
	order := `{"userId":"ana","event":"Order Completed","messageId":"%s","context":{"channel":"%s"},
		"properties":{"order_id":"o-1","products":[{"sku":"DRESS","category":"dresses","price":40,"quantity":2},{"sku":"BOOT","category":"shoes","price":50,"quantity":1}]}}`
	h.ingest("/v1/track", fmt.Sprintf(order, "web-1", "web"))
	// 2 dresses at 40 (1/€) + boots at 50 (shoes, 3/€) = 80 + 150.
	st := h.waitBalance("4006381333931", 230)
	if st["tier"] != "silver" || st["next_tier"] != "gold" || st["next_tier_distance"] != 770.0 {
		t.Fatalf("statement = %v", st)
	}
	// The same order again (the till's receipt, a re-import): no more.
	h.ingest("/v1/track", fmt.Sprintf(order, "pos-1", "store"))
	h.waitConsumer(loyalty.Consumer)
	h.waitBalance("phone:+33612345678", 230)

	// The till redeems a 5 € voucher, once per key.
	redeem := func(member, key, body string) (int, bool, map[string]any) {
		return h.keyed("/api/v1/loyalty/"+member+"/redeem", key, body)
	}
	code, _, out := redeem("4006381333931", "till-7-0001", `{"reward":"voucher-5","store_id":"lyon-01"}`)
	if c, _, _ := errorOf(out); code != 409 || c != "insufficient_points" {
		t.Fatalf("voucher at 230 points: %d %v; want 409 insufficient_points", code, out)
	}
	code, replayed, out := redeem("email:ana@example.com", "till-7-0002", `{"points":100,"store_id":"lyon-01"}`)
	if code != 201 || replayed || out["balance"] != 130.0 {
		t.Fatalf("redeem 100: %d %v", code, out)
	}
	code, replayed, again := redeem("user_id:ana", "till-7-0002", `{"points":100,"store_id":"lyon-01"}`)
	if code != 200 || !replayed || again["balance"] != 130.0 || again["entry"].(map[string]any)["id"] != out["entry"].(map[string]any)["id"] {
		t.Fatalf("retry: %d %v %v; want the first answer replayed", code, replayed, again)
	}
	if code, _, out := redeem("4006381333931", "till-7-0002", `{"points":99}`); code != 422 {
		t.Fatalf("same key, other body: %d %v; want 422", code, out)
	}
	if code, _, out := redeem("4006381333931", "", `{"points":1}`); code != 400 {
		t.Fatalf("no key: %d %v; want 400", code, out)
	}
	if code, _, out := redeem("4006381333948", "k", `{"points":1}`); code != 404 {
		t.Fatalf("unknown card: %d %v; want 404", code, out)
	}
	// The till earns its own sale: in store, 2 points per euro.
	code, _, out = h.keyed("/api/v1/loyalty/4006381333931/earn", "", `{"order_id":"till-9","store_id":"lyon-01","lines":[{"sku":"TEE","price":10,"quantity":1}]}`)
	if code != 201 || out["balance"] != 150.0 {
		t.Fatalf("till earn: %d %v", code, out)
	}
	// The balance reaches the profile (through the outbox, the log,
	// unify): computed traits, and templates' loyalty variable.
	h.waitLoyaltyTraits("ana", 150)
	code, out = h.adminJSON("POST", "/api/v1/templates", `{"id":"points","topic":"newsletter","body":{"email":{"subject":"{{ loyalty.points }} points",`+
		`"html":"<p>{{ loyalty.tier_name }}: {{ loyalty.next_tier_distance }} points to {{ loyalty.next_tier }}</p>"}}}`)
	if code != 201 {
		t.Fatalf("template: %d %v", code, out)
	}
	code, out = h.adminJSON("POST", "/api/v1/templates/points/preview", `{"identifier":"user_id:ana"}`)
	email, _ := out["channels"].(map[string]any)["email"].(map[string]any)["message"].(map[string]any)
	if code != 200 || email["subject"] != "150 points" || !strings.Contains(email["html"].(string), "Silver: 750 points to gold") {
		t.Fatalf("preview: %d %v", code, out)
	}
	// A boot comes back: its 150 points go, the dresses' stay.
	h.ingest("/v1/track", `{"userId":"ana","event":"Order Returned","properties":{"order_id":"o-1","return_id":"r-1","products":[{"sku":"BOOT","quantity":1}]}}`)
	st = h.waitBalance("4006381333931", 0)
	entries := st["entries"].([]any)
	if len(entries) != 4 || entries[0].(map[string]any)["kind"] != "reverse" || entries[0].(map[string]any)["points"] != -150.0 {
		t.Fatalf("entries = %v", entries)
	}
	h.waitLoyaltyTraits("ana", 0)
	code, rep := h.api("/api/v1/loyalty/liability")
	if code != 200 || rep["members"] != 1.0 || rep["points_outstanding"] != 0.0 || rep["points_redeemed"] != 100.0 {
		t.Fatalf("liability: %d %v", code, rep)
	}
}

// TestLoyaltyKPIsInMeasure: the programme's figures are Measure KPIs,
// from the ledger's events: members, the active rate, points earned,
// redeemed and outstanding, and the redemption rate, over the range and
// the one before.
func TestLoyaltyKPIsInMeasure(t *testing.T) {
	h := newHarness(t)
	h.applyClub()
	h.ingest("/v1/identify", `{"userId":"ana","traits":{"loyaltyId":"4006381333931"}}`)
	h.ingest("/v1/identify", `{"userId":"ben","traits":{"loyaltyId":"4006381333948"}}`)
	order := `{"userId":"%s","event":"Order Completed","messageId":"%s","properties":{"order_id":"%s","products":[{"sku":"DRESS","category":"dresses","price":%d,"quantity":1}]}}`
	h.ingest("/v1/track", fmt.Sprintf(order, "ana", "m1", "o-1", 200))
	h.ingest("/v1/track", fmt.Sprintf(order, "ben", "m2", "o-2", 100))
	h.waitBalance("4006381333931", 200)
	h.waitBalance("4006381333948", 100)
	if code, _, out := h.keyed("/api/v1/loyalty/4006381333931/redeem", "till-1", `{"points":50,"store_id":"lyon-01"}`); code != 201 {
		t.Fatalf("redeem: %d %v", code, out)
	}
	day := now.Format(time.DateOnly)
	path := "/api/v1/measure/kpis?from=" + day + "&to=" + day + "&kpis=loyalty_members,loyalty_new_members,loyalty_active_members," +
		"loyalty_active_rate,loyalty_points_earned,loyalty_points_redeemed,loyalty_redemption_rate,loyalty_points_outstanding"
	var out map[string]any
	waitFor(t, "the redemption in the KPIs", func() bool {
		_, out = h.api(path)
		v, _ := kpiValue(out, "loyalty_points_redeemed")
		return v == 50
	})
	want := map[string]float64{"loyalty_members": 2, "loyalty_new_members": 2, "loyalty_active_members": 2, "loyalty_active_rate": 1,
		"loyalty_points_earned": 300, "loyalty_redemption_rate": 50.0 / 300, "loyalty_points_outstanding": 250}
	for id, w := range want {
		if v, ok := kpiValue(out, id); !ok || v != w {
			t.Errorf("%s = %v (%v); want %v", id, v, ok, w)
		}
	}
	// The liability report agrees with Measure.
	if _, l := h.api("/api/v1/loyalty/liability"); l["points_outstanding"] != 250.0 || l["members"] != 2.0 {
		t.Errorf("liability = %v", l)
	}
}
