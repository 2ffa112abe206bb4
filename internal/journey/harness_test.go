package journey_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlite"
	"github.com/parcours/parcours/internal/unify"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// world is the log, unify, segments and a journey engine on a fake clock.
type world struct {
	t     testing.TB
	st    *sqlite.Store
	clk   *clock.Fake
	unify *unify.Processor
	seg   *segment.Stage
	eng   *journey.Engine
	rec   *journey.Recorder
	n     int
}

func newWorld(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, st: st, clk: clock.NewFake(t0), rec: &journey.Recorder{}}
	sink := collect.Direct{Appender: st}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	w.unify = unify.NewProcessor(st, unify.Options{Clock: w.clk, Emit: sink, Logger: quiet})
	w.seg = segment.NewStage(st, segment.Options{Clock: w.clk, Emit: sink, Logger: quiet})
	if err := w.seg.Load(ctx); err != nil {
		t.Fatal(err)
	}
	w.eng = w.engine(journey.Options{Sender: w.rec})
	return w
}

// engine starts an engine over the world's store (a restart).
func (w *world) engine(o journey.Options) *journey.Engine {
	o.Clock = w.clk
	o.Emit = collect.Direct{Appender: w.st}
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	e := journey.New(w.st, o)
	if err := e.Load(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	return e
}

func (w *world) apply(src string) []*store.JourneyRecord {
	w.t.Helper()
	defs, err := journey.ParseYAML("test.yaml", strings.NewReader(src))
	if err != nil {
		w.t.Fatal(err)
	}
	recs, err := w.eng.Save(context.Background(), defs)
	if err != nil {
		w.t.Fatal(err)
	}
	return recs
}

// track logs a track event of user now and runs every stage.
func (w *world) track(user, name string, props map[string]any) {
	w.t.Helper()
	b, _ := json.Marshal(props)
	w.log(&event.Event{Type: event.Track, Event: name, UserID: user, Properties: b})
}

func (w *world) identify(user string, traits map[string]any) {
	w.t.Helper()
	b, _ := json.Marshal(traits)
	w.log(&event.Event{Type: event.Identify, UserID: user, Traits: b})
}

func (w *world) log(e *event.Event) {
	w.t.Helper()
	w.n++
	e.MessageID, e.SourceID, e.Channel = fmt.Sprintf("m%d", w.n), "src_web", "web"
	e.Timestamp, e.ReceivedAt = w.clk.Now(), w.clk.Now()
	if err := w.st.Append(context.Background(), []*event.Event{e}, nil); err != nil {
		w.t.Fatal(err)
	}
	w.drain()
}

// drain runs unify, segments and the engine over the log.
func (w *world) drain() {
	w.t.Helper()
	ctx := context.Background()
	for range 5 {
		for _, s := range []struct {
			name string
			fn   func(context.Context, []*event.Event) error
		}{{unify.Consumer, w.unify.Process}, {segment.Consumer, w.seg.Process}, {journey.Consumer, w.eng.Process}} {
			after, _ := w.st.Checkpoint(ctx, s.name)
			events, err := w.st.ReadAfter(ctx, after, 10_000)
			if err != nil {
				w.t.Fatal(err)
			}
			if len(events) > 0 {
				if err := s.fn(ctx, events); err != nil {
					w.t.Fatal(err)
				}
			}
		}
	}
}

// at moves the clock and fires what is due, ticking every 15 minutes
// (steps are timed from the instant they were due, not from the tick).
func (w *world) at(d time.Duration) {
	w.t.Helper()
	for w.clk.Now().Before(t0.Add(d)) {
		next := w.clk.Now().Add(15 * time.Minute)
		if next.After(t0.Add(d)) {
			next = t0.Add(d)
		}
		w.clk.Set(next)
		w.tick()
	}
	w.tick()
}

func (w *world) tick() {
	w.t.Helper()
	if _, err := w.eng.Tick(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	w.drain()
}

func (w *world) profile(user string) int64 {
	w.t.Helper()
	id := identity.Identifier{Kind: identity.UserID, Value: user}
	h, err := w.st.Holders(context.Background(), []identity.Identifier{id})
	if err != nil || h[id] == 0 {
		w.t.Fatalf("no profile for %s: %v", user, err)
	}
	return h[id]
}

func (w *world) enrolments(user string) []*store.Enrolment {
	w.t.Helper()
	all, err := w.st.ProfileEnrolments(context.Background(), []int64{w.profile(user)})
	if err != nil {
		w.t.Fatal(err)
	}
	return all
}

// templates lists what the recorder sent to user, in order.
func (w *world) templates(user string) []string {
	id := w.profile(user)
	var out []string
	for _, s := range w.rec.Sent() {
		if s.Profile == id {
			out = append(out, s.Template)
		}
	}
	return out
}
