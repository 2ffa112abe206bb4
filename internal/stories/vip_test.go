package stories_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestStoryInStoreVIP is the seeds' clienteling story: Sara, a gold
// member, put trail runners in her cart on the web shop yesterday; today
// her phone reports her 50 m from the Bellecour store. The store's staff
// get a task on their tablet naming her, with her cart; her phone gets a
// welcome push (FCM). Théo, silver, walks by too: nothing for him. One
// task, one push, however long the day goes on.
func TestStoryInStoreVIP(t *testing.T) {
	l := newLive(t, liveOptions{})
	l.openShop(map[string]int{"TR-42@lyon-bellecour": 3})
	l.apply("../../examples/journeys/in-store-vip.yaml")
	vipCustomers(l)
	// The cart, as the web shop's analytics report it.
	l.track("track", map[string]any{"userId": "sara-42", "event": "Product Added",
		"properties": map[string]any{"sku": "TR-42", "product_id": "trail-runner", "name": "Trail runner", "price": 89.9, "quantity": 1}})
	l.settle()
	vipWalksBy(l)
}

// TestStoryInStoreVIPOneCart is the same story with the cart the web shop
// keeps in commerce (PUT /api/v1/carts/...): one cart, which the profile,
// the commerce API and the staff's task all show.
func TestStoryInStoreVIPOneCart(t *testing.T) {
	l := newLive(t, liveOptions{})
	l.openShop(map[string]int{"TR-42@lyon-bellecour": 3})
	l.apply("../../examples/journeys/in-store-vip.yaml")
	vipCustomers(l)
	l.call("PUT", "/api/v1/carts/user_id:sara-42", map[string]any{"items": []map[string]any{{"sku": "TR-42", "quantity": 1, "price": 89.9}},
		"currency": "EUR", "channel": "web"}, nil)
	l.settle()
	var cart struct {
		Items []struct{ SKU string } `json:"items"`
	}
	l.call("GET", "/api/v1/carts/user_id:sara-42", nil, &cart)
	if len(cart.Items) != 1 || cart.Items[0].SKU != "TR-42" {
		t.Fatalf("commerce cart: %+v", cart)
	}
	p := l.profile("user_id=sara-42")
	if c := toJSON(p["computed"].(map[string]any)["current_cart"]); !strings.Contains(c, `"TR-42"`) {
		t.Fatalf("the profile's cart is %s, the commerce cart holds TR-42", c)
	}
	vipWalksBy(l)
}

// vipCustomers are Sara (gold, with the app: a device token and push
// consent) and Théo (silver).
func vipCustomers(l *live) {
	l.track("identify", map[string]any{"userId": "sara-42",
		"traits":  map[string]any{"first_name": "Sara", "last_name": "Martin", "email": "sara@example.fr", "loyalty_tier": "gold", "pushOptIn": true},
		"context": map[string]any{"device": map[string]any{"token": "fcm-token-sara", "type": "android"}}})
	l.track("identify", map[string]any{"userId": "theo-7",
		"traits":  map[string]any{"first_name": "Théo", "email": "theo@example.fr", "loyalty_tier": "silver", "pushOptIn": true},
		"context": map[string]any{"device": map[string]any{"token": "fcm-token-theo", "type": "ios"}}})
	l.settle()
}

// vipWalksBy: a day later both phones report a position 50 m from
// Bellecour.
func vipWalksBy(l *live) {
	t := l.t
	l.at(24 * time.Hour)
	here := map[string]any{"latitude": 45.7582, "longitude": 4.8325}
	for _, user := range []string{"sara-42", "theo-7"} {
		l.track("track", map[string]any{"userId": user, "event": "Location Updated", "properties": here,
			"context": map[string]any{"location": here}})
	}
	l.settle()
	var page struct {
		Tasks []struct {
			ID        int64           `json:"id"`
			StoreID   string          `json:"store_id"`
			ProfileID int64           `json:"profile_id"`
			Title     string          `json:"title"`
			Detail    json.RawMessage `json:"detail"`
		} `json:"tasks"`
	}
	l.call("GET", "/api/v1/tasks?store_id=lyon-bellecour&status=open", nil, &page)
	if len(page.Tasks) != 1 {
		t.Fatalf("Bellecour's open tasks: %+v", page.Tasks)
	}
	task := page.Tasks[0]
	var detail struct {
		Customer map[string]any `json:"customer"`
		Cart     []struct {
			SKU      string  `json:"sku"`
			Name     string  `json:"name"`
			Price    float64 `json:"price"`
			Quantity int     `json:"quantity"`
		} `json:"cart"`
	}
	if err := json.Unmarshal(task.Detail, &detail); err != nil {
		t.Fatal(err)
	}
	sara := l.profile("user_id=sara-42")
	if task.Title != "Sara Martin (gold) is near the store" || fmt.Sprint(task.ProfileID) != fmt.Sprint(sara["id"]) ||
		detail.Customer["loyalty_tier"] != "gold" || len(detail.Cart) != 1 || detail.Cart[0].SKU != "TR-42" || detail.Cart[0].Quantity != 1 {
		t.Fatalf("the staff's task: %+v\ndetail %s", task, task.Detail)
	}
	l.expectSent("push", "fcm-token-sara", "Bienvenue Sara ! | Votre conseiller vous attend chez Parcours Lyon Bellecour.")
	if got := l.box.list("push", "")[0].Data; got["link"] != "parcours://store/lyon-bellecour" {
		t.Fatalf("push data %v", got)
	}
	l.expectSent("push", "fcm-token-theo")
	// The rest of the day, and the next: still one task, one push.
	l.at(30 * time.Hour)
	l.track("track", map[string]any{"userId": "sara-42", "event": "Location Updated", "properties": here, "context": map[string]any{"location": here}})
	l.at(31 * time.Hour)
	l.call("GET", "/api/v1/tasks?store_id=lyon-bellecour", nil, &page)
	if len(page.Tasks) != 1 {
		t.Fatalf("%d tasks after Sara's second visit the same day, want 1 (cooldown 1d)", len(page.Tasks))
	}
	l.expectSent("", "", "Bienvenue Sara ! | Votre conseiller vous attend chez Parcours Lyon Bellecour.")
	l.noDuplicates()
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
