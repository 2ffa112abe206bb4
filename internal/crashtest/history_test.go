package crashtest

import (
	"strings"
	"testing"
)

func TestCheckStored(t *testing.T) {
	h := New()
	h.Record("a", Acked)
	h.Record("u", Unknown)
	h.Record("u-done", Unknown)
	h.Record("r", Refused)
	h.Record("retried", Unknown)
	h.Record("retried", Acked) // the retry was answered
	h.Record("retried", Unknown)
	h.Record("unknown-then-refused", Unknown)
	h.Record("unknown-then-refused", Refused)
	if o, _ := h.Outcome("retried"); o != Acked {
		t.Fatalf("retried: %v, want acknowledged (the strongest answer)", o)
	}
	if o, _ := h.Outcome("unknown-then-refused"); o != Unknown {
		t.Fatalf("unknown-then-refused: %v, want unknown", o)
	}
	tests := []struct {
		name   string
		stored map[string]int
		want   []string // substrings of the violations, in order; none: clean
	}{
		{"clean", map[string]int{"a": 1, "u-done": 1, "retried": 1, "unknown-then-refused": 1}, nil},
		{"acknowledged lost", map[string]int{"retried": 1}, []string{"a: acknowledged, stored 0 times"}},
		{"acknowledged twice", map[string]int{"a": 2, "retried": 1}, []string{"a: acknowledged, stored 2 times"}},
		{"unknown twice", map[string]int{"a": 1, "retried": 1, "u": 2}, []string{"u: no answer, stored 2 times"}},
		{"refused stored", map[string]int{"a": 1, "retried": 1, "r": 1}, []string{"r: refused, stored 1 times"}},
		{"never asked", map[string]int{"a": 1, "retried": 1, "ghost": 1}, []string{"ghost: stored 1 times, never asked for"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.CheckStored(tc.stored)
			if len(r.Violations) != len(tc.want) {
				t.Fatalf("violations %q, want %q", r.Violations, tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(r.Violations[i], w) {
					t.Fatalf("violation %q, want %q", r.Violations[i], w)
				}
			}
			if (r.Err() == nil) != (len(tc.want) == 0) {
				t.Fatalf("Err() = %v with %d violations", r.Err(), len(r.Violations))
			}
		})
	}
	r := h.CheckStored(map[string]int{"a": 1, "u-done": 1, "retried": 1})
	if r.Acked != 2 || r.Unknown != 3 || r.Refused != 1 || r.UnknownStored != 1 {
		t.Fatalf("figures: %+v", r)
	}
}

func TestCheckDeliveries(t *testing.T) {
	h := New()
	for _, k := range []string{"receipt-1", "receipt-2", "promo-1"} {
		h.Record(k, Acked)
	}
	h.Record("lost-answer", Unknown)
	h.Record("refused", Refused)
	receiptsOnly := func(k string) bool { return strings.HasPrefix(k, "receipt") }
	tests := []struct {
		name      string
		delivered map[string]int
		bound     int
		want      string // substring of the first violation; "": clean
	}{
		{"each once", map[string]int{"receipt-1": 1, "receipt-2": 1, "promo-1": 1}, 0, ""},
		{"promo dropped by policy", map[string]int{"receipt-1": 1, "receipt-2": 1}, 0, ""},
		{"duplicates within the bound", map[string]int{"receipt-1": 2, "receipt-2": 2, "lost-answer": 1}, 2, ""},
		{"duplicates beyond the bound", map[string]int{"receipt-1": 3, "receipt-2": 1}, 1, "2 duplicate deliveries, more than the bound of 1"},
		{"receipt missing", map[string]int{"receipt-1": 1}, 0, "receipt-2: acknowledged, never delivered"},
		{"refused delivered", map[string]int{"receipt-1": 1, "receipt-2": 1, "refused": 1}, 0, "refused: refused, delivered 1 times"},
		{"never asked", map[string]int{"receipt-1": 1, "receipt-2": 1, "ghost": 1}, 0, "ghost: delivered 1 times, never asked for"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.CheckDeliveries(tc.delivered, receiptsOnly, tc.bound)
			if tc.want == "" {
				if err := r.Err(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if len(r.Violations) == 0 || !strings.Contains(r.Violations[0], tc.want) {
				t.Fatalf("violations %q, want %q", r.Violations, tc.want)
			}
		})
	}
}
