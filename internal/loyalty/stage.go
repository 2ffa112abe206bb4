package loyalty

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
)

// Consumer is the name of the earning stage's checkpoint.
const Consumer = "loyalty"

// The log's events the stage reads.
const (
	eventOrderCompleted = profile.EventOrderCompleted
	eventOrderCancelled = profile.EventOrderCancelled
	eventOrderReturned  = "Order Returned"
	eventProfileMerged  = "Profile Merged"
)

// EventProfiles finds the profile unify put each event on (unify's
// ProfileFinder).
type EventProfiles interface {
	EventProfiles(ctx context.Context, batch []*event.Event) ([]*profile.Profile, error)
}

// Log is what the stage follows; store.Store implements it.
type Log interface {
	eventlog.Reader
	eventlog.Checkpoints
}

// Run follows the event log behind unify until ctx ends, earning and
// reversing points (Handle).
func (s *Service) Run(ctx context.Context, log Log, n *eventlog.Notifier, profiles EventProfiles) error {
	c := &eventlog.Consumer{Name: Consumer, Log: eventlog.Behind{Log: log, Behind: []string{"unify"}}, Checkpoints: log,
		Notifier: n, BatchSize: 500, Poll: time.Second,
		// Handle is keyed by cause: a crash hands a batch over again
		// harmlessly, so the checkpoint need not follow every batch.
		CheckpointEvery: 500 * time.Millisecond}
	return c.Run(ctx, func(ctx context.Context, batch []*event.Event) error { return s.Handle(ctx, batch, profiles) })
}

// Handle applies one batch of the log. Orders from any channel earn (an
// Order Completed, keyed by its order_id, so that the web shop's tracking
// and commerce's own event earn once); Order Returned takes back the
// returned lines' points (keyed by return_id), Order Cancelled what the
// order still holds; the programme's bonus events earn their bonus; a
// Profile Merged merges the two accounts. Replaying the log earns
// nothing twice. With no programme applied, nothing happens.
func (s *Service) Handle(ctx context.Context, batch []*event.Event, profiles EventProfiles) error {
	prog, err := s.Programme(ctx)
	if errors.Is(err, ErrNoProgramme) {
		return nil
	}
	if err != nil {
		return err
	}
	bonuses := map[string][]BonusRule{}
	for _, b := range prog.Bonuses {
		bonuses[b.EventName()] = append(bonuses[b.EventName()], b)
	}
	var sub []*event.Event
	for _, e := range batch {
		if e.Type != event.Track {
			continue
		}
		switch {
		case e.Event == eventProfileMerged && e.SourceID == SourceID:
			if err := s.handleMerge(ctx, e); err != nil {
				return err
			}
		case e.Event == eventOrderCompleted || e.Event == eventOrderReturned || e.Event == eventOrderCancelled || len(bonuses[e.Event]) > 0:
			sub = append(sub, e)
		}
	}
	if len(sub) == 0 {
		return nil
	}
	ps, err := profiles.EventProfiles(ctx, sub)
	if err != nil {
		return fmt.Errorf("loyalty: profiles of events %d-%d: %w", sub[0].Seq, sub[len(sub)-1].Seq, err)
	}
	// One member's events apply in the log's order; members apply at
	// once, their writes sharing the engine's group commit (one commit
	// for many orders, not one each: the stage keeps up with ingestion).
	byMember := map[int64][]int{}
	var members []int64
	for i := range sub {
		if ps[i] == nil {
			continue // no profile (an event unify could not place): no member
		}
		id := ps[i].ID
		if _, seen := byMember[id]; !seen {
			members = append(members, id)
		}
		byMember[id] = append(byMember[id], i)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(handleConcurrency)
	for _, id := range members {
		g.Go(func() error {
			for _, i := range byMember[id] {
				e := sub[i]
				err := s.handle(gctx, e, MemberOf(ps[i]), bonuses[e.Event])
				var ve *problem.ValidationError
				if errors.As(err, &ve) {
					s.log.Warn("loyalty: event not applied", "event", e.Seq, "messageId", e.MessageID, "err", err)
					continue
				}
				if err != nil {
					return fmt.Errorf("loyalty: event %d (%s): %w", e.Seq, e.MessageID, err)
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// handleConcurrency is how many members' events a batch applies at once.
const handleConcurrency = 16

// orderProps are what the stage reads of orders and returns.
type orderProps struct {
	OrderID  string   `json:"order_id"`
	ReturnID string   `json:"return_id"`
	StoreID  string   `json:"store_id"`
	Channel  string   `json:"channel"`
	Total    *float64 `json:"total"`
	Revenue  *float64 `json:"revenue"`
	Products []struct {
		SKU       string   `json:"sku"`
		ProductID string   `json:"product_id"`
		Category  string   `json:"category"`
		Price     float64  `json:"price"`
		Quantity  *float64 `json:"quantity"`
	} `json:"products"`
}

func (s *Service) handle(ctx context.Context, e *event.Event, m Member, bonuses []BonusRule) error {
	var p orderProps
	if len(e.Properties) > 0 {
		if err := json.Unmarshal(e.Properties, &p); err != nil {
			return problem.Invalidf("properties", "unreadable: %v", err)
		}
	}
	switch e.Event {
	case eventOrderCompleted:
		o := Order{ID: p.OrderID, Channel: cmp.Or(p.Channel, e.Channel), Store: cmp.Or(p.StoreID, e.StoreID)}
		if o.ID == "" {
			o.ID = e.SourceID + ":" + e.MessageID // a receipt without an order id: keyed by the event
		}
		for _, l := range p.Products {
			q := int64(1)
			if l.Quantity != nil {
				q = int64(*l.Quantity)
			}
			o.Lines = append(o.Lines, Line{SKU: cmp.Or(l.SKU, l.ProductID), Category: l.Category, Price: l.Price, Quantity: q})
		}
		if t := cmp.Or(p.Revenue, p.Total); len(o.Lines) == 0 && t != nil {
			o.Total = *t
		}
		_, err := s.earnOrder(ctx, m, o)
		return err
	case eventOrderReturned:
		if p.OrderID == "" || p.ReturnID == "" {
			return nil
		}
		returned := map[string]int64{}
		for _, l := range p.Products {
			q := int64(1)
			if l.Quantity != nil {
				q = int64(*l.Quantity)
			}
			returned[cmp.Or(l.SKU, l.ProductID)] += q
		}
		_, err := s.run(ctx, "reverse", true, posting{Member: m, Kind: KindReverse, Cause: ReturnCause(p.ReturnID), OrderID: p.OrderID,
			Returned: returned, Channel: cmp.Or(p.Channel, e.Channel), StoreID: p.StoreID})
		return err
	case eventOrderCancelled:
		if p.OrderID == "" {
			return nil
		}
		_, err := s.run(ctx, "reverse", true, posting{Member: m, Kind: KindReverse, Cause: CancelCause(p.OrderID), OrderID: p.OrderID,
			Channel: e.Channel, Note: "order cancelled"})
		return err
	}
	for _, b := range bonuses {
		cause := bonusCause(b, m.ProfileID, e.Timestamp, e.SourceID+":"+e.MessageID)
		if _, err := s.run(ctx, "bonus", true, posting{Member: m, Kind: KindBonus, Points: b.Points, Cause: cause,
			Channel: e.Channel, Note: b.ID}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) handleMerge(ctx context.Context, e *event.Event) error {
	var p struct {
		Into   int64 `json:"profileId"`
		Merged int64 `json:"mergedProfileId"`
	}
	if json.Unmarshal(e.Properties, &p) != nil || p.Into == 0 || p.Merged == 0 {
		return nil
	}
	return s.Merge(ctx, p.Merged, p.Into)
}
