package gen

import "time"

// send plans a message of campaign ci delivered at about at, and the
// customer's reaction to it. It returns when they clicked (for a push: when
// they opened it), or 0.
func (g *Generator) send(c *customer, ci int, at int64, pOpen, pClick float64) int64 {
	cp := &g.campaigns[ci]
	if !c.known() || at >= g.cal.end {
		return 0
	}
	r := &c.rng
	c.sends++
	n := int32(c.sends)
	add := func(k kind, t int64, dev, f uint8) {
		if t < g.cal.end {
			c.add(action{at: t, kind: k, dev: dev, flags: f, sku: n, aux: int32(ci)})
		}
	}
	switch cp.medium {
	case byPush:
		// Apps report the opening of a notification, not its delivery.
		d, ok := c.appDevice()
		if !ok || !r.chance(pOpen) {
			return 0
		}
		var f uint8
		if c.linked&(1<<d) != 0 {
			f = fUser
		}
		t := at + int64(r.exp(float64(40*msMinute)))
		add(kPushOpened, t, d, f)
		return t
	case bySMS:
		add(kSMSDelivered, at, devServer, fUser)
		if !r.chance(pClick) {
			return 0
		}
		t := at + 10*msSecond + int64(r.exp(float64(15*msMinute)))
		add(kSMSClicked, t, devServer, fUser)
		return t
	}
	add(kEmailDelivered, at, devServer, fUser)
	if !r.chance(pOpen) {
		return 0
	}
	open := at + int64(r.exp(float64(10*msMinute)))
	if r.chance(0.6) {
		open += int64(r.exp(float64(5 * msHour)))
	}
	add(kEmailOpened, open, devServer, fUser)
	if cp.at != never && r.chance(0.004) {
		add(kEmailUnsubscribed, open+20*msSecond, devServer, fUser)
		c.flags &^= cEmailOK
		return 0
	}
	if !r.chance(pClick) {
		return 0
	}
	t := open + 5*msSecond + int64(r.exp(float64(40*msSecond)))
	add(kEmailClicked, t, devServer, fUser)
	return t
}

// targets draws whether a scheduled campaign reaches the customer: they
// must be known, have consented to its medium (and have the app for a
// push) and be in the audience it targets.
func (g *Generator) targets(c *customer, ci int) bool {
	cp := &g.campaigns[ci]
	consent := [...]uint16{byEmail: cEmailOK, bySMS: cSMSOK, byPush: cPushOK}[cp.medium]
	if !c.known() || !c.has(consent) {
		return false
	}
	if _, ok := c.appDevice(); cp.medium == byPush && !ok {
		return false
	}
	return c.rng.chance(cp.reach)
}

// campaign plans what a scheduled campaign that targets the customer does
// to them.
func (g *Generator) campaign(c *customer, ci int) {
	cp := &g.campaigns[ci]
	r := &c.rng
	pe := &personas[c.persona]
	engaged := 1.0
	if c.nextAt >= c.endAt {
		engaged = 0.3 // they stopped coming; they mostly stopped reading too
	}
	at := cp.at + int64(r.exp(float64(6*msMinute)))
	switch cp.medium {
	case byEmail:
		if t := g.send(c, ci, at, pe.pOpen*engaged, pe.pClick); t != 0 {
			c.visit(t+10*msSecond, sFromEmail, messageUTM(utmEmail, ci))
		}
	case bySMS:
		if t := g.send(c, ci, at, 0, pe.pClick*0.5*engaged); t != 0 {
			c.visit(t+10*msSecond, sFromEmail, messageUTM(utmSMS, ci))
		}
	case byPush:
		if t := g.send(c, ci, at, pe.pOpen*0.4*engaged, 0); t != 0 {
			c.visit(t+3*msSecond, sFromPush, 0)
		}
	}
}

// welcome follows an account creation: the welcome email, then the
// birthday email.
func (g *Generator) welcome(c *customer, t int64) {
	pe := &personas[c.persona]
	g.send(c, tplWelcome, t+30*msSecond+int64(c.rng.intn(int(2*msMinute))), pe.pOpen+0.3, pe.pClick)
	g.birthday(c, t)
}

// birthday plans the birthday email when the birthday falls in the period.
func (g *Generator) birthday(c *customer, t int64) {
	pe := &personas[c.persona]
	if c.has(cBirthday) || !c.has(cEmailOK) {
		return
	}
	c.flags |= cBirthday
	b := g.person(c).birth
	now := g.cal.start.Add(time.Duration(t) * time.Millisecond)
	for y := now.Year(); y <= now.Year()+1; y++ {
		day := time.Date(y, b.Month(), b.Day(), 9, 0, 0, 0, time.UTC)
		at := day.Add(-parisOffset(day)).Sub(g.cal.start).Milliseconds()
		if at > t {
			if click := g.send(c, tplBirthday, at, pe.pOpen+0.2, pe.pClick+0.1); click != 0 {
				c.visit(click+10*msSecond, sFromEmail, messageUTM(utmEmail, tplBirthday))
			}
			return
		}
	}
}

// remindCart follows an abandoned cart, as the seeds tell it: an email an
// hour later, and if that does not bring them back, an SMS the next day
// saying the article is in their store.
func (g *Generator) remindCart(c *customer, t int64) {
	if !c.known() {
		return
	}
	r := &c.rng
	pe := &personas[c.persona]
	if c.has(cEmailOK) && r.chance(0.7) {
		at := t + msHour + int64(r.exp(float64(20*msMinute)))
		if click := g.send(c, tplCartReminder, at, pe.pOpen+0.15, 0.35); click != 0 {
			c.visit(click+10*msSecond, sFromEmail, messageUTM(utmEmail, tplCartReminder))
			return
		}
	}
	if c.has(cSMSOK) && pe.mix[2] > 0 && r.chance(0.5) {
		at := g.cal.nextOpen(t+20*msHour, r, officeHours)
		click := g.send(c, tplInStore, at, 0, 0.3)
		if at != never && (click != 0 || r.chance(0.25)) {
			c.visit(g.cal.nextOpen(at+msHour+int64(r.exp(float64(20*msHour))), r, storeHours), sFromSMS, 0)
		}
	}
}

// visit asks for a visit at t caused by a message. During a campaign it
// replaces the next visit if earlier; during a visit it is kept for when
// the visit is over.
func (c *customer) visit(t int64, k uint8, utm int32) {
	if t >= never {
		return
	}
	if t < c.nextAt {
		c.nextAt, c.nextKind, c.nextAux = t, k, utm
		return
	}
	c.override(t, k, utm)
}

func (c *customer) appDevice() (uint8, bool) {
	for d := uint8(0); d < c.ndev; d++ {
		if c.devs[d] != chWeb {
			return d, true
		}
	}
	return 0, false
}
