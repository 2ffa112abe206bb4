package gen

import (
	"slices"
	"time"
)

type channel uint8

// The channels an event is attributed to.
const (
	chWeb channel = iota
	chIOS
	chAndroid
	chPOS
	chEmail
	chSMS
	chCall
)

var channelNames = [...]string{"web", "ios", "android", "pos", "email", "sms", "call_center"}

// Channels lists the channels of the generated events, as Event.Channel
// spells them. A loader needs one source (write key) for each, and one "pos"
// source per store.
func Channels() []string { return slices.Clone(channelNames[:]) }

type medium uint8

const (
	byEmail medium = iota
	bySMS
	byPush
)

// campaign is a message the brand sends: a scheduled marketing campaign, or
// a template that an event triggers (order confirmation, cart reminder ...).
type campaign struct {
	at                      int64 // scheduled send; never for a template
	medium                  medium
	reach                   float64 // share of the eligible customers it targets
	id, name, subject, link string
}

// Templates: the first entries of Generator.campaigns.
const (
	tplOrderConfirmation = iota
	tplOrderShipped
	tplPickupReady
	tplWelcome
	tplLoyaltyWelcome
	tplCartReminder
	tplInStore
	tplBirthday
	tplSurvey
	tplReceipt
)

var templates = []campaign{
	{never, byEmail, 1, "tpl-order-confirmation", "order_confirmation", "Merci pour votre commande !", "/compte/commandes"},
	{never, bySMS, 1, "tpl-order-shipped", "order_shipped", "Votre commande est en route", "/suivi"},
	{never, bySMS, 1, "tpl-pickup-ready", "click_collect_ready", "Votre commande vous attend en magasin", "/magasins"},
	{never, byEmail, 1, "tpl-welcome", "welcome", "Bienvenue chez Parcours", "/nouveautes"},
	{never, byEmail, 1, "tpl-loyalty-welcome", "loyalty_welcome", "Bienvenue dans le programme de fidélité", "/fidelite"},
	{never, byEmail, 1, "tpl-cart-reminder", "abandoned_cart", "Vous avez oublié quelque chose ? -10 % avec MERCI10", "/panier"},
	{never, bySMS, 1, "tpl-in-store", "available_in_store", "Votre article est disponible dans votre magasin", "/magasins"},
	{never, byEmail, 1, "tpl-birthday", "birthday", "Joyeux anniversaire ! -15 % pour vous", "/anniversaire"},
	{never, byEmail, 1, "tpl-survey", "satisfaction_survey", "Votre avis compte : 2 minutes pour nous répondre", "/avis"},
	{never, bySMS, 1, "tpl-receipt", "e_receipt", "Votre ticket de caisse", "/compte/tickets"},
}

var newsletterSubjects = []string{
	"Les nouveautés de la semaine", "Nos baskets préférées du moment", "Sacs & accessoires : la sélection",
	"Vos essentiels en coton bio", "Le retour des vestes légères", "Fabriqué en France : nos ateliers",
}

// makeCampaigns returns the templates followed by the marketing calendar:
// a newsletter every Thursday, push notifications on Wednesday evenings and
// Saturday mornings, SMS on the first Saturday of the month, the first day
// of the sales and Black Friday.
func makeCampaigns(c *calendar) []campaign {
	cs := slices.Clone(templates)
	var sched []campaign
	add := func(d, h, m int, md medium, reach float64, kind, subject string) {
		at := c.midnight[d] + int64(h)*msHour + int64(m)*msMinute
		if at < 0 || at >= c.end {
			return
		}
		date := c.start.Add(time.Duration(c.midnight[d]+12*msHour) * time.Millisecond).Format("2006-01-02")
		sched = append(sched, campaign{at, md, reach, kind + "-" + date, kind, subject, "/selection/" + kind + "-" + date})
	}
	for d := 0; d < len(c.midnight)-1; d++ {
		day := c.start.Add(time.Duration(c.midnight[d]+12*msHour) * time.Millisecond)
		subject := newsletterSubjects[(day.YearDay()/7)%len(newsletterSubjects)]
		_, salesYesterday := season(day.AddDate(0, 0, -1))
		bf := nthWeekday(day.Year(), time.November, time.Thursday, 4).AddDate(0, 0, 1)
		switch {
		case c.sales[d]:
			subject = "Soldes : jusqu'à -50 % sur une sélection"
		case day.Month() == time.December && day.Day() <= 24:
			subject = "Nos idées cadeaux pour Noël"
		}
		switch c.weekday[d] {
		case time.Thursday:
			add(d, 10, 0, byEmail, 0.35, "newsletter", subject)
		case time.Wednesday:
			add(d, 18, 30, byPush, 0.5, "push-midweek", subject)
		case time.Saturday:
			add(d, 11, 0, byPush, 0.5, "push-weekend", subject)
			if day.Day() <= 7 {
				add(d, 11, 30, bySMS, 0.4, "sms-weekend", "Ce week-end en magasin : -20 % sur la 2e pièce")
			}
		}
		if c.sales[d] && !salesYesterday {
			add(d, 9, 0, bySMS, 0.8, "sms-soldes", "C'est parti pour les soldes !")
		}
		if day.Year() == bf.Year() && day.YearDay() == bf.YearDay() {
			add(d, 9, 0, bySMS, 0.8, "sms-black-friday", "Black Friday : -20 % sur tout le site")
		}
	}
	slices.SortStableFunc(sched, func(a, b campaign) int { return cmpInt(a.at, b.at) })
	return append(cs, sched...)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
