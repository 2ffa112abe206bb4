package recommend

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store"
)

// historyEvents is how many of a customer's newest events a query reads:
// enough for months of an active customer's views and orders, bounded so
// that a query costs the same for everyone.
const historyEvents = 300

// Timelines reads a profile's events, newest first (store.Profiles).
type Timelines interface {
	Timeline(ctx context.Context, q store.TimelineQuery) ([]*event.Event, error)
}

// History is what a customer did with products, from their timeline.
type History struct {
	// Viewed are the products viewed or added to a cart, most recent
	// first, each once.
	Viewed []string
	// Bought and Returned map a product to the last time it was.
	Bought   map[string]time.Time
	Returned map[string]time.Time
	// LastOrder is the newest order's products; LastStore the store of
	// the newest event that names one.
	LastOrder []string
	LastStore string
	// anchor is the product a query is about (similar): not proposed.
	anchor string
}

// ReadHistory reads the customer's history from their newest events.
func ReadHistory(ctx context.Context, tl Timelines, profileID int64) (*History, error) {
	evs, err := tl.Timeline(ctx, store.TimelineQuery{Profile: profileID, Type: event.Track, Limit: historyEvents})
	if err != nil {
		return nil, err
	}
	return HistoryOf(evs), nil
}

// HistoryOf builds a history from events, newest first.
func HistoryOf(evs []*event.Event) *History {
	h := &History{Bought: map[string]time.Time{}, Returned: map[string]time.Time{}}
	seen := map[string]bool{}
	for _, e := range evs {
		if e.Type != event.Track || !Learns(e.Event) {
			continue
		}
		var p props
		if json.Unmarshal(e.Properties, &p) != nil {
			continue
		}
		if h.LastStore == "" {
			h.LastStore = p.StoreID
		}
		switch e.Event {
		case EventProductViewed, EventProductAdded:
			if it, ok := p.item(""); ok && !seen[it.ID] {
				seen[it.ID] = true
				h.Viewed = append(h.Viewed, it.ID)
			}
		case EventOrderCompleted:
			first := h.LastOrder == nil
			for k := range p.Products {
				if it, ok := p.Products[k].item(""); ok {
					if _, dup := h.Bought[it.ID]; !dup {
						h.Bought[it.ID] = e.Timestamp
					}
					if first {
						h.LastOrder = append(h.LastOrder, it.ID)
					}
				}
			}
		default:
			lines := p.Products
			if len(lines) == 0 {
				lines = []productLine{p.productLine}
			}
			for k := range lines {
				if it, ok := lines[k].item(""); ok {
					if _, dup := h.Returned[it.ID]; !dup {
						h.Returned[it.ID] = e.Timestamp
					}
				}
			}
		}
	}
	return h
}
