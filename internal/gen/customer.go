package gen

import "sort"

// kind is what an action renders to.
type kind uint8

const (
	kPage kind = iota
	kScreen
	kIdentify
	kSignedUp
	kSignedIn
	kSearched
	kListViewed
	kViewed
	kAdded
	kRemoved
	kCartViewed
	kCheckout
	kOrder
	kRefund
	kReturned
	kPickedUp
	kLoyaltyJoined
	kCall
	kEmailDelivered
	kEmailOpened
	kEmailClicked
	kEmailUnsubscribed
	kSMSDelivered
	kSMSClicked
	kPushOpened
	kSurvey
)

// Action devices: a customer's own devices are 0 and 1.
const (
	devStore  = 2 // a till of the store in aux
	devServer = 3 // a provider, the call center or the brand's back office
)

// Action flags.
const (
	fUser     = 1 << iota // the event carries the userId
	fLoyalty              // a POS event carries the loyalty card number
	fCampaign             // context.campaign is set from utm
)

// action is one event to come, planned but not yet rendered: a few words
// rather than its JSON, so that a customer's planned future (a return in ten
// days, a birthday email) costs little to keep.
type action struct {
	at    int64
	ord   *order
	sku   int32 // product, or the send number of a message
	aux   int32 // kind-specific: page type, store, campaign, reason, traits ...
	utm   int32 // utm source and campaign of a landing (see utm.go)
	kind  kind
	dev   uint8
	flags uint8
}

type line struct {
	p   uint16
	qty uint8
}

// order is an order, or a snapshot of a cart when no is 0.
type order struct {
	no      uint32 // the customer's order number
	cart    uint32
	lines   []line
	store   int16 // -1: none
	fulfil  uint8
	payment uint8
	coupon  uint8
	channel channel
}

const (
	homeDelivery = iota
	clickCollect
	inStore
)

// Customer flags.
const (
	cExisting     = 1 << iota // a customer before the period
	cAccount                  // has an online account (a userId)
	cWantsAccount             // will create one at their first order
	cLoyalty                  // holds a loyalty card (a userId too)
	cWantsLoyalty             // will take one at a till
	cEmailOK
	cSMSOK
	cPushOK
	cPOSKnown // a till has sent their identify
	cBirthday // the birthday email is planned
)

// Session kinds.
const (
	sWeb = iota
	sApp
	sStore
	sFromEmail // a web visit from a clicked email or SMS
	sFromPush  // an app visit from an opened notification
	sFromSMS   // a store visit after an "available in store" SMS
)

// customer is the state of one person while they are active.
type customer struct {
	idx       uint32
	persona   uint8
	ndev      uint8
	devs      [2]channel // the kind of their devices: web, ios, android
	linked    uint8      // bit d: device d has sent an identify with the userId
	flags     uint16
	home      int16 // nearest store
	cartDev   uint8
	nextKind  uint8
	sessions  uint16
	orders    uint32
	carts     uint32
	sends     uint32 // messages received, to number them
	seq       uint32 // events rendered, for message ids
	camp      int32  // next campaign to consider
	campReady bool   // camp targets the customer
	nextAux   int32  // utm of an override visit
	viewed    [3]int16
	rng       rng
	nextAt    int64 // next visit
	endAt     int64 // no visits after this (churn)
	ovAt      int64 // an earlier visit caused by a message, or 0
	ovKind    uint8
	ovAux     int32
	key       int64 // time of pending[0], the heap key
	cart      []line
	pending   []action
}

func (c *customer) known() bool { return c.flags&(cAccount|cLoyalty) != 0 }

func (c *customer) has(f uint16) bool { return c.flags&f != 0 }

// add inserts a in time order, after the actions of the same instant.
func (c *customer) add(a action) {
	n := len(c.pending)
	if n == 0 || c.pending[n-1].at <= a.at {
		c.pending = append(c.pending, a)
		return
	}
	i := sort.Search(n, func(i int) bool { return c.pending[i].at > a.at })
	c.pending = append(c.pending, action{})
	copy(c.pending[i+1:], c.pending[i:])
	c.pending[i] = a
}

// pop removes and returns the earliest action.
func (c *customer) pop() action {
	a := c.pending[0]
	n := copy(c.pending, c.pending[1:])
	c.pending[n] = action{} // drop the order pointer for the collector
	c.pending = c.pending[:n]
	// A burst of actions leaves a large array behind; with a million
	// customers waiting, that capacity is most of the memory.
	if n == 0 {
		c.pending = nil
	} else if cap(c.pending) > 4 && n <= cap(c.pending)/4 {
		c.pending = append([]action(nil), c.pending...)
	}
	return a
}

// override asks for a visit at t (a click in a message), if it comes
// before whatever visit is already asked for.
func (c *customer) override(t int64, k uint8, utm int32) {
	if c.ovAt == 0 || t < c.ovAt {
		c.ovAt, c.ovKind, c.ovAux = t, k, utm
	}
}

func (c *customer) remember(p int32) {
	if c.viewed[0] == int16(p) {
		return
	}
	c.viewed[2], c.viewed[1], c.viewed[0] = c.viewed[1], c.viewed[0], int16(p)
}

// queue is a min-heap of customers by the time of their next action.
type queue []*customer

func (q queue) less(i, j int) bool {
	a, b := q[i], q[j]
	return a.key < b.key || (a.key == b.key && a.idx < b.idx)
}

func (q *queue) push(c *customer) {
	*q = append(*q, c)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

// fixTop restores the order after the top's key grew.
func (q queue) fixTop() {
	n, i := len(q), 0
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && q.less(r, l) {
			m = r
		}
		if !q.less(m, i) {
			return
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
}

// popTop removes the top customer.
func (q *queue) popTop() {
	h := *q
	n := len(h) - 1
	h[0] = h[n]
	h[n] = nil
	*q = h[:n]
	(*q).fixTop()
}
