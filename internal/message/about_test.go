package message_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// fakeCommerce holds orders and locations by id.
type fakeCommerce struct {
	orders map[string]*commerce.Order
	locs   map[string]*commerce.Location
}

func (f fakeCommerce) Order(_ context.Context, id string) (*commerce.Order, error) {
	if o, ok := f.orders[id]; ok {
		return o, nil
	}
	return nil, commerce.ErrNotFound
}

func (f fakeCommerce) Location(_ context.Context, id string) (*commerce.Location, error) {
	if l, ok := f.locs[id]; ok {
		return l, nil
	}
	return nil, commerce.ErrNotFound
}

// TestTemplatesGetTheOrderAndItsStore: order is the commerce order as it
// is now (the event was about an earlier status), else the event's own
// properties; store is the store the message is about (the request's,
// the event's store_id, the order's), else the customer's nearest, and
// carries what commerce knows of it (address).
func TestTemplatesGetTheOrderAndItsStore(t *testing.T) {
	fc := fakeCommerce{
		orders: map[string]*commerce.Order{"web-1042": {ID: "web-1042", Status: "ready_for_pickup", Total: 179.8, Currency: "EUR",
			Location: "paris-rivoli", Fulfilment: "click_collect", Channel: "web", Lines: []commerce.Line{{SKU: "SHOE-42", Name: "Trail", Quantity: 2, Price: 89.9}}}},
		locs: map[string]*commerce.Location{
			"paris-rivoli":   {ID: "paris-rivoli", Name: "Paris Rivoli", Address: commerce.Address{Line1: "99 rue de Rivoli", City: "Paris"}},
			"lyon-part-dieu": {ID: "lyon-part-dieu", Name: "Lyon Part-Dieu", Address: commerce.Address{City: "Lyon"}},
		},
	}
	h := newHarness(t, func(o *message.Options) {
		o.Commerce = fc
		o.Stores = []place.Location{{ID: "lyon-part-dieu", Name: "Lyon Part-Dieu", Lat: 45.7606, Lon: 4.8593},
			{ID: "paris-rivoli", Name: "Paris Rivoli", Lat: 48.8606, Lon: 2.3376},
			// Known to the stores file alone, address included (a stores
			// file entry is a place.Location, like commerce's).
			{ID: "bordeaux", Name: "Bordeaux Sainte-Catherine", Lat: 44.8378, Lon: -0.5792, Address: place.Address{City: "Bordeaux"}}}
	})
	h.customer(1, map[string]any{"first_name": "Sophie"})
	// Sophie was last seen in Lyon.
	prof, _ := h.st.Profile(context.Background(), 1)
	prof.Agg.Location = profile.Location{Lat: 45.76, Lon: 4.85, At: t0}
	if err := h.st.ApplyUnify(context.Background(), &store.UnifyBatch{Consumer: "test", Profiles: []*profile.Profile{prof}}); err != nil {
		t.Fatal(err)
	}
	body := `{{ order.id }}|{{ order.status }}|{{ order.total }}|{{ order.products.first.sku }}|{{ store.name }}|{{ store.address.city }}|{{ event.note }}`
	tests := []struct {
		name  string
		event map[string]any
		store string
		want  string
	}{
		{"commerce order, its event's store", map[string]any{"order_id": "web-1042", "status": "placed", "store_id": "paris-rivoli", "note": "n"}, "",
			"web-1042|ready_for_pickup|179.8|SHOE-42|Paris Rivoli|Paris|n"},
		{"the order's store when the event names none", map[string]any{"order_id": "web-1042"}, "",
			"web-1042|ready_for_pickup|179.8|SHOE-42|Paris Rivoli|Paris|"},
		{"an order commerce does not hold: the event's", map[string]any{"order_id": 77.0, "status": "completed", "total": 12.5,
			"products": []any{map[string]any{"sku": "CAP"}}}, "", "77|completed|12.5|CAP|Lyon Part-Dieu|Lyon|"},
		{"the request's store (a POS event)", map[string]any{"note": "till"}, "paris-rivoli", "||||Paris Rivoli|Paris|till"},
		{"no store named: the nearest", nil, "", "||||Lyon Part-Dieu|Lyon|"},
		{"a store nobody knows: its id", map[string]any{"store_id": "nantes"}, "", "||||nantes||"},
		{"a store of the stores file alone: its address too", map[string]any{"store_id": "bordeaux"}, "", "||||Bordeaux Sainte-Catherine|Bordeaux|"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := h.send(message.Request{ProfileID: 1, Channel: provider.SMS, Topic: "order_updates", Key: "about-" + string(rune('a'+i)),
				Event: tc.event, StoreID: tc.store, Content: &template.Template{SMS: &template.SMS{Body: body}}})
			var pm provider.Message
			if err := json.Unmarshal(m.Payload, &pm); err != nil {
				t.Fatalf("%+v: %v", m, err)
			}
			if pm.Body != tc.want {
				t.Errorf("rendered %q, want %q", pm.Body, tc.want)
			}
		})
	}
}

// TestTemplatesSpeakTheCustomersLanguage: {{ profile.locale }} is the
// locale trait when an identify set one, else the latest context.locale
// the customer's devices sent, so the shipped templates' English variants
// reach customers who never told their language in a form.
func TestTemplatesSpeakTheCustomersLanguage(t *testing.T) {
	h := newHarness(t, nil)
	body := `{% if profile.locale contains "en" %}Hello{% else %}Bonjour{% endif %}`
	setLocale := func(id int64, locale string) {
		prof, _ := h.st.Profile(context.Background(), id)
		prof.Agg.Locale = profile.Stamped{Value: locale, At: t0, Key: "m"}
		if err := h.st.ApplyUnify(context.Background(), &store.UnifyBatch{Consumer: "test", Profiles: []*profile.Profile{prof}}); err != nil {
			t.Fatal(err)
		}
	}
	h.customer(1, nil)
	setLocale(1, "en-GB")
	h.customer(2, map[string]any{"locale": "fr"})
	setLocale(2, "en-US") // the trait the customer chose wins over the device
	h.customer(3, nil)
	for id, want := range map[int64]string{1: "Hello", 2: "Bonjour", 3: "Bonjour"} {
		m := h.send(message.Request{ProfileID: id, Channel: provider.SMS, Topic: "order_updates", Key: fmt.Sprint("locale-", id),
			Content: &template.Template{SMS: &template.SMS{Body: body}}})
		var pm provider.Message
		if err := json.Unmarshal(m.Payload, &pm); err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
		if pm.Body != want {
			t.Errorf("customer %d: rendered %q, want %q", id, pm.Body, want)
		}
	}
}
