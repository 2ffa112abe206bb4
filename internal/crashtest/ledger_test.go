package crashtest

import (
	"strings"
	"testing"
)

func TestLedgerFindsEachKindOfViolation(t *testing.T) {
	l := NewLedger()
	l.Events.Record("e1", Acked)
	l.Events.Record("e2", Acked)
	l.Events.Record("e3", Unknown)
	l.Events.Record("e4", Refused)
	l.Sends.Record("s1", Acked)
	l.Sends.Record("s2", Acked)
	l.Reservations.Record("r1", Acked)
	l.Reservations.Record("r2", Unknown)

	good := Holdings{
		Stored:    map[string]int{"e1": 1, "e2": 1, "e3": 1},
		Processed: map[string]int{"e1": 1, "e2": 1},
		Delivered: map[string]int{"s1": 1, "s2": 1},
		Reserved:  map[string]int{"r1": 1}, ActiveQuantity: 1, StockReserved: 1, OnHand: 1,
	}
	if r := l.Check(good, nil, 0); r.Err() != nil {
		t.Fatalf("a correct outcome: %v", r.Err())
	}

	bad := Holdings{
		Stored:    map[string]int{"e1": 2, "e3": 1, "e4": 1, "e9": 1}, // e1 twice, e2 lost, e4 refused but stored, e9 never asked
		Processed: map[string]int{"e1": 1, "e2": 2},                   // e2 processed twice
		Delivered: map[string]int{"s1": 2},                            // s1 twice, s2 never
		Reserved:  map[string]int{"r1": 1, "r2": 2}, ActiveQuantity: 3, StockReserved: 2, OnHand: 2,
	}
	r := l.Check(bad, nil, 0)
	err := r.Err()
	if err == nil {
		t.Fatal("violations not found")
	}
	for _, want := range []string{
		"event log: e1: acknowledged, stored 2 times",
		"event log: e2: acknowledged, stored 0 times",
		"event log: e4: refused, stored 1 times",
		"event log: e9: stored 1 times, never asked for",
		"timelines: e2: acknowledged, stored 2 times",
		"deliveries: s2: acknowledged, never delivered",
		"deliveries: 1 duplicate deliveries, more than the bound of 0",
		"reservations: r2: no answer, stored 2 times",
		"stock: oversold: active reservations hold 3 of 2 on hand",
		"stock: the stock row says 2 reserved, the active reservations hold 3",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the report lacks %q:\n%v", want, err)
		}
	}
	if !strings.Contains(r.String(), "events in the log:") {
		t.Errorf("summary: %s", r)
	}
}
