package profile

import (
	"github.com/parcours/parcours/internal/place"

	"cmp"
	"math"
	"slices"
	"strings"
	"time"
)

// InternalChannel is the channel of the events Parcours itself appends to
// the log (Profile Merged, Traits Changed, ...). They appear on timelines
// but do not count as customer activity.
const InternalChannel = "internal"

// Env is what computed traits may need besides the profile: the time of
// the read, the stores, the last RFM scoring.
type Env struct {
	Now time.Time
	// Stores are the physical stores, for the nearest-store trait.
	Stores []place.Location
	RFM    *RFM
}

// Definition is one computed trait.
type Definition struct {
	Name  string
	Doc   string
	Value func(p *Profile, env *Env) any // nil when unknown
}

// Definitions are the computed traits, in the order the API shows them. To
// add one: fold what it needs in Aggregates.apply and Aggregates.merge,
// then add a line here.
var Definitions = []Definition{
	{"first_seen", "time of the first event", func(p *Profile, _ *Env) any { return timeOrNil(p.Agg.FirstSeen) }},
	{"last_seen", "time of the latest event", func(p *Profile, _ *Env) any { return timeOrNil(p.Agg.LastSeen) }},
	{"channels_used", "channels the customer was seen on, most used first", func(p *Profile, _ *Env) any { return ranked(p.Agg.Channels, "", 0) }},
	{"last_channel", "channel of the latest event", func(p *Profile, _ *Env) any { return strOrNil(p.Agg.Last.Value) }},
	{"preferred_channel", "channel with the most opens and clicks, else the most used", func(p *Profile, _ *Env) any { return preferred(&p.Agg) }},
	{"order_count", "orders completed (an order_id counts once; cancelled orders do not count)", func(p *Profile, _ *Env) any { return p.Agg.Orders }},
	{"lifetime_value", "revenue of all orders, net of refunds and cancellations", func(p *Profile, _ *Env) any { return float64(p.Agg.Revenue) / 100 }},
	{"average_order_value", "lifetime value / orders", func(p *Profile, _ *Env) any {
		if p.Agg.Orders == 0 {
			return nil
		}
		return math.Round(float64(p.Agg.Revenue)/float64(p.Agg.Orders)) / 100
	}},
	{"last_order_date", "time of the latest order", func(p *Profile, _ *Env) any { return timeOrNil(p.Agg.LastOrderAt) }},
	{"days_since_last_purchase", "whole days since the latest order", func(p *Profile, env *Env) any {
		if p.Agg.LastOrderAt.IsZero() {
			return nil
		}
		return int(env.Now.Sub(p.Agg.LastOrderAt).Hours() / 24)
	}},
	{"rfm", "recency, frequency and monetary quintiles (1-5), from the last scoring", func(p *Profile, env *Env) any {
		if env.RFM == nil {
			return nil
		}
		if s, ok := env.RFM.Scores[p.ID]; ok {
			return s
		}
		return nil
	}},
	{"top_categories_viewed", "three most viewed categories", func(p *Profile, _ *Env) any { return ranked(p.Agg.Viewed, "category:", 3) }},
	{"top_brands_viewed", "three most viewed brands", func(p *Profile, _ *Env) any { return ranked(p.Agg.Viewed, "brand:", 3) }},
	{"top_categories_bought", "three most bought categories", func(p *Profile, _ *Env) any { return ranked(p.Agg.Bought, "category:", 3) }},
	{"top_brands_bought", "three most bought brands", func(p *Profile, _ *Env) any { return ranked(p.Agg.Bought, "brand:", 3) }},
	{"current_cart", "the one cart: commerce's latest Cart Updated, else products added since the last order and not removed", func(p *Profile, _ *Env) any { return cart(&p.Agg) }},
	{"last_location", "latest known position (context.location)", func(p *Profile, _ *Env) any {
		if p.Agg.Location.At.IsZero() {
			return nil
		}
		return p.Agg.Location
	}},
	{"nearest_store", "the store closest to the last known position", func(p *Profile, env *Env) any { return nearest(&p.Agg.Location, env.Stores) }},
	{"device_type", "the kind of device the customer last used: mobile, tablet, desktop or tv (context.device.type, else context.userAgent)", func(p *Profile, _ *Env) any { return strOrNil(p.Agg.Device.Value) }},
	{"last_campaign", "the campaign that last brought the customer (context.campaign.name: utm_campaign)", func(p *Profile, _ *Env) any { return strOrNil(p.Agg.Campaign.Value) }},
	{"locale", "the customer's language: the latest context.locale their devices sent (a locale trait, when set, wins in templates)", func(p *Profile, _ *Env) any {
		if p.Agg.Locale.Value == "" {
			return nil
		}
		return p.Agg.Locale.Value
	}},
}

// Computed evaluates every definition for p.
func Computed(p *Profile, env *Env) map[string]any {
	out := make(map[string]any, len(Definitions))
	for _, d := range Definitions {
		out[d.Name] = d.Value(p, env)
	}
	return out
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func strOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ranked returns the names under prefix, most counted first (ties by name),
// at most n of them (all when n is 0).
func ranked(c map[string]int, prefix string, n int) []string {
	var names []string
	for k := range c {
		if strings.HasPrefix(k, prefix) {
			names = append(names, k)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(c[b], c[a]), cmp.Compare(a, b))
	})
	if n > 0 && len(names) > n {
		names = names[:n]
	}
	for i := range names {
		names[i] = strings.TrimPrefix(names[i], prefix)
	}
	return names
}

func preferred(a *Aggregates) any {
	if top := ranked(a.Engagement, "", 1); len(top) == 1 {
		return top[0]
	}
	for _, ch := range ranked(a.Channels, "", 0) {
		if ch != InternalChannel {
			return ch
		}
	}
	return nil
}

// NearestStore is a store and its distance: the nearest_store computed
// trait.
type NearestStore struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Lat        float64 `json:"lat"`
	Lon        float64 `json:"lon"`
	DistanceKm float64 `json:"distance_km"`
}

func nearest(l *Location, stores []place.Location) any {
	if l.At.IsZero() || (l.Lat == 0 && l.Lon == 0) || len(stores) == 0 {
		return nil
	}
	i, d := place.Nearest(stores, func(s place.Location) (float64, float64) { return s.Lat, s.Lon }, l.Lat, l.Lon)
	s := stores[i]
	return NearestStore{ID: s.ID, Name: s.Name, Lat: s.Lat, Lon: s.Lon, DistanceKm: math.Round(d*10) / 10}
}
