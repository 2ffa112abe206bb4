package stories_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/parcours/parcours/internal/journey/sim"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/pipeline"
	"github.com/parcours/parcours/internal/store"
)

// TestSimulatorMatchesLive plays example scenarios twice — in the
// simulator (parcours journey test) and on a live server, through its
// APIs and providers — with the same templates, and checks that the same
// messages come out: when, on which channel, to whom, from which
// template, and the text the customer reads (links' signed tokens
// aside). What a marketer previews is what customers get.
func TestSimulatorMatchesLive(t *testing.T) {
	for _, file := range []string{
		"../../examples/journeys/scenarios/abandoned-cart.yaml",
		"../../examples/journeys/scenarios/browse-abandonment.yaml",
		"../../examples/journeys/scenarios/click-collect-ready.yaml",
		// Best channel: WhatsApp template messages.
		"testdata/scenarios/click-collect-whatsapp.yaml",
	} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sc, err := sim.ParseScenario(file, bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			journeyFile := filepath.Join(filepath.Dir(file), sc.Journey)
			jb, err := os.ReadFile(journeyFile)
			if err != nil {
				t.Fatal(err)
			}
			files, err := sim.ParseJourneyFile(journeyFile, jb)
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			res, err := sim.RunWith(context.Background(), files, sc, sim.Options{Templates: "testdata/templates", Config: pipeline.Config{Messages: message.Options{BaseURL: publicURL}}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("sim %s", time.Since(t0))
			simulated := sortMessages(simMessages(res))
			if len(simulated) == 0 {
				t.Fatal("the simulator sends nothing: nothing to compare")
			}
			t0 = time.Now()
			live := sortMessages(playLive(t, sc, journeyFile, res))
			t.Logf("live %s", time.Since(t0))
			if strings.Join(simulated, "\n") != strings.Join(live, "\n") {
				var out bytes.Buffer
				res.Print(&out)
				t.Fatalf("the simulator's messages:\n%s\n\nlive:\n%s\n\nthe simulation:\n%s",
					strings.Join(simulated, "\n"), strings.Join(live, "\n"), out.String())
			}
			t.Logf("%d messages, the same in both", len(live))
		})
	}
}

// msgLine writes one message for the comparison.
func msgLine(at time.Duration, channel, to, template, text string) string {
	text = tokens.ReplaceAllString(strings.ReplaceAll(text, "\r\n", "\n"), "$1…")
	return fmt.Sprintf("+%s %s %s %s: %q", at, channel, to, template, strings.TrimRight(text, "\n"))
}

// sortMessages orders messages by time, then by channel and address:
// messages of one instant leave the outbox in any order.
func sortMessages(lines []string) []string {
	slices.SortStableFunc(lines, func(a, b string) int {
		da, _ := time.ParseDuration(strings.Fields(a)[0][1:])
		db, _ := time.ParseDuration(strings.Fields(b)[0][1:])
		if c := cmp.Compare(da, db); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return lines
}

// simMessages are the messages the simulator's pipeline would send.
func simMessages(res *sim.Result) []string {
	var out []string
	for _, l := range res.Sends {
		if d := l.Delivery; d != nil && (d.Status == store.MessageQueued || d.Status == store.MessageDeferred) {
			out = append(out, msgLine(time.Duration(l.At), d.Channel, d.To, l.Template, d.Read()))
		}
	}
	return out
}

// playLive plays a scenario on a live server: its stores and stock
// through the commerce API, its customers and events through the
// tracking API, at their times, stopping the clock at every instant the
// simulation did something; it returns the messages the providers got.
func playLive(t *testing.T, sc *sim.Scenario, journeyFile string, res *sim.Result) []string {
	storesFile := filepath.Join(t.TempDir(), "stores.yaml")
	b, _ := yaml.Marshal(sc.Stores)
	if err := os.WriteFile(storesFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if len(sc.Stores) == 0 {
		os.WriteFile(storesFile, []byte("[]\n"), 0o600)
	}
	l := newLive(t, liveOptions{start: sc.Start, stores: storesFile})
	for _, s := range sc.Stores {
		l.call("PUT", "/api/v1/locations/"+s.ID, map[string]any{"name": s.Name, "lat": s.Lat, "lon": s.Lon, "time_zone": "UTC"}, nil)
	}
	stock := func(s sim.Stock) {
		l.call("PUT", "/api/v1/products/"+strings.ToLower(s.SKU), map[string]any{"name": s.SKU,
			"variants": []map[string]any{{"sku": s.SKU, "price": 10, "currency": "EUR"}}}, nil)
		l.call("PUT", "/api/v1/stock/"+s.SKU+"/"+s.Store, map[string]any{"on_hand": s.OnHand}, nil)
	}
	for _, s := range sc.Stock {
		stock(s)
	}
	l.apply(journeyFile)
	for _, c := range sc.Customers {
		l.track("identify", map[string]any{"userId": c.User, "traits": c.Traits})
	}
	l.settle()

	// Every instant the simulation stopped at, with the scenario's steps.
	var instants []time.Duration
	for _, line := range res.Trace {
		instants = append(instants, time.Duration(line.At))
	}
	for _, a := range sc.Steps {
		instants = append(instants, time.Duration(a.At))
	}
	slices.Sort(instants)
	instants = slices.Compact(instants)
	step := 0
	for _, at := range instants {
		l.at(at)
		for ; step < len(sc.Steps) && time.Duration(sc.Steps[step].At) == at; step++ {
			a := sc.Steps[step]
			switch {
			case a.Stock != nil:
				stock(*a.Stock)
			case a.Enrol:
				l.call("POST", "/api/v1/journeys/"+res.Journey+"/enrol", map[string]any{"profile_id": l.profile("user_id=" + a.User)["id"]}, nil)
			case a.Event != "":
				l.track("track", map[string]any{"userId": a.User, "event": a.Event, "properties": a.Properties})
			default:
				l.track("identify", map[string]any{"userId": a.User, "traits": a.Traits})
			}
		}
	}
	l.settle()

	// What the providers received, with the template and the time from
	// the outbox: the n-th message to an address on a channel is the n-th
	// the outbox sent there.
	ctx := context.Background()
	sentMsgs, err := l.st.ListMessages(ctx, store.MessageQuery{Status: store.MessageSent, Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(sentMsgs, func(a, b *store.OutboxMessage) int {
		if c := a.SentAt.Compare(b.SentAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	seen := map[string]int{}
	var out []string
	for _, m := range sentMsgs {
		k := m.Channel + " " + m.Address
		got := l.box.list(m.Channel, m.Address)
		if seen[k] >= len(got) {
			t.Fatalf("the outbox sent %s to %s, the provider did not get it", m.SendKey, m.Address)
		}
		out = append(out, msgLine(m.SentAt.Sub(l.start), m.Channel, m.Address, m.TemplateID, got[seen[k]].text()))
		seen[k]++
	}
	// Nothing reached a provider twice: as many messages as the outbox
	// sent, one per send key.
	if n := len(l.box.list("", "")); n != len(out) {
		t.Fatalf("the providers got %d messages, the outbox sent %d", n, len(out))
	}
	return out
}
