package crashtest

import (
	"fmt"
	"strings"
)

// Ledger is what the clients of a cluster were told during a fault, by
// kind of operation: events posted to the tracking API (keyed by
// messageId), messages asked for through the API (keyed by send key), and
// reservations (keyed by idempotency key). Each is a History; Check
// compares the three with what the system holds once the faults have
// healed and the pipeline has caught up.
type Ledger struct {
	Events       *History
	Sends        *History
	Reservations *History
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{Events: New(), Sends: New(), Reservations: New()}
}

// Holdings is what the system holds, read after the faults, by key.
type Holdings struct {
	// Stored counts each event (messageId) in the event log.
	Stored map[string]int
	// Processed counts each event in the profiles' timelines: unify's
	// output, the first stage downstream of the log.
	Processed map[string]int
	// Delivered counts the deliveries the receiving end (an SMTP or HTTP
	// sink) got, by send key.
	Delivered map[string]int
	// Reserved counts the reservations of each key; ActiveQuantity is the
	// quantity the active ones hold, StockReserved what the stock row says
	// is reserved and OnHand the stock on hand.
	Reserved                              map[string]int
	ActiveQuantity, StockReserved, OnHand int64
}

// LedgerReport is the result of Check: one report per kind, the stock's
// verdict, and every violation in readable form.
type LedgerReport struct {
	Stored, Processed, Reserved Report
	Delivered                   DeliveryReport
	Violations                  []string
}

// Err returns the violations as one error, nil if none.
func (r LedgerReport) Err() error {
	if len(r.Violations) == 0 {
		return nil
	}
	shown := r.Violations[:min(20, len(r.Violations))]
	more := ""
	if len(r.Violations) > len(shown) {
		more = fmt.Sprintf("\n  … and %d more", len(r.Violations)-len(shown))
	}
	return fmt.Errorf("%d violations:\n  %s%s", len(r.Violations), strings.Join(shown, "\n  "), more)
}

// String is the readable summary: what clients were told against what the
// system holds, by kind.
func (r LedgerReport) String() string {
	return fmt.Sprintf("events in the log: %s\nevents in timelines: %s\nmessages: %d delivered, %d duplicate deliveries, %d acknowledged never delivered\nreservations: %s",
		r.Stored, r.Processed, r.Delivered.Delivered, r.Delivered.Duplicates, r.Delivered.Missing, r.Reserved)
}

// Check compares the ledger with what the system holds:
//   - every acknowledged event is in the log exactly once, and in the
//     profiles' timelines exactly once; one without an answer at most
//     once; a refused one never;
//   - no message is delivered twice (maxDuplicates 0: the sends are
//     marketing messages, never resent when in doubt), and every
//     acknowledged one that mustArrive reports is delivered;
//   - every acknowledged reservation exists once, and the active ones
//     hold no more than the stock on hand, as the stock row says.
//
// A nil map skips its check.
func (l *Ledger) Check(h Holdings, mustArrive func(key string) bool, maxDuplicates int) LedgerReport {
	var r LedgerReport
	add := func(what string, vs []string) {
		for _, v := range vs {
			r.Violations = append(r.Violations, what+": "+v)
		}
	}
	if h.Stored != nil {
		r.Stored = l.Events.CheckStored(h.Stored)
		add("event log", r.Stored.Violations)
	}
	if h.Processed != nil {
		r.Processed = l.Events.CheckStored(h.Processed)
		add("timelines", r.Processed.Violations)
	}
	if h.Delivered != nil {
		r.Delivered = l.Sends.CheckDeliveries(h.Delivered, mustArrive, maxDuplicates)
		add("deliveries", r.Delivered.Violations)
	}
	if h.Reserved != nil {
		r.Reserved = l.Reservations.CheckStored(h.Reserved)
		add("reservations", r.Reserved.Violations)
		if h.ActiveQuantity > h.OnHand {
			r.Violations = append(r.Violations, fmt.Sprintf("stock: oversold: active reservations hold %d of %d on hand", h.ActiveQuantity, h.OnHand))
		}
		if h.StockReserved != h.ActiveQuantity {
			r.Violations = append(r.Violations, fmt.Sprintf("stock: the stock row says %d reserved, the active reservations hold %d", h.StockReserved, h.ActiveQuantity))
		}
	}
	return r
}
