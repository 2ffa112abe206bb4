package profile

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/place"
)

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

// sample builds a varied stream for one customer.
func sample(seed uint64, n int) []*event.Event {
	rng := rand.New(rand.NewPCG(seed, 3))
	channels := []string{"web", "ios", "pos", "email", "sms"}
	var out []*event.Event
	for i := range n {
		e := &event.Event{Seq: int64(i + 1), MessageID: fmt.Sprintf("m%03d", i), SourceID: "src",
			Channel: channels[rng.IntN(len(channels))], UserID: "u",
			// Several events share a timestamp, to exercise tie-breaking.
			Timestamp: t0.Add(time.Duration(rng.IntN(n/2)) * time.Hour)}
		switch rng.IntN(11) {
		case 0:
			e.Type = event.Identify
			e.Traits = json.RawMessage(fmt.Sprintf(`{"city":"c%d","tier":%d,"email":"a@b.fr"}`, rng.IntN(4), rng.IntN(3)))
		case 1:
			e.Type, e.Event = event.Track, "Order Completed"
			e.Properties = json.RawMessage(fmt.Sprintf(`{"revenue":%d.%02d,"store_id":"s%d","products":[{"category":"shoes","brand":"B%d"}]}`, rng.IntN(200), rng.IntN(100), rng.IntN(3), rng.IntN(3)))
		case 2:
			e.Type, e.Event = event.Track, "Product Added"
			e.Properties = json.RawMessage(fmt.Sprintf(`{"sku":"S%d","price":9.5,"quantity":%d}`, rng.IntN(4), 1+rng.IntN(2)))
		case 3:
			e.Type, e.Event = event.Track, "Product Viewed"
			e.Properties = json.RawMessage(fmt.Sprintf(`{"category":"cat%d","brand":"b%d"}`, rng.IntN(5), rng.IntN(5)))
			e.Context = json.RawMessage(fmt.Sprintf(`{"locale":"%s"}`, []string{"fr-FR", "en-GB", "de-DE"}[rng.IntN(3)]))
		case 4:
			e.Type, e.Event = event.Track, "Email Link Clicked"
		case 5:
			e.Type, e.Event = event.Track, "Store Visited"
			e.Context = json.RawMessage(fmt.Sprintf(`{"location":{"latitude":45.7%d,"longitude":4.8%d,"city":"Lyon"}}`, rng.IntN(9), rng.IntN(9)))
		case 6:
			e.Type, e.Event = event.Track, "Product Removed"
			e.Properties = json.RawMessage(fmt.Sprintf(`{"sku":"S%d"}`, rng.IntN(4)))
		case 7:
			// The same order reported by a till and by commerce, with
			// different amounts: one of them counts, whatever comes first.
			e.Type, e.Event = event.Track, "Order Completed"
			e.Properties = json.RawMessage(fmt.Sprintf(`{"order_id":"O%d","total":%d,"products":[{"category":"c%d"}]}`, rng.IntN(3), 10+rng.IntN(90), rng.IntN(2)))
		case 8:
			e.Type, e.Event = event.Track, []string{"Order Refunded", "Refund Issued", "Order Cancelled"}[rng.IntN(3)]
			e.Properties = json.RawMessage(fmt.Sprintf(`{"order_id":"O%d","total":%d}`, rng.IntN(4), rng.IntN(30)))
		case 9:
			if seed%2 == 0 { // half the streams have no commerce cart
				e.Type, e.Event = event.Track, "Product Added"
				e.Properties = json.RawMessage(fmt.Sprintf(`{"sku":"S%d","name":"n%d"}`, rng.IntN(4), rng.IntN(9)))
				break
			}
			// Commerce's cart: the latest snapshot is the cart.
			e.Type, e.Event, e.SourceID, e.Channel = event.Track, "Cart Updated", ParcoursSource, CommerceChannel
			e.Properties = json.RawMessage(fmt.Sprintf(`{"products":[{"sku":"S%d","price":%d,"quantity":%d,"updated_at":%q}]}`,
				rng.IntN(4), rng.IntN(50), 1+rng.IntN(3), e.Timestamp.Add(-time.Duration(rng.IntN(3))*time.Hour).Format(time.RFC3339)))
		default:
			e.Type, e.Event = event.Track, "Order Refunded"
			e.Properties = json.RawMessage(fmt.Sprintf(`{"revenue":%d}`, rng.IntN(20)))
		}
		out = append(out, e)
	}
	return out
}

func build(events []*event.Event) *Profile {
	p := New(1)
	for _, e := range events {
		p.Apply(e)
	}
	return p
}

func view(p *Profile) string {
	env := &Env{Now: t0.Add(1000 * time.Hour), Stores: []place.Location{{ID: "lyon", Lat: 45.76, Lon: 4.83}, {ID: "paris", Lat: 48.85, Lon: 2.35}}}
	traits := map[string]string{}
	for k, t := range p.Traits {
		traits[k] = string(t.Value) + "@" + t.MessageID
	}
	b, _ := json.Marshal(map[string]any{"traits": traits, "computed": Computed(p, env), "stores": p.Agg.Stores})
	return string(b)
}

// TestArrivalOrderDoesNotMatter shuffles the same events: the profile
// (traits with their provenance, every computed trait) must not change.
func TestArrivalOrderDoesNotMatter(t *testing.T) {
	for seed := range uint64(30) {
		events := sample(seed, 60)
		want := view(build(events))
		rng := rand.New(rand.NewPCG(seed, 99))
		for range 10 {
			shuffled := append([]*event.Event(nil), events...)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			if got := view(build(shuffled)); got != want {
				t.Fatalf("seed %d: order changed the profile\n got %s\nwant %s", seed, got, want)
			}
		}
	}
}

// TestMergeEqualsOneStream: splitting a stream between two profiles and
// merging them gives the profile of the whole stream.
func TestMergeEqualsOneStream(t *testing.T) {
	for seed := range uint64(30) {
		events := sample(seed, 60)
		want := view(build(events))
		cut := int(seed) % len(events)
		a, b := build(events[:cut]), build(events[cut:])
		a.Merge(b)
		if got := view(a); got != want {
			t.Fatalf("seed %d: merge differs\n got %s\nwant %s", seed, got, want)
		}
	}
}

func TestComputedTraits(t *testing.T) {
	day := func(d int) time.Time { return t0.Add(time.Duration(d) * 24 * time.Hour) }
	evs := []*event.Event{
		{Type: event.Track, Event: "Product Viewed", Channel: "web", Timestamp: day(0), MessageID: "1", Properties: json.RawMessage(`{"category":"Shoes","brand":"Nord"}`), Context: json.RawMessage(`{"locale":"fr-FR","campaign":{"name":"winter-sale","source":"newsletter"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0"}`)},
		{Type: event.Track, Event: "Product Added", Channel: "web", Timestamp: day(0), MessageID: "2", Properties: json.RawMessage(`{"sku":"SHOE-42","name":"Trail","price":89.9}`)},
		{Type: event.Track, Event: "Order Completed", Channel: "pos", Timestamp: day(1), MessageID: "3", Properties: json.RawMessage(`{"total":89.9,"products":[{"category":"shoes","brand":"Nord"}]}`)},
		{Type: event.Track, Event: "Product Added", Channel: "ios", Timestamp: day(2), MessageID: "4", Properties: json.RawMessage(`{"sku":"BAG-1","quantity":2,"price":40}`), Context: json.RawMessage(`{"locale":"en-GB","device":{"type":"ios","token":"t1"}}`)},
		{Type: event.Track, Event: "Order Completed", Channel: "web", Timestamp: day(0), MessageID: "5", Properties: json.RawMessage(`{"revenue":10.1}`)},
		{Type: event.Track, Event: "SMS Link Clicked", Channel: "sms", Timestamp: day(3), MessageID: "6"},
		{Type: event.Track, Event: "Order Refunded", Channel: "web", Timestamp: day(4), MessageID: "7", Properties: json.RawMessage(`{"total":10.1}`)},
	}
	p := build(evs)
	got := Computed(p, &Env{Now: day(11)})
	b, _ := json.Marshal(got)
	want := `{"average_order_value":44.95,"channels_used":["web","ios","pos","sms"],"current_cart":[{"sku":"BAG-1","price":40,"quantity":2}],` +
		`"days_since_last_purchase":10,"device_type":"mobile","first_seen":"2026-11-01T10:00:00Z","last_campaign":"winter-sale","last_channel":"web","last_location":null,` +
		`"last_order_date":"2026-11-02T10:00:00Z","last_seen":"2026-11-05T10:00:00Z","lifetime_value":89.9,"locale":"en-GB",` +
		`"loyalty_points":null,"loyalty_tier":null,"nearest_store":null,"next_tier_distance":null,` +
		`"order_count":2,"points_expiring_soon":null,"preferred_channel":"sms","rfm":null,"top_brands_bought":["nord"],"top_brands_viewed":["nord"],` +
		`"top_categories_bought":["shoes"],"top_categories_viewed":["shoes"]}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

func TestScoreRFM(t *testing.T) {
	var in []RFMInput
	for i := range 10 {
		in = append(in, RFMInput{Profile: int64(i + 1), LastOrderAt: t0.Add(time.Duration(i) * time.Hour), Orders: 1 + i/2, Revenue: int64(i * 1000)})
	}
	in = append(in, RFMInput{Profile: 99}) // never ordered
	r := ScoreRFM(in, t0)
	if _, ok := r.Scores[99]; ok || len(r.Scores) != 10 {
		t.Fatalf("scores %v", r.Scores)
	}
	if s := r.Scores[10]; s.Score != "555" {
		t.Fatalf("best customer %+v", s)
	}
	if s := r.Scores[1]; s.Score != "111" {
		t.Fatalf("worst customer %+v", s)
	}
	// Profiles 3 and 4 order equally often: same frequency score.
	if r.Scores[3].F != r.Scores[4].F {
		t.Fatalf("ties scored apart: %+v %+v", r.Scores[3], r.Scores[4])
	}
}

// TestDeviceType: the kinds of device read from the user agents the
// browsers send and from the apps' context.device.type.
func TestDeviceType(t *testing.T) {
	for _, c := range []struct{ typ, ua, want string }{
		{"", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "mobile"},
		{"", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36", "mobile"},
		{"", "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36", "tablet"},
		{"", "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15", "tablet"},
		{"", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36", "desktop"},
		{"", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0 Safari/537.36", "desktop"},
		{"", "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36", "tv"},
		{"ios", "", "mobile"},
		{"Android", "", "mobile"},
		{"android", "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UD1A)", "mobile"}, // an app's HTTP library: device.type tells
		{"", "", ""},
		{"toaster", "curl/8.0", ""},
	} {
		if got := DeviceType(c.typ, c.ua); got != c.want {
			t.Errorf("DeviceType(%q, %q) = %q, want %q", c.typ, c.ua, got, c.want)
		}
	}
}
