package commerce

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStatusMachine(t *testing.T) {
	tests := []struct {
		fulfilment string
		path       []Status
		refused    Status // the next step is refused; "" if the path is legal
	}{
		{ClickCollect, []Status{Confirmed, Picking, ReadyForPickup, Collected}, ""},
		{ClickCollect, []Status{Confirmed, Picking, ReadyForPickup, Expired, Restocked}, ""},
		{ClickCollect, []Status{Confirmed, Cancelled}, ""},
		{ClickCollect, []Status{Confirmed}, Shipped},
		{ClickCollect, []Status{Confirmed, Picking, ReadyForPickup, Collected}, Cancelled},
		{Ship, []Status{Confirmed, Shipped, Delivered}, ""},
		{ShipFromStore, []Status{Confirmed, Picking, Shipped, Delivered}, ""},
		{InStoreDelivery, []Status{Confirmed, Picking}, ReadyForPickup},
		{Ship, []Status{Confirmed, Shipped}, Cancelled},
		{Ship, nil, Delivered},
	}
	for _, tc := range tests {
		name := tc.fulfilment + ":" + string(tc.refused)
		t.Run(name, func(t *testing.T) {
			o := &Order{ID: "o1", Fulfilment: tc.fulfilment, Status: Placed}
			for _, to := range tc.path {
				if _, err := Transition(o, to); err != nil {
					t.Fatalf("%s → %s refused: %v", o.Status, to, err)
				}
				o.Status = to
			}
			if tc.refused == "" {
				return
			}
			_, err := Transition(o, tc.refused)
			var te *TransitionError
			if !errors.As(err, &te) || te.From != o.Status || te.To != tc.refused {
				t.Fatalf("%s → %s: got %v, want a *TransitionError", o.Status, tc.refused, err)
			}
			if !strings.Contains(err.Error(), "cannot go from "+string(o.Status)) {
				t.Fatalf("unclear message: %v", err)
			}
		})
	}
}

func TestStockEffects(t *testing.T) {
	o := &Order{Fulfilment: ClickCollect, Status: ReadyForPickup}
	if e, _ := Transition(o, Collected); e != Consume {
		t.Fatalf("collected must consume the reservation")
	}
	if e, _ := Transition(o, Expired); e != NoEffect {
		t.Fatalf("expired keeps the goods on the pickup shelf")
	}
	o.Status = Expired
	if e, _ := Transition(o, Restocked); e != Release {
		t.Fatalf("restocked must release the reservation")
	}
}

func TestMergeCarts(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	known := &Cart{Customer: "user_id:u", Currency: "EUR", Items: []CartItem{
		{SKU: "A", Quantity: 1, Price: 50, UpdatedAt: t0},
		{SKU: "B", Quantity: 2, Price: 10, UpdatedAt: t0.Add(2 * time.Hour)},
	}}
	anon := &Cart{Customer: "anonymous_id:a", Items: []CartItem{
		{SKU: "A", Quantity: 2, Price: 45, UpdatedAt: t0.Add(time.Hour)}, // newer price wins
		{SKU: "B", Quantity: 1, Price: 12, UpdatedAt: t0},                // older: known price stays
		{SKU: "C", Quantity: 1, Price: 5, UpdatedAt: t0},
	}}
	m := MergeCarts(known, anon, t0.Add(3*time.Hour))
	want := []CartItem{{SKU: "A", Quantity: 3, Price: 45}, {SKU: "B", Quantity: 3, Price: 10}, {SKU: "C", Quantity: 1, Price: 5}}
	if len(m.Items) != len(want) {
		t.Fatalf("merged %+v", m.Items)
	}
	for i, w := range want {
		if g := m.Items[i]; g.SKU != w.SKU || g.Quantity != w.Quantity || g.Price != w.Price {
			t.Fatalf("item %d = %+v, want %+v", i, g, w)
		}
	}
	if m.Total() != 170 || m.Currency != "EUR" {
		t.Fatalf("total %v currency %s", m.Total(), m.Currency)
	}
}

func TestStockEvents(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	lvl := func(onHand, reserved, version int64) StockLevel {
		return StockLevel{SKU: "A", Location: "lyon", OnHand: onHand, Reserved: reserved, Version: version, UpdatedAt: at}
	}
	evs := StockEvents([]StockChange{
		{Before: lvl(0, 0, 1), After: lvl(10, 0, 2)},  // back in stock
		{Before: lvl(10, 0, 2), After: lvl(10, 7, 3)}, // 10 → 3: low
		{Before: lvl(10, 7, 3), After: lvl(10, 8, 4)}, // 3 → 2: already low
	}, 3, at)
	if len(evs) != 2 || evs[0].Event != EventBackInStock || evs[1].Event != EventLowStock {
		t.Fatalf("events %+v", evs)
	}
	if evs[0].MessageID != "commerce-stock-A@lyon-v2-back" || evs[0].SourceID != SourceID {
		t.Fatalf("message id %s", evs[0].MessageID)
	}
	if OrderEventName(ReadyForPickup) != "Order Ready For Pickup" {
		t.Fatal(OrderEventName(ReadyForPickup))
	}
}

func TestNearest(t *testing.T) {
	locs := map[string]*Location{
		"paris": {ID: "paris", Lat: 48.8566, Lon: 2.3522},
		"lyon":  {ID: "lyon", Lat: 45.764, Lon: 4.8357},
		"lille": {ID: "lille", Lat: 50.6292, Lon: 3.0573},
		"wh":    {ID: "wh", Kind: KindWarehouse, Lat: 48.85, Lon: 2.35},
	}
	levels := []StockLevel{{SKU: "A", Location: "lille", OnHand: 2}, {SKU: "A", Location: "lyon", OnHand: 5},
		{SKU: "A", Location: "paris", OnHand: 1, Reserved: 1}, {SKU: "A", Location: "gone", OnHand: 9}, {SKU: "A", Location: "wh", OnHand: 9}}
	got := Nearest(levels, locs, 48.85, 2.35, 10) // from Paris: Paris has none available
	if len(got) != 2 || got[0].Location.ID != "lille" || got[1].Location.ID != "lyon" || got[0].DistanceKm < 200 || got[0].DistanceKm > 210 {
		t.Fatalf("Nearest = %+v", got)
	}
}

func TestOpenAt(t *testing.T) {
	l := &Location{TimeZone: "Europe/Paris", OpeningHours: map[string][]string{"mon": {"10:00-13:00", "14:00-19:30"}}}
	for _, tc := range []struct {
		utc  string
		open bool
	}{
		{"2026-11-23T09:30:00Z", true},  // Monday 10:30 in Paris (UTC+1)
		{"2026-11-23T12:30:00Z", false}, // 13:30, lunch
		{"2026-11-23T18:29:00Z", true},  // 19:29
		{"2026-11-23T18:30:00Z", false}, // 19:30, closed
		{"2026-11-24T09:30:00Z", false}, // Tuesday
	} {
		at, _ := time.Parse(time.RFC3339, tc.utc)
		if got := l.OpenAt(at); got != tc.open {
			t.Errorf("OpenAt(%s) = %v, want %v", tc.utc, got, tc.open)
		}
	}
}
