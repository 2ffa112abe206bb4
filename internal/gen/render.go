package gen

import (
	"strconv"
	"time"
)

var eventNames = [...]string{
	kSignedUp: "Signed Up", kSignedIn: "Signed In", kSearched: "Products Searched",
	kListViewed: "Product List Viewed", kViewed: "Product Viewed", kAdded: "Product Added",
	kRemoved: "Product Removed", kCartViewed: "Cart Viewed", kCheckout: "Checkout Started",
	kOrder: "Order Completed", kRefund: "Order Refunded", kReturned: "Product Returned",
	kPickedUp: "Order Picked Up", kLoyaltyJoined: "Loyalty Program Joined",
	kCall: "Call Center Contacted", kEmailDelivered: "Email Delivered", kEmailOpened: "Email Opened",
	kEmailClicked: "Email Link Clicked", kEmailUnsubscribed: "Unsubscribed",
	kSMSDelivered: "SMS Delivered", kSMSClicked: "SMS Clicked", kPushOpened: "Push Opened",
	kSurvey: "Survey Completed",
}

// render writes the action as one Segment event.
func (g *Generator) render(c *customer, a *action) Event {
	c.seq++
	id := uint64(c.idx)<<24 | uint64(c.seq&0xffffff)
	w := &g.w
	w.b = append(w.b[:0], `{"type":"`...)
	switch a.kind {
	case kPage:
		w.b = append(w.b, "page"...)
	case kScreen:
		w.b = append(w.b, "screen"...)
	case kIdentify:
		w.b = append(w.b, "identify"...)
	default:
		w.b = append(w.b, "track"...)
	}
	w.b = append(w.b, `","messageId":"`...)
	hi := mix64(id ^ g.seedKey)
	w.b = appendUUID(w.b, hi, mix64(hi^0x6d657373616765))
	w.b = append(w.b, '"')
	if a.flags&fUser != 0 {
		w.key("userId")
		w.b = append(w.b, '"')
		w.b = g.appendUserID(w.b, c.idx)
		w.b = append(w.b, '"')
	}
	switch {
	case a.dev < devStore:
		w.key("anonymousId")
		w.b = append(w.b, '"')
		dh := g.deviceHash(c, a.dev)
		w.b = appendUUID(w.b, dh, mix64(dh^0xa))
		w.b = append(w.b, '"')
	case a.flags&fUser == 0:
		// A till sale without a known customer: the receipt is the identity.
		w.key("anonymousId")
		w.b = append(w.b, `"rcpt-`...)
		w.b = appendHex(w.b, mix64(id^g.seedKey^0x7ec), 16)
		w.b = append(w.b, '"')
	}
	ch := g.channelOf(c, a)
	switch a.kind {
	case kPage, kScreen:
		w.str("name", pageNames[a.aux&0xff])
		g.pageProps(w, a, ch)
	case kIdentify:
		g.traits(w, c, a, hi)
	default:
		w.str("event", eventNames[a.kind])
		g.props(w, c, a, hi)
	}
	g.context(w, c, a, ch, hi)
	t := g.cal.start.Add(time.Duration(a.at) * time.Millisecond)
	w.time("timestamp", t)
	w.close()
	ev := Event{Channel: channelNames[ch], Time: t, JSON: append([]byte(nil), w.b...)}
	if ch == chPOS {
		ev.StoreID = g.stores[g.storeOf(a)].ID
	}
	return ev
}

func (g *Generator) channelOf(c *customer, a *action) channel {
	switch a.dev {
	case devStore:
		return chPOS
	case devServer:
		switch a.kind {
		case kEmailDelivered, kEmailOpened, kEmailClicked, kEmailUnsubscribed:
			return chEmail
		case kSMSDelivered, kSMSClicked:
			return chSMS
		case kCall:
			return chCall
		}
		// Refunds of online orders and survey answers come from the web
		// shop's back office.
		return chWeb
	}
	return c.devs[a.dev]
}

func (g *Generator) storeOf(a *action) int {
	if a.kind == kIdentify {
		return int(a.aux >> 8)
	}
	return int(a.aux)
}

func (g *Generator) deviceHash(c *customer, dev uint8) uint64 {
	return hash2(g.seedKey^0xde71ce, uint64(c.idx)<<2|uint64(dev))
}

var (
	webAgents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
		"Mozilla/5.0 (Linux; Android 13; Redmi Note 12) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36",
	}
	iosModels      = []string{"iPhone14,5", "iPhone15,2", "iPhone15,4", "iPhone16,1", "iPhone13,2"}
	iosVersions    = []string{"17.5.1", "17.4", "18.0", "16.7.8"}
	androidModels  = [][2]string{{"samsung", "SM-S911B"}, {"samsung", "SM-A546B"}, {"Google", "Pixel 7"}, {"Xiaomi", "Redmi Note 12"}, {"OnePlus", "CPH2449"}}
	androidVersion = []string{"14", "13", "12"}
	ipPrefixes     = []string{"90", "86", "92", "78", "82", "88", "109", "176", "37", "80"}
)

// context writes the context: library, network and device of the sender,
// locale and time zone, and the page, campaign, store or caller traits
// that go with the channel.
func (g *Generator) context(w *jw, c *customer, a *action, ch channel, hi uint64) {
	w.open("context")
	dh := g.deviceHash(c, a.dev)
	lib := func(name, version string) {
		w.open("library")
		w.str("name", name)
		w.str("version", version)
		w.close()
	}
	ip := func(h uint64) {
		w.key("ip")
		w.b = append(w.b, '"')
		w.b = append(w.b, ipPrefixes[h%uint64(len(ipPrefixes))]...)
		for i := 1; i <= 3; i++ {
			w.b = append(w.b, '.')
			w.b = strconv.AppendUint(w.b, (h>>(8*i))%254+1, 10)
		}
		w.b = append(w.b, '"')
	}
	switch {
	case a.dev < devStore && ch == chWeb:
		lib("analytics.js", "next-1.72.0")
		ip(dh >> 16)
		w.str("userAgent", webAgents[dh%uint64(len(webAgents))])
		g.contextPage(w, a)
		if a.flags&fCampaign != 0 {
			g.writeCampaign(w, a.utm)
		}
	case a.dev < devStore:
		g.contextApp(w, ch, dh, lib)
		ip(hash2(dh, uint64(a.at/msDay)))
	case ch == chPOS:
		lib("parcours-pos", "2.3.0")
		st := g.storeOf(a)
		w.str("storeId", g.stores[st].ID)
		w.open("device")
		w.key("id")
		w.b = append(w.b, '"')
		w.b = append(w.b, g.stores[st].ID...)
		w.b = append(w.b, "-till-"...)
		w.b = strconv.AppendUint(w.b, hi%4+1, 10)
		w.b = append(w.b, '"')
		w.str("type", "pos")
		w.close()
		ip(uint64(st)*0x10101 + 0x51a7)
		if a.flags&fLoyalty != 0 {
			w.open("traits")
			g.loyaltyProp(w, c)
			w.close()
		}
	default:
		switch ch {
		case chEmail:
			lib("parcours-email-webhook", "1.0.0")
		case chSMS:
			lib("parcours-sms-webhook", "1.0.0")
		case chCall:
			lib("parcours-callcenter", "1.4.2")
		default:
			lib("parcours-commerce", "1.0.0")
		}
		ip(0x0a0b0c00 | hi&0xff)
		if ch == chCall {
			p := g.person(c)
			w.open("traits")
			w.key("phone")
			w.b = append(w.b, '"')
			w.b = appendPhone(w.b, p.phone, hi>>8)
			w.b = append(w.b, '"')
			w.close()
		}
	}
	w.str("locale", "fr-FR")
	w.str("timezone", "Europe/Paris")
	w.close()
}

func (g *Generator) contextApp(w *jw, ch channel, dh uint64, lib func(string, string)) {
	ios := ch == chIOS
	if ios {
		lib("analytics-swift", "1.6.1")
	} else {
		lib("analytics-kotlin", "1.17.0")
	}
	w.open("app")
	w.str("name", "Parcours")
	w.str("version", "4.2.1")
	w.str("build", "421")
	w.str("namespace", "fr.parcours.app")
	w.close()
	w.open("device")
	w.key("id")
	w.b = append(w.b, '"')
	w.b = appendUUID(w.b, mix64(dh^0xd1), dh)
	w.b = append(w.b, '"')
	os, version := "iOS", iosVersions[(dh>>12)%uint64(len(iosVersions))]
	if ios {
		w.str("manufacturer", "Apple")
		w.str("model", iosModels[(dh>>8)%uint64(len(iosModels))])
		w.str("type", "ios")
	} else {
		m := androidModels[(dh>>8)%uint64(len(androidModels))]
		w.str("manufacturer", m[0])
		w.str("model", m[1])
		w.str("type", "android")
		os, version = "Android", androidVersion[(dh>>12)%uint64(len(androidVersion))]
	}
	w.close()
	w.open("os")
	w.str("name", os)
	w.str("version", version)
	w.close()
}
