package gen

var (
	webPayments   = [...]string{"card", "paypal", "apple_pay"}
	storePayments = [...]string{"card", "contactless", "cash", "gift_card"}
	fulfilments   = [...]string{"home_delivery", "click_and_collect", "in_store"}
	coupons       = [...]string{"", "MERCI10"}
)

// props writes the properties of a track event.
func (g *Generator) props(w *jw, c *customer, a *action, hi uint64) {
	w.open("properties")
	switch a.kind {
	case kSignedUp, kSignedIn:
		w.str("method", "email")
	case kSearched:
		w.str("query", g.products[a.sku].query)
	case kListViewed:
		cat := &categories[a.aux]
		w.str("list_id", "cat-"+cat.slug)
		w.str("category", cat.slug)
		w.openArray("products")
		for i, p := range g.byCat[a.aux][:4] {
			w.open("")
			w.frag(g.products[p].short)
			w.int("position", int64(i+1))
			w.close()
		}
		w.closeArray()
	case kViewed:
		w.frag(g.products[a.sku].full)
	case kAdded, kRemoved:
		w.frag(g.products[a.sku].full)
		w.int("quantity", int64(a.aux))
		g.cartID(w, "cart_id", c, a.ord)
	case kCartViewed:
		g.cartID(w, "cart_id", c, a.ord)
		g.lines(w, a.ord.lines)
	case kCheckout:
		g.cartID(w, "checkout_id", c, a.ord)
		m := g.amounts(a.ord)
		w.euros("value", m.subtotal)
		w.euros("revenue", m.revenue)
		w.str("currency", "EUR")
		g.lines(w, a.ord.lines)
	case kOrder:
		g.orderProps(w, c, a)
	case kRefund, kReturned:
		g.returnProps(w, c, a)
	case kPickedUp:
		g.orderID(w, c, a.ord)
		w.str("store_id", g.stores[a.aux].ID)
		w.str("fulfillment", fulfilments[clickCollect])
		g.loyalty(w, c, a)
	case kLoyaltyJoined:
		g.loyaltyProp(w, c)
		w.str("store_id", g.stores[a.aux].ID)
		w.str("tier", "essentiel")
	case kCall:
		w.str("reason", callReasons[a.aux&0xf])
		g.orderID(w, c, a.ord)
		w.int("duration_seconds", int64(a.aux>>8))
		w.key("agent_id")
		w.b = append(w.b, `"agent-`...)
		w.b = appendPadded(w.b, hi%40+1, 3)
		w.b = append(w.b, '"')
		w.str("queue", "service-client")
		w.int("csat", int64(a.aux>>4&0xf))
		w.bool("resolved", a.aux>>4&0xf >= 3)
	case kSurvey:
		w.str("survey_id", "nps-post-achat")
		w.str("survey_type", "nps")
		w.int("score", int64(a.aux))
		g.orderID(w, c, a.ord)
	default:
		g.messageProps(w, c, a)
	}
	w.close()
}

func (g *Generator) orderProps(w *jw, c *customer, a *action) {
	o := a.ord
	m := g.amounts(o)
	g.orderID(w, c, o)
	if o.fulfil == inStore {
		w.str("affiliation", g.stores[o.store].Name)
	} else {
		g.cartID(w, "checkout_id", c, o)
		g.cartID(w, "cart_id", c, o)
		w.str("affiliation", "Parcours "+channelNames[o.channel])
	}
	w.euros("total", m.total)
	w.euros("subtotal", m.subtotal)
	w.euros("revenue", m.revenue)
	w.euros("shipping", m.shipping)
	w.euros("tax", m.tax)
	w.euros("discount", m.discount)
	if o.coupon != 0 {
		w.str("coupon", coupons[o.coupon])
	}
	w.str("currency", "EUR")
	if o.fulfil == inStore {
		w.str("payment_method", storePayments[o.payment%4])
	} else {
		w.str("payment_method", webPayments[o.payment%3])
	}
	w.str("fulfillment", fulfilments[o.fulfil])
	if o.store >= 0 {
		w.str("store_id", g.stores[o.store].ID)
	}
	g.loyalty(w, c, a)
	g.lines(w, o.lines)
}

// returnProps writes a Product Returned (one article, at a till) or an
// Order Refunded (what the return gives back).
func (g *Generator) returnProps(w *jw, c *customer, a *action) {
	o := a.ord
	if a.kind == kReturned {
		w.frag(g.products[a.sku].short)
		w.int("quantity", 1)
	}
	g.orderID(w, c, o)
	if a.kind == kRefund {
		m := g.amounts(o)
		w.euros("total", m.subtotal)
		w.euros("revenue", m.revenue)
		w.str("currency", "EUR")
	}
	if a.dev == devStore {
		w.str("return_channel", "store")
		w.str("store_id", g.stores[a.aux].ID)
	} else {
		w.str("return_channel", "mail")
	}
	w.str("reason", [...]string{"size", "changed_mind", "defective", "not_as_described"}[c.seq%4])
	g.loyalty(w, c, a)
	if a.kind == kRefund {
		g.lines(w, o.lines)
	}
}

// messageProps writes the properties of an email, SMS or push event.
func (g *Generator) messageProps(w *jw, c *customer, a *action) {
	cp := &g.campaigns[a.aux]
	prefix := [...]string{byEmail: "email_id", bySMS: "sms_id", byPush: "push_id"}[cp.medium]
	w.key(prefix)
	w.b = append(w.b, '"')
	w.b = append(w.b, prefix[:len(prefix)-3]...)
	w.b = append(w.b, '_')
	w.b = appendHex(w.b, hash2(g.seedKey^uint64(c.idx), uint64(a.sku)), 16)
	w.b = append(w.b, '"')
	w.str("campaign_id", cp.id)
	w.str("campaign_name", cp.name)
	switch cp.medium {
	case byEmail:
		w.str("email_subject", cp.subject)
	case bySMS:
		w.str("message", cp.subject)
	default:
		w.str("title", cp.subject)
	}
	if a.kind == kEmailClicked || a.kind == kSMSClicked {
		w.key("link_url")
		src := utmEmail
		if cp.medium == bySMS {
			src = utmSMS
		}
		w.b = append(w.b, '"')
		w.b = append(w.b, siteURL...)
		w.b = append(w.b, cp.link...)
		w.b = g.appendCampaignQuery(w.b, messageUTM(src, int(a.aux)))
		w.b = append(w.b, '"')
	}
}

func (g *Generator) lines(w *jw, ls []line) {
	w.openArray("products")
	for i, l := range ls {
		w.open("")
		w.frag(g.products[l.p].short)
		w.int("quantity", int64(l.qty))
		w.int("position", int64(i+1))
		w.close()
	}
	w.closeArray()
}

func (g *Generator) orderID(w *jw, c *customer, o *order) {
	w.key("order_id")
	if o.fulfil == inStore {
		w.b = append(w.b, `"TKT-`...)
	} else {
		w.b = append(w.b, `"CMD-`...)
	}
	w.b = appendPadded(w.b, uint64(c.idx)<<12|uint64(o.no&0xfff), 10)
	w.b = append(w.b, '"')
}

func (g *Generator) cartID(w *jw, key string, c *customer, o *order) {
	w.key(key)
	w.b = append(w.b, `"`...)
	w.b = append(w.b, key[:len(key)-3]...)
	w.b = append(w.b, '_')
	w.b = appendHex(w.b, uint64(c.idx)<<16|uint64(o.cart&0xffff), 12)
	w.b = append(w.b, '"')
}

// loyalty writes the loyalty card number of a till event that has it.
func (g *Generator) loyalty(w *jw, c *customer, a *action) {
	if a.flags&fLoyalty != 0 {
		g.loyaltyProp(w, c)
	}
}

func (g *Generator) loyaltyProp(w *jw, c *customer) {
	w.key("loyaltyId")
	w.b = append(w.b, '"')
	w.b = appendLoyalty(w.b, g.person(c).loyalty)
	w.b = append(w.b, '"')
}

type amounts struct{ subtotal, discount, tax, shipping, total, revenue int64 }

// amounts computes an order's figures in cents. Prices include 20 % VAT,
// as French shop prices do; revenue excludes tax and shipping.
func (g *Generator) amounts(o *order) amounts {
	var m amounts
	for _, l := range o.lines {
		m.subtotal += g.products[l.p].cents * int64(l.qty)
	}
	if o.coupon != 0 {
		m.discount = m.subtotal / 10
		m.subtotal -= m.discount
	}
	m.tax = m.subtotal - m.subtotal*100/120
	if o.fulfil == homeDelivery && m.subtotal < 6000 {
		m.shipping = 490
	}
	m.total = m.subtotal + m.shipping
	m.revenue = m.subtotal - m.tax
	return m
}
