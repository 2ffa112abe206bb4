package measure

import (
	"context"
	"slices"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store"
)

// An order counts once per order id, as profiles count it: the earliest
// Order Completed (by time, then message id) gives its time, customer,
// channel and amount, whatever the order the reports arrive in; a
// cancellation takes it out; a refund is counted on its own day. Whenever
// an order's counted form changes, what it added is taken back and its new
// form added, so the rollups never depend on the order of arrival.

// order returns the order with id: the one being changed, else the stored
// one, else a new one for owner. Lock should be held.
func (s *Stage) order(ctx context.Context, id string, owner int64) *store.MeasureOrder {
	if o := s.p.orders[id]; o != nil {
		return o
	}
	got, err := s.st.MeasureOrders(ctx, []string{id})
	s.fail(err)
	o := got[id]
	if o == nil {
		o = &store.MeasureOrder{ID: id, Profile: owner}
	} else {
		o.Profile = s.mergedTo(o.Profile)
	}
	s.p.orders[id] = o
	return o
}

// mergedTo returns the profile id has been merged into since the last
// flush (id itself if none).
func (s *Stage) mergedTo(id int64) int64 {
	for range 64 { // merge chains are short; a cycle cannot loop forever
		into, ok := s.p.mergedInto[id]
		if !ok {
			break
		}
		id = into
	}
	return id
}

// completed counts an Order Completed.
func (s *Stage) completed(ctx context.Context, e *event.Event, owner int64, at time.Time, p *props, storeID string) {
	if !visitChannels[e.Channel] {
		s.seen(ctx, owner, at, e.Channel) // an order by phone: the customer is seen too
	}
	id := p.OrderID
	if id == "" {
		id = "event:" + e.MessageID
	}
	o := s.order(ctx, id, owner)
	if !o.At.IsZero() && (at.After(o.At) || at.Equal(o.At) && e.MessageID >= o.Key) {
		return // a later report of an order already counted
	}
	old := *o
	o.Profile, o.At, o.Key, o.Channel, o.Source, o.Store = owner, at, e.MessageID, e.Channel, e.SourceID, storeID
	o.Fulfillment, o.Cents = fulfillment(e.Channel, p), p.cents()
	s.changed(ctx, &old, o)
}

// cancelled takes an order out of the counts.
func (s *Stage) cancelled(ctx context.Context, id string, owner int64) {
	o := s.order(ctx, id, owner)
	if o.Cancelled {
		return
	}
	old := *o
	o.Cancelled = true
	s.changed(ctx, &old, o)
}

// refunded counts a refund on its day and channel. A refund that names no
// amount gives the whole order back: the order's amount counts as refunded
// on the refund's day (the earliest such refund).
func (s *Stage) refunded(ctx context.Context, e *event.Event, owner int64, at time.Time, day int32, p *props, storeID string) {
	amount, full := p.refund()
	s.p.add(day, "refunds", 1, "channel", e.Channel, "store", storeID)
	if !full {
		s.p.add(day, "refunded", amount, "channel", e.Channel, "store", storeID)
		return
	}
	if p.OrderID == "" {
		return
	}
	o := s.order(ctx, p.OrderID, owner)
	if !o.FullRefundAt.IsZero() && !at.Before(o.FullRefundAt) {
		return
	}
	old := *o
	o.FullRefundAt = at
	s.changed(ctx, &old, o)
}

// changed replaces what old added to the rollups by what o adds.
func (s *Stage) changed(ctx context.Context, old, o *store.MeasureOrder) {
	if old.Counted() {
		s.contribute(ctx, old, -1)
	}
	if o.Counted() {
		s.contribute(ctx, o, 1)
		day := dayOf(o.At, s.o.Zone)
		s.loadDay(ctx, day)
		for _, k := range buyerKeys(o, day) {
			s.sets.add(k, o.Profile)
		}
		s.prof.span(o.Profile, day)
		s.firstOrder(ctx, o.Profile, o)
	}
	if old.Counted() {
		s.recheck(ctx, old)
	}
}

// contribute adds (sign 1) or takes back (-1) what a counted order adds to
// the counters.
func (s *Stage) contribute(ctx context.Context, o *store.MeasureOrder, sign int64) {
	day := dayOf(o.At, s.o.Zone)
	dims := []string{"channel", o.Channel, "source", o.Source, "store", o.Store, "fulfillment", o.Fulfillment}
	s.p.add(day, "orders", sign, dims...)
	s.p.add(day, "revenue", sign*o.Cents, dims...)
	if !o.FullRefundAt.IsZero() {
		s.p.add(dayOf(o.FullRefundAt, s.o.Zone), "refunded", sign*o.Cents, "channel", o.Channel, "store", o.Store)
	}
}

// buyerKeys are the buyer sets a counted order puts its customer in.
func buyerKeys(o *store.MeasureOrder, day int32) []setKey {
	return dimsOf(day, setBuyers, "channel", o.Channel, "source", o.Source, "store", o.Store, "fulfillment", o.Fulfillment)
}

// recheck takes the customer of an order that no longer counts (or counts
// differently) out of the buyer sets no other order of theirs keeps them
// in, and finds their first order again if it was this one.
func (s *Stage) recheck(ctx context.Context, old *store.MeasureOrder) {
	orders := s.profileOrders(ctx, old.Profile)
	day := dayOf(old.At, s.o.Zone)
	s.loadDay(ctx, day)
	for _, k := range buyerKeys(old, day) {
		kept := false
		for _, o := range orders {
			if o.Counted() && dayOf(o.At, s.o.Zone) == day && slices.Contains(buyerKeys(o, day), k) {
				kept = true
				break
			}
		}
		if !kept {
			s.sets.remove(k, old.Profile)
		}
	}
	if p := s.prof.get(old.Profile); p.firstOrder != 0 && p.firstOrder == seconds(old.At) {
		s.setFirstOrder(ctx, old.Profile, nil)
		for _, o := range orders {
			if o.Counted() {
				s.firstOrder(ctx, old.Profile, o)
			}
		}
	}
}

// profileOrders returns every order of a profile: the stored ones (with
// those of profiles merged into it since the last flush) as changed since.
func (s *Stage) profileOrders(ctx context.Context, id int64) []*store.MeasureOrder {
	ids := []int64{id}
	for merged := range s.p.mergedInto {
		if merged != id && s.mergedTo(merged) == id {
			ids = append(ids, merged)
		}
	}
	stored, err := s.st.ProfileOrders(ctx, ids)
	s.fail(err)
	var out []*store.MeasureOrder
	for _, o := range stored {
		if s.p.orders[o.ID] == nil {
			o.Profile = id
			out = append(out, o)
		}
	}
	for _, o := range s.p.orders {
		if o.Profile == id {
			out = append(out, o)
		}
	}
	return out
}

// firstOrder makes o the profile's first order if it is earlier than the
// one recorded (by second, then channel and store).
func (s *Stage) firstOrder(ctx context.Context, id int64, o *store.MeasureOrder) {
	p := s.prof.get(id)
	sec := seconds(o.At)
	if p.firstOrder != 0 && (sec > p.firstOrder || sec == p.firstOrder &&
		o.Channel+"\x00"+o.Store >= s.prof.dict.name(p.ordChannel)+"\x00"+s.prof.dict.name(p.ordStore)) {
		return
	}
	s.setFirstOrder(ctx, id, o)
}

// setFirstOrder records o (nil: none) as the profile's first order, moving
// it between the new customers of the days concerned.
func (s *Stage) setFirstOrder(ctx context.Context, id int64, o *store.MeasureOrder) {
	s.newCustomer(ctx, id, -1)
	p := s.prof.get(id)
	if o == nil {
		p.firstOrder, p.ordChannel, p.ordStore = 0, 0, 0
	} else {
		p.firstOrder, p.ordChannel, p.ordStore = seconds(o.At), s.prof.dict.code(o.Channel), s.prof.dict.code(o.Store)
	}
	s.newCustomer(ctx, id, 1)
	s.prof.touch(id)
}

// newCustomer adds (1) or takes back (-1) the profile as a new customer
// on its first order's day, by that order's channel and store and by how
// the customer was acquired.
func (s *Stage) newCustomer(ctx context.Context, id int64, sign int64) {
	p := s.prof.get(id)
	if p.firstOrder == 0 {
		return
	}
	day := dayOf(fromSeconds(p.firstOrder), s.o.Zone)
	s.loadDay(ctx, day)
	dims := []string{"channel", s.prof.dict.name(p.ordChannel), "store", s.prof.dict.name(p.ordStore), "acquisition", s.prof.dict.name(p.acq)}
	s.p.add(day, "new_customers", sign, dims...)
	for _, k := range dimsOf(day, setNewCustomers, dims...) {
		if sign > 0 {
			s.sets.add(k, id)
		} else {
			s.sets.remove(k, id)
		}
	}
	s.prof.span(id, day)
}

// newVisitor adds (1) or takes back (-1) the profile as a new visitor on
// the day it was first seen, by how it was acquired.
func (s *Stage) newVisitor(ctx context.Context, id int64, sign int64) {
	p := s.prof.get(id)
	if p.firstSeen == 0 {
		return
	}
	day := dayOf(fromSeconds(p.firstSeen), s.o.Zone)
	s.loadDay(ctx, day)
	acq := s.prof.dict.name(p.acq)
	s.p.add(day, "new_visitors", sign, "acquisition", acq)
	for _, k := range dimsOf(day, setNewVisitors, "acquisition", acq) {
		if sign > 0 {
			s.sets.add(k, id)
		} else {
			s.sets.remove(k, id)
		}
	}
	s.prof.span(id, day)
}

// seen records a visit (or an order) of the profile at at, how it came
// (label); the earliest one says when and how it was acquired.
func (s *Stage) seen(ctx context.Context, id int64, at time.Time, label string) {
	p := s.prof.get(id)
	sec := seconds(at)
	if p.firstSeen != 0 && (sec > p.firstSeen || sec == p.firstSeen && label >= s.prof.dict.name(p.acq)) {
		return
	}
	s.newVisitor(ctx, id, -1)
	s.newCustomer(ctx, id, -1) // its acquisition changes
	p.firstSeen, p.acq = sec, s.prof.dict.code(label)
	s.newVisitor(ctx, id, 1)
	s.newCustomer(ctx, id, 1)
	s.prof.touch(id)
}
