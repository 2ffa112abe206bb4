package journey

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
)

// caseCondition checks a branch case's condition: a segment condition,
// or, at its top, performed — evaluated within the enrolment ("did they
// open the email since they entered"), so without within or sum.
func caseCondition(w *When, path string, known segment.Known) error {
	if q := w.InStock; q != nil {
		if err := inStockCondition(q, path+".in_stock"); err != nil {
			return err
		}
		if isZeroCondition(&w.Condition) {
			return nil
		}
	}
	c := &w.Condition
	if b := c.Performed; b != nil {
		if b.Event == "" {
			return fail(path+".performed.event", "is required: the event done since entry")
		}
		if b.Within != nil {
			return fail(path+".performed.within", "is not for journeys: a branch counts the events since the customer entered")
		}
		if b.Sum != nil {
			return fail(path+".performed.sum", "is not supported in a journey branch; count is")
		}
		rest := *c
		rest.Performed = nil
		if !isZeroCondition(&rest) {
			return fail(path, "sets performed and another condition: put them under all: [...]; performed is only evaluated at the top of a branch's when")
		}
		return nil
	}
	return condition(c, path, known)
}

func isZeroCondition(c *segment.Condition) bool {
	b, _ := json.Marshal(c)
	return string(b) == "{}"
}

// holds evaluates a branch case for an enrolment at an instant.
func (r *runner) holds(ctx context.Context, c *segment.Condition, in segment.Input, en *store.Enrolment, at time.Time) (bool, error) {
	if c.Performed == nil {
		return segment.Match(c, in), nil
	}
	n, err := r.performedSince(ctx, c.Performed, en.Profile, en.EnteredAt, at)
	if err != nil {
		return false, err
	}
	if rg := c.Performed.Count; rg != nil {
		v := float64(n)
		return (rg.Eq == nil || v == *rg.Eq) && (rg.Gt == nil || v > *rg.Gt) && (rg.Gte == nil || v >= *rg.Gte) &&
			(rg.Lt == nil || v < *rg.Lt) && (rg.Lte == nil || v <= *rg.Lte), nil
	}
	return n > 0, nil
}

// performedSince counts the customer's events matching b from entry to
// at, on their timeline.
func (r *runner) performedSince(ctx context.Context, b *segment.Behaviour, profileID int64, from, at time.Time) (int, error) {
	evs, err := r.e.st.ProfileEvents(ctx, profileID, profileID, []string{b.Event})
	if err != nil {
		return 0, fmt.Errorf("journey: events of profile %d: %w", profileID, err)
	}
	n := 0
	for _, pe := range evs {
		e := pe.Event
		if e.Type != event.Track || e.Event != b.Event || e.Timestamp.Before(from) || e.Timestamp.After(at) {
			continue
		}
		var props map[string]any
		if len(e.Properties) > 0 {
			_ = json.Unmarshal(e.Properties, &props)
		}
		if segment.MatchProperties(props, b.Where) {
			n++
		}
	}
	return n, nil
}

// inStockCondition checks a stock condition.
func inStockCondition(q *InStock, path string) error {
	if strings.TrimSpace(q.SKU) == "" {
		return fail(path+".sku", "is required: a SKU, or {{ event.sku }} for the SKU of the event that enrolled the customer")
	}
	if err := checkPlaceholders(q.SKU); err != nil {
		return fail(path+".sku", err.Error())
	}
	if err := checkPlaceholders(q.Store); err != nil {
		return fail(path+".store", err.Error())
	}
	if q.Min < 0 {
		return fail(path+".min", "must be at least 1 (the default)")
	}
	if q.Km < 0 || (q.Km > 0 && q.Store != "" && q.Store != "nearest") {
		return fail(path+".km", "is a positive distance, for store: nearest only")
	}
	return nil
}
