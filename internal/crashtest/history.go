// Package crashtest checks what a crash did, from the outside: a History
// records what each client request was told (acknowledged, refused, or no
// answer at all), and its checks compare that with what the system stored
// and delivered once it is back. It is a small history checker in the
// spirit of Jepsen's, limited to the promises Parcours makes:
//
//   - an acknowledged operation is stored exactly once;
//   - an operation without an answer (the server died, the request timed
//     out) is stored at most once, however many times it was retried;
//   - a refused operation is not stored;
//   - nothing is stored that no client asked for;
//   - a message is delivered at least once and at most once more than the
//     documented bound allows (Deliveries).
//
// The crash tests (internal/cli, internal/message) kill real processes
// with SIGKILL and feed what they saw into a History.
package crashtest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Outcome is what a client was told about one request.
type Outcome int

// The outcomes, weakest first.
const (
	// Refused: the server answered that it did not do it (a 4xx, a 503
	// before anything was stored).
	Refused Outcome = iota
	// Unknown: no answer (connection reset, timeout, the server killed).
	// It may or may not have been done.
	Unknown
	// Acked: the server answered that it is done (2xx).
	Acked
)

func (o Outcome) String() string {
	switch o {
	case Refused:
		return "refused"
	case Unknown:
		return "unknown"
	case Acked:
		return "acknowledged"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// History is what clients were told, by operation key (an event's
// messageId, a message's send key, a reservation's idempotency key). It is
// safe for concurrent use.
type History struct {
	mu       sync.Mutex
	outcomes map[string]Outcome
	tries    map[string]int
}

// New returns an empty history.
func New() *History {
	return &History{outcomes: map[string]Outcome{}, tries: map[string]int{}}
}

// Record adds one attempt at key and what it was told. A key keeps the
// strongest outcome of its attempts: once acknowledged, it stays so (a
// retry answered from the idempotency key); a refusal after an unknown
// does not prove that the first attempt did nothing.
func (h *History) Record(key string, o Outcome) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tries[key]++
	if prev, ok := h.outcomes[key]; !ok || o > prev {
		h.outcomes[key] = o
	}
}

// Outcome returns what key was told in the end, and whether it was asked.
func (h *History) Outcome(key string) (Outcome, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	o, ok := h.outcomes[key]
	return o, ok
}

// Keys returns the keys whose outcome is o, sorted.
func (h *History) Keys(o Outcome) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for k, v := range h.outcomes {
		if v == o {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Counts returns how many keys end in each outcome.
func (h *History) Counts() (acked, unknown, refused int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, o := range h.outcomes {
		switch o {
		case Acked:
			acked++
		case Unknown:
			unknown++
		default:
			refused++
		}
	}
	return acked, unknown, refused
}

// Report is the result of a check: the figures, and the violations found.
type Report struct {
	Acked, Unknown, Refused int
	// UnknownStored counts operations without an answer that turned out to
	// be done.
	UnknownStored int
	Violations    []string
}

// Err returns the violations as one error (the first ten), nil if none.
func (r Report) Err() error {
	if len(r.Violations) == 0 {
		return nil
	}
	shown := r.Violations[:min(10, len(r.Violations))]
	return fmt.Errorf("%d violations: %s", len(r.Violations), strings.Join(shown, "; "))
}

func (r Report) String() string {
	return fmt.Sprintf("%d acknowledged, %d without an answer (%d of them done), %d refused, %d violations",
		r.Acked, r.Unknown, r.UnknownStored, r.Refused, len(r.Violations))
}

// CheckStored compares the history with how many times each key is
// stored: acknowledged exactly once, unknown at most once, refused never,
// and nothing stored that was never asked for. Keys of stored that the
// caller does not track (another client's) must be left out of it.
func (h *History) CheckStored(stored map[string]int) Report {
	h.mu.Lock()
	defer h.mu.Unlock()
	var r Report
	for k, o := range h.outcomes {
		n := stored[k]
		switch o {
		case Acked:
			r.Acked++
			if n != 1 {
				r.Violations = append(r.Violations, fmt.Sprintf("%s: acknowledged, stored %d times", k, n))
			}
		case Unknown:
			r.Unknown++
			if n > 0 {
				r.UnknownStored++
			}
			if n > 1 {
				r.Violations = append(r.Violations, fmt.Sprintf("%s: no answer, stored %d times", k, n))
			}
		default:
			r.Refused++
			if n != 0 {
				r.Violations = append(r.Violations, fmt.Sprintf("%s: refused, stored %d times", k, n))
			}
		}
	}
	for k, n := range stored {
		if _, asked := h.outcomes[k]; !asked && n > 0 {
			r.Violations = append(r.Violations, fmt.Sprintf("%s: stored %d times, never asked for", k, n))
		}
	}
	slices.Sort(r.Violations)
	return r
}

// DeliveryReport is the result of a delivery check.
type DeliveryReport struct {
	Delivered  int // keys delivered at least once
	Missing    int // acknowledged keys never delivered
	Duplicates int // deliveries beyond the first, over all keys
	Violations []string
}

// Err returns the violations as one error, nil if none.
func (r DeliveryReport) Err() error {
	if len(r.Violations) == 0 {
		return nil
	}
	shown := r.Violations[:min(10, len(r.Violations))]
	return errors.New(strings.Join(shown, "; "))
}

// CheckDeliveries compares the history of send requests with what the
// receiving end got, by key: every acknowledged key in mustArrive is
// delivered at least once (keys left out may be dropped by policy, like a
// marketing message in doubt after a crash), nothing is delivered that
// was never asked for, and the duplicates (deliveries beyond the first,
// over all keys) do not exceed maxDuplicates — the bound the crash left,
// such as the messages whose provider call was in flight.
func (h *History) CheckDeliveries(delivered map[string]int, mustArrive func(key string) bool, maxDuplicates int) DeliveryReport {
	h.mu.Lock()
	defer h.mu.Unlock()
	var r DeliveryReport
	for k, o := range h.outcomes {
		n := delivered[k]
		if n > 0 {
			r.Delivered++
			r.Duplicates += n - 1
		}
		if o == Acked && n == 0 && (mustArrive == nil || mustArrive(k)) {
			r.Missing++
			r.Violations = append(r.Violations, fmt.Sprintf("%s: acknowledged, never delivered", k))
		}
		if o == Refused && n > 0 {
			r.Violations = append(r.Violations, fmt.Sprintf("%s: refused, delivered %d times", k, n))
		}
	}
	for k, n := range delivered {
		if _, asked := h.outcomes[k]; !asked && n > 0 {
			r.Violations = append(r.Violations, fmt.Sprintf("%s: delivered %d times, never asked for", k, n))
		}
	}
	if r.Duplicates > maxDuplicates {
		r.Violations = append(r.Violations, fmt.Sprintf("%d duplicate deliveries, more than the bound of %d", r.Duplicates, maxDuplicates))
	}
	slices.Sort(r.Violations)
	return r
}
