package gen

// planner lays out the actions of one visit, a few seconds to minutes
// apart, on one device.
type planner struct {
	g   *Generator
	c   *customer
	r   *rng
	t   int64
	dev uint8
	app bool
}

func (p *planner) emit(k kind, sku, aux int32, ord *order) {
	p.put(action{kind: k, sku: sku, aux: aux, ord: ord})
}

// put plans a at the planner's time and device, with the userId once the
// device is linked, and the campaign of a landing.
func (p *planner) put(a action) {
	a.at, a.dev = p.t, p.dev
	if p.c.linked&(1<<p.dev) != 0 {
		a.flags |= fUser
	}
	if a.utm != 0 {
		a.flags |= fCampaign
	}
	p.c.add(a)
}

// wait moves the clock by a human pause of about mean seconds.
func (p *planner) wait(mean float64) {
	p.t += 2*msSecond + int64(p.r.exp(mean*1000))
}

// view shows a page (web) or a screen (app); the track event that goes with
// it follows a fraction of a second later, as analytics libraries send them.
func (p *planner) view(pg int, sku int32, utm int32) {
	k := kPage
	if p.app {
		k = kScreen
	}
	p.put(action{kind: k, sku: sku, aux: int32(pg), utm: utm})
	p.t += 150 + int64(p.r.intn(700))
}

// identify links the device to the customer: a sign-up at the first order,
// a log-in on a device not yet linked, or a guest checkout that only gives
// an email address.
func (p *planner) identify(checkout bool) {
	c, g := p.c, p.g
	switch {
	case c.has(cAccount):
		c.linked |= 1 << p.dev
		p.emit(kIdentify, -1, g.traitsFor(c, traitsLogin), nil)
		p.wait(1)
		p.emit(kSignedIn, -1, 0, nil)
	case checkout && (c.has(cWantsAccount) || c.has(cLoyalty)):
		// Loyalty members who never bought online create their account now.
		c.flags |= cAccount
		c.linked |= 1 << p.dev
		p.emit(kIdentify, -1, g.traitsFor(c, traitsFull), nil)
		p.wait(1)
		p.emit(kSignedUp, -1, 0, nil)
		g.welcome(c, p.t)
	case checkout:
		p.emit(kIdentify, -1, g.traitsFor(c, traitsGuest), nil)
	}
	p.wait(5)
}

// online plans a visit of the web shop or the app and returns its end.
func (g *Generator) online(c *customer, at int64, app bool, utm int32) int64 {
	pe := &personas[c.persona]
	p := &planner{g: g, c: c, r: &c.rng, t: at, app: app, dev: c.device(app)}
	r := p.r
	if c.linked&(1<<p.dev) == 0 && c.has(cAccount) && r.chance(0.6) {
		p.identify(false)
	}
	if utm == 0 && c.sessions == 0 && r.chance(pe.pSocial) {
		utm = int32(r.pick(socialCum))
	} else if utm == 0 && r.chance(0.08) {
		utm = utmGoogle
	}
	if utm != 0 && !app {
		// A landing from an ad or a message opens on a product page.
		sku := g.pickProduct(c, r)
		p.view(pgProduct, sku, utm)
		p.put(action{kind: kViewed, sku: sku, utm: utm})
		c.remember(sku)
	} else {
		p.view(pgHome, -1, 0)
	}
	// A cart left on this device, or on another one when both are logged
	// in, makes a checkout more likely: the cart follows the customer.
	both := uint8(1)<<p.dev | uint8(1)<<c.cartDev
	cartBefore := len(c.cart) > 0 && (c.cartDev == p.dev || c.linked&both == both)
	fromMessage := utm&0xf == utmEmail || utm&0xf == utmSMS
	views := r.between(pe.views[0], pe.views[1])
	for i := 0; i < views; i++ {
		p.wait(25)
		var sku int32
		switch x := r.float(); {
		case x < 0.2:
			sku = g.pickProduct(c, r)
			p.view(pgSearch, sku, 0)
			p.emit(kSearched, sku, 0, nil)
			p.wait(8)
		case x < 0.35:
			sku = g.pickProduct(c, r)
			cat := int32(g.catOf[sku])
			p.view(pgCategory|int(cat)<<8, -1, 0)
			p.emit(kListViewed, -1, cat, nil)
			p.wait(10)
		default:
			sku = g.pickProduct(c, r)
		}
		p.view(pgProduct, sku, 0)
		p.emit(kViewed, sku, 0, nil)
		c.remember(sku)
		if len(c.cart) < 4 && r.chance(pe.pAdd) {
			p.wait(30)
			if len(c.cart) == 0 {
				c.carts++
				c.cartDev = p.dev
			}
			qty := uint8(1)
			if r.chance(0.1) {
				qty = 2
			}
			c.cart = append(c.cart, line{uint16(sku), qty})
			p.emit(kAdded, sku, int32(qty), &order{cart: c.carts})
			if r.chance(0.08) {
				p.wait(20)
				c.cart = c.cart[:len(c.cart)-1]
				p.emit(kRemoved, sku, int32(qty), &order{cart: c.carts})
			}
		}
	}
	if len(c.cart) == 0 {
		return p.t
	}
	pCheckout := pe.pCheckout
	if cartBefore {
		pCheckout += 0.2
	}
	if fromMessage {
		pCheckout = 0.8
	}
	if r.chance(pCheckout) {
		g.checkout(p, fromMessage)
	}
	if len(c.cart) > 0 {
		g.remindCart(c, p.t)
	}
	return p.t
}

// checkout plans the cart, checkout and, most often, the order.
func (g *Generator) checkout(p *planner, fromMessage bool) {
	c, r := p.c, p.r
	pe := &personas[c.persona]
	p.wait(15)
	p.view(pgCart, -1, 0)
	p.emit(kCartViewed, -1, 0, c.snapshot())
	p.wait(30)
	p.view(pgCheckout, -1, 0)
	p.emit(kCheckout, -1, 0, c.snapshot())
	pBuy := pe.pBuy
	if fromMessage {
		pBuy = 0.85
	}
	if !r.chance(pBuy) {
		return
	}
	p.wait(40)
	if c.linked&(1<<p.dev) == 0 {
		p.identify(true)
	}
	o := c.snapshot()
	c.orders++
	o.no, o.channel, o.store = c.orders, c.devs[p.dev], -1
	o.payment = uint8(r.intn(3))
	if r.chance(pe.pClickCollect) {
		o.fulfil, o.store = clickCollect, c.home
	}
	if fromMessage {
		o.coupon = 1
	}
	p.wait(60)
	p.emit(kOrder, -1, 0, o)
	p.view(pgConfirmation, -1, 0)
	c.cart = nil
	if c.linked&(1<<p.dev) != 0 {
		g.afterOrder(c, o, p.t, p.dev)
	}
}

// store plans a visit to a store's till. Most visits end with a purchase;
// a visit without one leaves no event.
func (g *Generator) store(c *customer, at int64, fromSMS bool) int64 {
	pe := &personas[c.persona]
	r := &c.rng
	if !r.chance(pe.pStoreBuy) && !(fromSMS && r.chance(0.8)) {
		return at
	}
	st := c.home
	if r.chance(0.1) {
		st = int16(r.intn(len(g.stores)))
	}
	p := &planner{g: g, c: c, r: r, t: at, dev: devStore}
	emit := func(k kind, sku, aux int32, o *order, f uint8) {
		c.add(action{at: p.t, kind: k, dev: devStore, flags: f, sku: sku, aux: aux, ord: o})
	}
	if !c.has(cLoyalty) && c.has(cWantsLoyalty) && r.chance(0.5) {
		c.flags |= cLoyalty | cPOSKnown
		emit(kIdentify, -1, int32(st)<<8|g.traitsFor(c, traitsFull), nil, fUser|fLoyalty)
		p.wait(20)
		emit(kLoyaltyJoined, -1, int32(st), nil, fUser|fLoyalty)
		g.send(c, tplLoyaltyWelcome, p.t+10*msMinute+int64(r.intn(int(msHour))), 0.5, 0.1)
		p.wait(30)
	} else if c.has(cLoyalty) && !c.has(cPOSKnown) {
		c.flags |= cPOSKnown
		emit(kIdentify, -1, int32(st)<<8|g.traitsFor(c, traitsFull), nil, fUser|fLoyalty)
		p.wait(20)
	}
	c.orders++
	o := &order{no: c.orders, store: st, fulfil: inStore, channel: chPOS, payment: uint8(r.intn(4))}
	switch {
	case len(c.cart) > 0 && (fromSMS || r.chance(0.5)):
		o.lines, c.cart = c.cart, nil
	case c.viewed[0] >= 0 && r.chance(0.3):
		o.lines = []line{{uint16(c.viewed[0]), 1}}
	default:
		first := g.pickProduct(c, r)
		o.lines = []line{{uint16(first), 1}}
		if r.chance(0.35) {
			// Often what goes with the first: the associate shows its look.
			second := g.pickProduct(c, r)
			if r.chance(pLook) {
				second = g.looks[first][r.intn(companionsPerProduct)]
			}
			o.lines = append(o.lines, line{uint16(second), 1})
		}
	}
	var f uint8
	if c.has(cLoyalty) {
		f = fLoyalty
		if r.chance(0.7) {
			f |= fUser
		}
	}
	emit(kOrder, -1, int32(st), o, f)
	g.afterStoreOrder(c, o, p.t, f)
	return p.t + 5*msMinute
}

// device returns which of the customer's devices a web or app visit uses.
func (c *customer) device(app bool) uint8 {
	if c.ndev == 2 && (c.devs[1] != chWeb) == app {
		return 1
	}
	return 0
}

// snapshot copies the cart, so that later changes do not alter events
// already planned.
func (c *customer) snapshot() *order {
	return &order{cart: c.carts, lines: append([]line(nil), c.cart...), store: -1}
}
