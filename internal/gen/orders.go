package gen

// Call center reasons (action.aux of kCall, low four bits).
var callReasons = [...]string{"delivery_status", "return_request", "product_question", "complaint", "loyalty_points"}

// afterOrder plans what follows an online order: the confirmation email, the
// shipping SMS or, for click & collect, the "ready" SMS and the pick-up at
// the till; then returns, calls and the survey.
func (g *Generator) afterOrder(c *customer, o *order, t int64, dev uint8) {
	r := &c.rng
	g.send(c, tplOrderConfirmation, t+20*msSecond+int64(r.exp(60_000)), 0.75, 0.1)
	switch o.fulfil {
	case homeDelivery:
		g.send(c, tplOrderShipped, g.cal.nextOpen(t+20*msHour, r, officeHours), 0, 0.15)
	case clickCollect:
		ready := g.cal.nextOpen(t+2*msHour+int64(r.exp(float64(20*msHour))), r, storeHours)
		g.send(c, tplPickupReady, ready, 0, 0.1)
		pick := g.cal.nextOpen(ready+msHour+int64(r.exp(float64(30*msHour))), r, storeHours)
		if pick < g.cal.end {
			f := uint8(fUser)
			if c.has(cLoyalty) {
				f |= fLoyalty
			}
			c.add(action{at: pick, kind: kPickedUp, dev: devStore, flags: f, sku: -1, aux: int32(o.store), ord: o})
		}
	}
	g.followUp(c, o, t, false)
}

// afterStoreOrder plans what follows a purchase at a till: an SMS receipt
// for some, then returns, calls and the survey for known customers.
func (g *Generator) afterStoreOrder(c *customer, o *order, t int64, f uint8) {
	r := &c.rng
	if f&fUser != 0 && r.chance(0.4) {
		g.send(c, tplReceipt, t+5*msSecond+int64(r.intn(20_000)), 0, 0.05)
	}
	g.followUp(c, o, t, f&fUser == 0)
}

// followUp plans a possible return (in any store for a web order, as the
// seeds ask), a call to the call center and a satisfaction survey.
func (g *Generator) followUp(c *customer, o *order, t int64, anonymous bool) {
	r := &c.rng
	pe := &personas[c.persona]
	if r.chance(pe.pReturn) {
		back := *o
		if len(o.lines) > 1 && r.chance(0.7) {
			i := r.intn(len(o.lines))
			back.lines = o.lines[i : i+1]
		}
		rt := t + 3*msDay + int64(r.exp(float64(6*msDay)))
		if o.fulfil == inStore || r.chance(0.5) {
			st := c.home
			rt = g.cal.nextOpen(rt, r, storeHours)
			var f uint8
			if c.known() && !anonymous {
				f = fUser
			}
			if c.has(cLoyalty) {
				f |= fLoyalty
			}
			for _, l := range back.lines {
				if rt < g.cal.end {
					c.add(action{at: rt, kind: kReturned, dev: devStore, flags: f, sku: int32(l.p), aux: int32(st), ord: &back})
				}
				rt += 20*msSecond + int64(r.intn(40_000))
			}
			if rt < g.cal.end {
				c.add(action{at: rt, kind: kRefund, dev: devStore, flags: f, sku: -1, aux: int32(st), ord: &back})
			}
		} else if rt < g.cal.end && c.known() {
			c.add(action{at: rt, kind: kRefund, dev: devServer, flags: fUser, sku: -1, aux: -1, ord: &back})
		}
	}
	if !c.known() || anonymous {
		return
	}
	if r.chance(pe.pCall) {
		reason := 2
		switch {
		case o.fulfil == homeDelivery && r.chance(0.6):
			reason = 0
		case r.chance(0.3):
			reason = 1 + r.intn(len(callReasons)-1)
		}
		at := g.cal.nextOpen(t+msDay+int64(r.exp(float64(2*msDay))), r, officeHours)
		if at < g.cal.end {
			csat := min(5, max(1, int(pe.npsMean/2+r.float()*2-0.5)))
			aux := int32(reason | csat<<4 | (60+r.intn(900))<<8)
			c.add(action{at: at, kind: kCall, dev: devServer, flags: fUser, sku: -1, aux: aux, ord: o})
		}
	}
	if r.chance(0.5) {
		at := g.cal.nextOpen(t+7*msDay, r, officeHours)
		if click := g.send(c, tplSurvey, at, 0.4, 0.35); click != 0 && click+2*msMinute < g.cal.end {
			score := int(pe.npsMean + (r.float()+r.float()+r.float()-1.5)*3 + 0.5)
			score = min(10, max(0, score))
			c.add(action{at: click + msMinute + int64(r.intn(60_000)), kind: kSurvey, dev: devServer,
				flags: fUser, sku: -1, aux: int32(score), ord: o})
		}
	}
}
