package gen

import (
	"strings"
	"testing"
)

func TestMixCoversTheStories(t *testing.T) {
	count := map[string]int{}
	added, ordered := map[string]bool{}, map[string]bool{}
	loyaltyUser := map[string]string{}
	for _, e := range events(t) {
		count[e.Channel]++
		count[e.Channel+" "+e.Type+" "+e.Name]++
		p := e.Properties
		if camp, ok := e.Context["campaign"].(map[string]any); ok && e.Type == "page" {
			url, _ := p["url"].(string)
			if !strings.Contains(url, "utm_source="+camp["source"].(string)) {
				t.Fatalf("landing URL without its utm: %s", e.JSON)
			}
			count["landing from "+camp["source"].(string)]++
		}
		switch e.Name {
		case "Product Added":
			added[p["cart_id"].(string)] = true
		case "Order Completed":
			if id, ok := p["cart_id"].(string); ok {
				ordered[id] = true
			}
			if p["fulfillment"] == "click_and_collect" && p["store_id"] != nil {
				count["click & collect"]++
			}
			if len(p["products"].([]any)) == 0 || p["currency"] != "EUR" || p["order_id"] == nil {
				t.Fatalf("incomplete order: %s", e.JSON)
			}
			item := p["products"].([]any)[0].(map[string]any)
			for _, k := range []string{"product_id", "sku", "name", "category", "brand", "price", "quantity"} {
				if item[k] == nil {
					t.Fatalf("order line without %s: %s", k, e.JSON)
				}
			}
		case "Product Returned":
			if e.Channel == "pos" && strings.HasPrefix(p["order_id"].(string), "CMD-") {
				count["web order returned in store"]++
			}
		}
		if e.Channel == "pos" && e.Name == "Order Completed" {
			id, _ := p["loyaltyId"].(string)
			if e.UserID != "" && id == "" {
				t.Fatalf("a known customer's till sale without loyaltyId: %s", e.JSON)
			}
			if id != "" {
				count["pos sale with loyaltyId"]++
				if u := loyaltyUser[id]; u != "" && e.UserID != "" && u != e.UserID {
					t.Fatalf("loyalty card %s used by %s and %s", id, u, e.UserID)
				}
				if e.UserID != "" {
					loyaltyUser[id] = e.UserID
				} else {
					count["pos sale known by its card only"]++
				}
			}
		}
	}
	for id := range added {
		if !ordered[id] {
			count["abandoned cart"]++
		}
	}
	for _, want := range []string{
		"web", "ios", "android", "pos", "email", "sms", "call_center",
		"web track Order Completed", "pos track Order Completed", "ios track Order Completed",
		"web identify ", "pos identify ", "web page ", "ios screen ", "web track Product Viewed",
		"web track Products Searched", "web track Cart Viewed", "web track Checkout Started",
		"email track Email Delivered", "email track Email Opened", "email track Email Link Clicked",
		"sms track SMS Delivered", "sms track SMS Clicked", "call_center track Call Center Contacted",
		"pos track Order Refunded", "pos track Loyalty Program Joined", "pos track Order Picked Up",
		"abandoned cart", "click & collect", "web order returned in store", "pos sale with loyaltyId",
		"pos sale known by its card only", "landing from instagram", "landing from email",
	} {
		if count[want] == 0 {
			t.Errorf("no %q in %d events", want, len(run))
		}
	}
	if count["ios track Push Opened"]+count["android track Push Opened"] == 0 {
		t.Error("no Push Opened")
	}
}

// TestIdentifiersAreDistinct checks that no two customers share an email,
// phone, loyalty card or user id, whatever the noise later added.
func TestIdentifiersAreDistinct(t *testing.T) {
	g := New(Options{Seed: 7, Customers: 1})
	seen := map[string]int{}
	for i := uint32(0); i < 60000; i++ {
		c := &customer{idx: i, persona: uint8(i % uint32(len(personas)))}
		p := g.person(c)
		for _, id := range []string{
			p.email(),
			string(appendPhone(nil, p.phone, 0)),
			string(appendLoyalty(nil, p.loyalty)),
			string(g.appendUserID(nil, i)),
		} {
			if j, ok := seen[id]; ok {
				t.Fatalf("customers %d and %d share %s", j, i, id)
			}
			seen[id] = int(i)
		}
	}
}

func TestTypicalSizes(t *testing.T) {
	var n, total int
	for _, e := range events(t) {
		if e.Type == "track" && (e.Name == "Product Viewed" || e.Name == "Product Added") {
			n++
			total += len(e.JSON)
		}
	}
	if avg := total / n; avg < 400 || avg > 900 {
		t.Errorf("product events average %d bytes", avg)
	}
}
