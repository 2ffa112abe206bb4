package gen

// Page types of the web shop and screens of the app (action.aux of a page
// or screen action, low byte; the category index above it).
const (
	pgHome = iota
	pgCategory
	pgProduct
	pgSearch
	pgCart
	pgCheckout
	pgConfirmation
)

var pageNames = [...]string{"Home", "Category", "Product", "Search", "Cart", "Checkout", "Order Confirmation"}

// utmSource is where a landing visit comes from. action.utm holds the index
// in its low four bits and, for messages, the campaign index above them.
type utmSource struct{ source, medium, campaign, referrer string }

var utmSources = []utmSource{
	{},
	{"instagram", "social", "printemps-ethique", "https://l.instagram.com/"},
	{"facebook", "social", "collection-capsule", "https://l.facebook.com/"},
	{"tiktok", "social", "haul-baskets", "https://www.tiktok.com/"},
	{"pinterest", "social", "inspiration-mode", "https://www.pinterest.fr/"},
	{"google", "cpc", "marque-parcours", "https://www.google.fr/"},
	{"email", "email", "", ""},
	{"sms", "sms", "", ""},
}

const (
	utmGoogle = 5
	utmEmail  = 6
	utmSMS    = 7
)

var socialCum = cumulate([]float64{0, 0.55, 0.15, 0.2, 0.1})

func messageUTM(src int, campaign int) int32 { return int32(src | campaign<<4) }

// pageInfo returns the path and title of a page; search pages carry their
// query in the path.
func (g *Generator) pageInfo(a *action) (path, title string) {
	switch a.aux & 0xff {
	case pgCategory:
		cat := &categories[a.aux>>8]
		return "/c/" + cat.slug, cat.label + " | Parcours"
	case pgProduct:
		p := &g.products[a.sku]
		return p.URL[len(siteURL):], p.Name + " | Parcours"
	case pgSearch:
		return "/recherche?q=" + queryEscape(g.products[a.sku].query), "Recherche | Parcours"
	case pgCart:
		return "/panier", "Mon panier | Parcours"
	case pgCheckout:
		return "/commande", "Commande | Parcours"
	case pgConfirmation:
		return "/commande/confirmation", "Merci ! | Parcours"
	}
	return "/", "Parcours : mode éthique et confortable"
}

// appendCampaignQuery writes the utm parameters of a landing URL.
func (g *Generator) appendCampaignQuery(b []byte, utm int32) []byte {
	s := &utmSources[utm&0xf]
	b = append(b, "?utm_source="...)
	b = append(b, s.source...)
	b = append(b, "&utm_medium="...)
	b = append(b, s.medium...)
	b = append(b, "&utm_campaign="...)
	return append(b, g.utmCampaign(utm)...)
}

func (g *Generator) utmCampaign(utm int32) string {
	if s := &utmSources[utm&0xf]; s.campaign != "" {
		return s.campaign
	}
	return g.campaigns[utm>>4].id
}

// writeCampaign writes context.campaign.
func (g *Generator) writeCampaign(w *jw, utm int32) {
	s := &utmSources[utm&0xf]
	w.open("campaign")
	w.str("name", g.utmCampaign(utm))
	w.str("source", s.source)
	w.str("medium", s.medium)
	w.close()
}

func queryEscape(q string) string {
	b := []byte(q)
	for i, c := range b {
		if c == ' ' {
			b[i] = '+'
		}
	}
	return string(b)
}

// pageProps writes the properties of a page or screen call.
func (g *Generator) pageProps(w *jw, a *action, ch channel) {
	w.open("properties")
	if ch != chWeb {
		switch a.aux & 0xff {
		case pgProduct:
			p := &g.products[a.sku]
			w.str("product_id", p.ID)
			w.str("product_name", p.Name)
		case pgCategory:
			w.str("category", categories[a.aux>>8].slug)
		}
		w.close()
		return
	}
	path, title := g.pageInfo(a)
	w.str("path", path)
	w.str("title", title)
	g.pageURL(w, path, a)
	if a.flags&fCampaign != 0 {
		if ref := utmSources[a.utm&0xf].referrer; ref != "" {
			w.str("referrer", ref)
		}
	}
	w.close()
}

func (g *Generator) pageURL(w *jw, path string, a *action) {
	w.key("url")
	w.b = append(w.b, '"')
	w.b = append(w.b, siteURL...)
	w.b = append(w.b, path...)
	if a.flags&fCampaign != 0 {
		w.b = g.appendCampaignQuery(w.b, a.utm)
	}
	w.b = append(w.b, '"')
}

// contextPage writes context.page of a web event: the page it happened on.
func (g *Generator) contextPage(w *jw, a *action) {
	pa := *a
	switch a.kind {
	case kPage:
	case kViewed, kAdded, kRemoved:
		pa.aux = pgProduct
	case kSearched:
		pa.aux = pgSearch
	case kListViewed:
		pa.aux = pgCategory | a.aux<<8
	case kCartViewed:
		pa.aux = pgCart
	case kOrder:
		pa.aux = pgConfirmation
	default:
		pa.aux = pgCheckout
	}
	path, _ := g.pageInfo(&pa)
	w.open("page")
	w.str("path", path)
	g.pageURL(w, path, &pa)
	w.close()
}
