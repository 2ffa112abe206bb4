package gen

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

var testOpts = Options{Seed: 42, Customers: 800, Days: 45, Start: time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)}

// decoded is a generated event with its JSON parsed.
type decoded struct {
	Event
	Type        string         `json:"type"`
	MessageID   string         `json:"messageId"`
	UserID      string         `json:"userId"`
	AnonymousID string         `json:"anonymousId"`
	Name        string         `json:"event"`
	PageName    string         `json:"name"`
	Properties  map[string]any `json:"properties"`
	Traits      map[string]any `json:"traits"`
	Context     map[string]any `json:"context"`
	Timestamp   string         `json:"timestamp"`
}

var (
	runOnce sync.Once
	run     []decoded
)

// events generates testOpts once and decodes every event.
func events(t *testing.T) []decoded {
	t.Helper()
	runOnce.Do(func() {
		g := New(testOpts)
		for {
			ev, ok := g.Next()
			if !ok {
				break
			}
			d := decoded{Event: ev}
			if err := json.Unmarshal(ev.JSON, &d); err != nil {
				t.Fatalf("event %d is not JSON: %v\n%s", len(run), err, ev.JSON)
			}
			run = append(run, d)
		}
	})
	if len(run) < 5000 {
		t.Fatalf("only %d events", len(run))
	}
	return run
}

func TestSameSeedSameEvents(t *testing.T) {
	a, b, c := New(testOpts), New(testOpts), New(Options{Seed: 43, Customers: 800, Days: 45, Start: testOpts.Start})
	differs := false
	for i := 0; i < 20000; i++ {
		ea, oka := a.Next()
		eb, okb := b.Next()
		ec, _ := c.Next()
		if oka != okb || ea.Channel != eb.Channel || ea.StoreID != eb.StoreID || !bytes.Equal(ea.JSON, eb.JSON) {
			t.Fatalf("event %d differs:\n%s\n%s", i, ea.JSON, eb.JSON)
		}
		differs = differs || !bytes.Equal(ea.JSON, ec.JSON)
		if !oka {
			break
		}
	}
	if !differs {
		t.Error("another seed gave the same events")
	}
}

func TestOrderedInsidePeriod(t *testing.T) {
	start, end := testOpts.Start, testOpts.Start.AddDate(0, 0, testOpts.Days)
	var prev time.Time
	for i, e := range events(t) {
		ts, err := time.Parse(time.RFC3339Nano, e.Timestamp)
		if err != nil || !ts.Equal(e.Time) || ts.Location() != time.UTC {
			t.Fatalf("event %d: timestamp %q (%v) does not match %v", i, e.Timestamp, err, e.Time)
		}
		if ts.Before(prev) {
			t.Fatalf("event %d at %v comes after %v", i, ts, prev)
		}
		if ts.Before(start) || !ts.Before(end) {
			t.Fatalf("event %d at %v is outside [%v, %v)", i, ts, start, end)
		}
		prev = ts
	}
}

func TestValidSegmentEvents(t *testing.T) {
	stores := map[string]bool{}
	for _, s := range New(testOpts).Stores() {
		stores[s.ID] = true
	}
	seen := map[string]bool{}
	for i, e := range events(t) {
		fail := func(why string) { t.Fatalf("event %d: %s\n%s", i, why, e.JSON) }
		switch {
		case e.MessageID == "" || seen[e.MessageID]:
			fail("messageId missing or repeated")
		case e.UserID == "" && e.AnonymousID == "":
			fail("neither userId nor anonymousId")
		case e.Type == "track" && e.Name == "":
			fail("track without event")
		case (e.Type == "page" || e.Type == "screen") && e.PageName == "":
			fail("page or screen without name")
		case e.Type == "identify" && len(e.Traits) == 0:
			fail("identify without traits")
		case e.Type != "track" && e.Type != "page" && e.Type != "screen" && e.Type != "identify":
			fail("unknown type")
		case len(e.JSON) > 32*1024:
			fail("larger than Segment's 32 KB")
		}
		seen[e.MessageID] = true
		ctx := e.Context
		lib, _ := ctx["library"].(map[string]any)
		if lib["name"] == nil || lib["version"] == nil || ctx["ip"] == nil ||
			ctx["locale"] != "fr-FR" || ctx["timezone"] != "Europe/Paris" {
			fail("incomplete context")
		}
		switch e.Channel {
		case "web":
			if e.AnonymousID != "" && ctx["userAgent"] == nil {
				fail("web event without userAgent")
			}
		case "ios", "android":
			if ctx["device"] == nil || ctx["os"] == nil || ctx["app"] == nil {
				fail("app event without device, os or app")
			}
		case "pos":
			if !stores[e.StoreID] || ctx["storeId"] != e.StoreID {
				fail("pos event without its store")
			}
		case "email", "sms", "call_center":
			if e.UserID == "" {
				fail("message or call event without userId")
			}
		default:
			fail("unknown channel " + e.Channel)
		}
	}
}

// TestIdentityStitching checks that a device's anonymous events carry the
// anonymousId its identify later links to the userId, that no device is
// linked to two people, and that some people link two devices.
func TestIdentityStitching(t *testing.T) {
	owner := map[string]string{}    // anonymousId -> userId, from identify
	anonBefore := map[string]bool{} // anonymousIds seen without a userId
	devices := map[string]int{}     // userId -> linked anonymousIds
	stitched := 0
	for i, e := range events(t) {
		a, u := e.AnonymousID, e.UserID
		if a == "" || strings.HasPrefix(a, "rcpt-") {
			continue
		}
		if e.Type == "identify" && u != "" {
			if o, ok := owner[a]; ok && o != u {
				t.Fatalf("event %d: %s is linked to %s and %s", i, a, o, u)
			}
			if _, ok := owner[a]; !ok {
				owner[a] = u
				devices[u]++
				if anonBefore[a] {
					stitched++
				}
			}
			continue
		}
		if u == "" {
			anonBefore[a] = true
		} else if owner[a] != u {
			t.Fatalf("event %d: %s/%s before any identify links them\n%s", i, u, a, e.JSON)
		}
	}
	two := 0
	for _, n := range devices {
		if n > 1 {
			two++
		}
	}
	if stitched < 20 || two < 5 {
		t.Errorf("%d anonymous histories stitched, %d people with two devices", stitched, two)
	}
}

// BenchmarkGenerate measures the generator alone, rendering JSON, over a
// large population (100,000 customers over a year), as `parcours gen` and
// the benchmarks use it.
func BenchmarkGenerate(b *testing.B) {
	o := Options{Seed: 1, Customers: 100_000, Days: 365, Start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	g := New(o)
	var bytes int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		ev, ok := g.Next()
		if !ok {
			g = New(o)
			ev, _ = g.Next()
		}
		bytes += int64(len(ev.JSON))
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)/el, "events/s")
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/event")
}
