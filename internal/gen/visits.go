package gen

// newCustomer draws who customer i is and when they first come.
func (g *Generator) newCustomer(i uint32, arrival int64) *customer {
	c := &customer{idx: i, rng: newRNG(g.seedKey, uint64(i), 1), viewed: [3]int16{-1, -1, -1}}
	r := &c.rng
	c.persona = uint8(r.pick(g.persCum))
	pe := &personas[c.persona]
	phone := chAndroid
	if r.chance(pe.pIOS) {
		phone = chIOS
	}
	c.devs[0], c.ndev = chWeb, 1
	if r.chance(pe.pApp) {
		c.devs[0] = phone
	}
	if r.chance(pe.pTwoDevices) {
		c.devs[1], c.ndev = phone, 2
		if c.devs[0] != chWeb {
			c.devs[1] = chWeb
		}
	}
	set := func(p float64, f uint16) {
		if r.chance(p) {
			c.flags |= f
		}
	}
	set(pe.pAccount, cWantsAccount)
	set(pe.pLoyalty, cWantsLoyalty)
	set(pe.pEmailOK, cEmailOK)
	set(pe.pSMSOK, cSMSOK)
	set(pe.pPush, cPushOK)
	if r.chance(pe.pExisting) {
		c.flags |= cExisting
		if c.has(cWantsAccount) {
			c.flags |= cAccount
		}
		if c.has(cWantsLoyalty) {
			c.flags |= cLoyalty
		}
	}
	c.home = g.cityHome[g.person(c).city]
	c.endAt = never
	if pe.lifeDays > 0 {
		c.endAt = arrival + int64(r.exp(pe.lifeDays)*float64(msDay))
	}
	c.camp = g.firstCampaign(arrival)
	c.nextKind = g.chooseKind(c)
	c.nextAt = g.firstVisit(c, arrival)
	if c.known() {
		g.birthday(c, arrival)
	}
	return c
}

// visit plans the customer's next visit, then schedules the one after.
func (g *Generator) visit(c *customer) {
	at, k, utm := c.nextAt, c.nextKind, c.nextAux
	var end int64
	switch k {
	case sWeb:
		end = g.online(c, at, false, 0)
	case sApp, sFromPush:
		end = g.online(c, at, true, 0)
	case sStore:
		end = g.store(c, at, false)
	case sFromEmail:
		_, hasApp := c.appDevice()
		end = g.online(c, at, hasApp && !c.hasWeb(), utm)
	case sFromSMS:
		end = g.store(c, at, true)
	}
	c.sessions++
	pe := &personas[c.persona]
	c.nextAt, c.nextAux = never, 0
	if (pe.maxSessions == 0 || int(c.sessions) < pe.maxSessions) && end < c.endAt {
		c.nextKind = g.chooseKind(c)
		c.nextAt = g.visitTime(c, end, c.nextKind)
	}
	if c.ovAt != 0 && c.ovAt <= end {
		c.ovAt = 0 // the visit it asked for already happened, in effect
	}
	if c.ovAt != 0 && c.ovAt < c.nextAt {
		c.nextAt, c.nextKind, c.nextAux = c.ovAt, c.ovKind, c.ovAux
		c.ovAt = 0
	}
}

func (c *customer) hasWeb() bool { return c.devs[0] == chWeb || (c.ndev == 2 && c.devs[1] == chWeb) }

// chooseKind draws where the next visit happens, among the customer's
// devices and the stores.
func (g *Generator) chooseKind(c *customer) uint8 {
	pe := &personas[c.persona]
	web, app := pe.mix[0], pe.mix[1]
	if !c.hasWeb() {
		web, app = 0, app+web
	}
	if _, ok := c.appDevice(); !ok {
		web, app = web+app, 0
	}
	x := c.rng.float() * (web + app + pe.mix[2])
	switch {
	case x < web:
		return sWeb
	case x < web+app:
		return sApp
	}
	return sStore
}

// visitTime draws the time of a visit some days after the previous one:
// evenings and weekends online, afternoons and Saturdays in store.
func (g *Generator) visitTime(c *customer, after int64, k uint8) int64 {
	r := &c.rng
	hours, days := onlineHours, g.cal.online
	if k == sStore {
		hours, days = storeHours, g.cal.store
	}
	d := g.cal.pickDay(r, g.cal.day(after), personas[c.persona].gapDays, days)
	if d < 0 {
		return never
	}
	t := g.cal.at(d, r.pick(hours), r)
	if t <= after+20*msMinute {
		if k == sStore {
			return g.cal.nextOpen(after+2*msHour, r, storeHours)
		}
		// Back the same evening.
		t = after + 20*msMinute + int64(r.exp(float64(90*msMinute)))
	}
	return t
}

// firstVisit is the first visit at or after the customer's arrival.
func (g *Generator) firstVisit(c *customer, arrival int64) int64 {
	r := &c.rng
	if c.nextKind == sStore {
		return g.cal.nextOpen(arrival, r, storeHours)
	}
	for d := g.cal.day(arrival); d < len(g.cal.midnight)-1; d++ {
		if t := g.cal.at(d, r.pick(onlineHours), r); t >= arrival {
			return t
		}
	}
	return never
}

// pickProduct draws an article the customer looks at: often one seen
// before, or one that goes with the last one seen (its look), else from
// their favourite categories, their favourite brand often, popular
// articles first (affinity.go).
func (g *Generator) pickProduct(c *customer, r *rng) int32 {
	if c.viewed[0] >= 0 && r.chance(0.25) {
		if v := c.viewed[r.intn(3)]; v >= 0 {
			return int32(v)
		}
	}
	if c.viewed[0] >= 0 && r.chance(pLook) {
		return g.looks[c.viewed[0]][r.intn(companionsPerProduct)]
	}
	cat := r.pick(g.catCum[c.persona])
	list := g.byCat[cat]
	if b := g.byBrand[cat][g.favouriteBrand(c)]; len(b) > 0 && r.chance(pBrand) {
		list = b
	} else if e := g.ethical[cat]; len(e) > 0 && r.chance(personas[c.persona].pEthical) {
		list = e
	}
	u := r.float()
	return list[int(float64(len(list))*u*u)]
}

// Identify trait sets (action.aux of kIdentify, low two bits).
const (
	traitsLogin = iota // the email the customer logs in with
	traitsFull         // everything: sign-up, loyalty enrolment
	traitsGuest        // a guest checkout: contact details, no account
)

// traitsFor packs the trait set with the consents and loyalty card the
// customer has now, since they may change before the identify is rendered.
func (g *Generator) traitsFor(c *customer, set int32) int32 {
	aux := set
	for i, f := range [...]uint16{cEmailOK, cSMSOK, cPushOK, cLoyalty} {
		if c.has(f) {
			aux |= 1 << (2 + i)
		}
	}
	return aux
}
