package commerce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
)

// Consumer is the name of commerce's event log consumer (its checkpoint).
const Consumer = "commerce"

// unifyConsumer is the unify stage's checkpoint, which commerce reads
// behind: a cart follows the customer's profile, so the event must be on
// it first. (unify imports the store, which imports commerce.)
const unifyConsumer = "unify"

// eventProfileMerged is unify's event for two profiles becoming one.
const eventProfileMerged = "Profile Merged"

// Log is what the consumer reads: the event log and the checkpoints;
// store.Store implements it.
type Log interface {
	eventlog.Reader
	eventlog.Checkpoints
}

// Run follows the event log until ctx ends, behind the unify stage (n is
// the notifier unify publishes to after each batch), applying what
// commerce reacts to (see Handle).
func (s *Service) Run(ctx context.Context, log Log, n *eventlog.Notifier) error {
	c := &eventlog.Consumer{Name: Consumer, Log: eventlog.Behind{Log: log, Behind: []string{unifyConsumer}, Passed: n}, Checkpoints: log,
		Notifier: n, BatchSize: 500, Poll: time.Second, Yield: s.o.Yield,
		// Nobody reads behind commerce and Handle is idempotent (keyed
		// by event): a checkpoint every half second, not every batch.
		CheckpointEvery: 500 * time.Millisecond}
	return c.Run(ctx, s.Handle)
}

// Handle applies one batch of the log:
//
//   - an "Order Completed" with a store (properties.store_id, else the POS
//     source's store) and products with sku and quantity is a till sale:
//     that store's on-hand stock drops. The adjustment is keyed by the
//     event's source and message id, so a replay, or the same receipt
//     imported twice, decrements once. A receipt for an order placed
//     through commerce (its order_id) changes no stock: the order holds
//     and consumes its own;
//   - any Order Completed, commerce's own included, empties the
//     customer's cart of what was put in before it;
//   - a tracked Product Added or Removed changes the customer's cart
//     (Cart.ApplyTracked), once;
//   - an identify or alias that ties an anonymous id (or a previous id) to
//     a user id merges the anonymous cart into the user's cart, and any
//     identify, alias or profile merge merges every cart of the customer
//     into their one cart.
//
// The customer is the profile unify put the event on (Options.Profiles),
// else the event's identifiers.
func (s *Service) Handle(ctx context.Context, batch []*event.Event) error {
	owners, err := s.owners(ctx, batch)
	if err != nil {
		return err
	}
	carts := s.newCartBatch()
	for i, e := range batch {
		err := s.handle(ctx, carts, e, owners[i])
		var ve *problem.ValidationError
		var ce *StockConstraintError
		if errors.As(err, &ve) || errors.As(err, &ce) {
			// The event itself cannot be applied: retrying would block the
			// log behind it forever.
			s.log.Warn("commerce: event not applied", "event", e.Seq, "messageId", e.MessageID, "err", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("commerce: event %d (%s): %w", e.Seq, e.MessageID, err)
		}
	}
	return carts.flush(ctx)
}

// handle applies one event. Cart changes gather in carts, written at the
// end of the batch, or before a merge (which the store makes in its own
// transaction).
func (s *Service) handle(ctx context.Context, carts *cartBatch, e *event.Event, p *profile.Profile) error {
	switch {
	case e.Type == event.Track && e.Event == EventOrderCompleted:
		if err := s.clearForOrder(ctx, carts, e, CartKeys(p, e)); err != nil {
			return err
		}
		if e.SourceID != SourceID {
			return s.applySale(ctx, e)
		}
		return nil
	case e.Type == event.Track && e.SourceID != SourceID && (e.Event == "Product Added" || e.Event == "Product Removed"):
		return s.applyTracked(ctx, carts, e, CartKeys(p, e))
	case !touchesCart(e):
		return nil
	}
	if err := carts.flush(ctx); err != nil {
		return err
	}
	switch {
	case e.SourceID == SourceID:
		if e.Event == eventProfileMerged && p != nil {
			return s.consolidate(ctx, CartKeys(p, nil))
		}
	case e.Type == event.Identify:
		if e.UserID != "" && e.AnonymousID != "" {
			if _, _, err := s.MergeCart(ctx, "anonymous_id:"+e.AnonymousID, "user_id:"+e.UserID); err != nil {
				return err
			}
		}
		if p != nil {
			return s.consolidate(ctx, CartKeys(p, nil))
		}
	case e.Type == event.Alias:
		if e.UserID != "" && e.PreviousID != "" {
			if _, _, err := s.MergeCart(ctx, "anonymous_id:"+e.PreviousID, "user_id:"+e.UserID); err != nil {
				return err
			}
			if _, _, err := s.MergeCart(ctx, "user_id:"+e.PreviousID, "user_id:"+e.UserID); err != nil {
				return err
			}
		}
		if p != nil {
			return s.consolidate(ctx, CartKeys(p, nil))
		}
	}
	return nil
}

// touchesCart reports whether Handle may change a cart for e (and so
// needs its profile).
func touchesCart(e *event.Event) bool {
	switch {
	case e.Type == event.Track && e.Event == EventOrderCompleted:
		return true
	case e.SourceID == SourceID:
		return e.Event == eventProfileMerged && e.Channel == profile.InternalChannel
	case e.Type == event.Track:
		return e.Event == "Product Added" || e.Event == "Product Removed"
	}
	return e.Type == event.Identify || e.Type == event.Alias
}

// owners returns the profile of each event that touches a cart (nil for
// the others, and for all without Options.Profiles).
func (s *Service) owners(ctx context.Context, batch []*event.Event) ([]*profile.Profile, error) {
	out := make([]*profile.Profile, len(batch))
	if s.o.Profiles == nil {
		return out, nil
	}
	var sub []*event.Event
	var at []int
	for i, e := range batch {
		if touchesCart(e) {
			sub, at = append(sub, e), append(at, i)
		}
	}
	if len(sub) == 0 {
		return out, nil
	}
	ps, err := s.o.Profiles.EventProfiles(ctx, sub)
	if err != nil {
		return nil, fmt.Errorf("commerce: profiles of events %d-%d: %w", sub[0].Seq, sub[len(sub)-1].Seq, err)
	}
	for j, p := range ps {
		out[at[j]] = p
	}
	return out, nil
}

// saleProps are the parts of an Order Completed that a till sale needs.
type saleProps struct {
	StoreID  string `json:"store_id"`
	OrderID  string `json:"order_id"`
	Products []struct {
		SKU      string   `json:"sku"`
		Quantity *float64 `json:"quantity"`
	} `json:"products"`
}

func (s *Service) applySale(ctx context.Context, e *event.Event) error {
	var p saleProps
	if err := json.Unmarshal(e.Properties, &p); err != nil {
		s.log.Warn("commerce: order completed with unreadable properties: stock not adjusted", "event", e.Seq, "err", err)
		return nil
	}
	store := p.StoreID
	if store == "" {
		store = e.StoreID
	}
	if store == "" || len(p.Products) == 0 {
		return nil // an online order: the web shop's stock is not a store's
	}
	if p.OrderID != "" {
		_, err := s.st.Order(ctx, p.OrderID)
		if err == nil {
			return nil // placed through commerce: its reservations hold and consume its stock
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	qty := map[string]int64{}
	var order []string
	for _, l := range p.Products {
		n := int64(1)
		if l.Quantity != nil {
			n = int64(*l.Quantity)
		}
		if l.SKU == "" || n <= 0 {
			s.log.Debug("commerce: sale line without sku or quantity skipped", "event", e.Seq)
			continue
		}
		if _, ok := qty[l.SKU]; !ok {
			order = append(order, l.SKU)
		}
		qty[l.SKU] += n
	}
	var deltas []Delta
	for _, sku := range order {
		deltas = append(deltas, Delta{SKU: sku, Location: store, OnHand: -qty[sku]})
	}
	if len(deltas) == 0 {
		return nil
	}
	key := "pos:" + e.SourceID + ":" + e.MessageID
	now := s.o.Clock.Now()
	changes, applied, err := s.w.AdjustStock(ctx, Adjustment{Key: key, Reason: "sale " + p.OrderID, Deltas: deltas, Clamp: true, At: now}, s.stockOutbox(now))
	if err != nil {
		return err
	}
	for _, c := range changes {
		if want := c.Before.OnHand - qty[c.After.SKU]; c.After.OnHand > want {
			s.shortfalls.note(s.log, now, c.After.SKU, store, qty[c.After.SKU], c.After.OnHand-want, e.Seq)
		}
	}
	if applied {
		s.kick()
	}
	return nil
}

// RunExpiry releases expired reservations every interval until ctx ends.
// Whether a reservation is due is decided by the service's clock, so tests
// drive it with a fake one.
func (s *Service) RunExpiry(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.ExpireDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("commerce: expiring reservations failed", "err", err)
		} else if n > 0 {
			s.log.Log(ctx, slog.LevelInfo, "commerce: released expired reservations", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// shortfallLog reports tills selling more than the recorded free stock
// without a log line per sale: a store whose stock file is stale would
// otherwise write one for most of its receipts. The first is logged in
// full, then at most one summary a minute counts the others (each is
// recorded with its adjustment, so nothing is lost by not logging it).
type shortfallLog struct {
	mu     sync.Mutex
	since  time.Time // the last line written
	missed int       // shortfalls since then, not logged
}

func (l *shortfallLog) note(log *slog.Logger, now time.Time, sku, store string, sold, short, seq int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.since.IsZero() && now.Sub(l.since) < time.Minute {
		l.missed++
		return
	}
	log.Warn("commerce: till sold more than the recorded free stock (the shortfall is recorded with the stock adjustment; "+
		"fix: import a fresh stock count with parcours stock import)", "sku", sku, "store", store,
		"sold", sold, "shortfall", short, "event", seq, "others_since_last_line", l.missed)
	l.since, l.missed = now, 0
}
