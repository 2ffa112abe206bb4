package measure_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlite"
	"github.com/parcours/parcours/internal/unify"
)

// harness runs unify and the measure stage over a real embedded store,
// batch by batch, with a fake clock.
type harness struct {
	t     *testing.T
	ctx   context.Context
	st    store.Store
	clk   *clock.Fake
	zone  *time.Location
	uni   *unify.Processor
	stage *measure.Stage
	eng   *measure.Rollups
	index *segment.Index // what the segment stage would keep, for funnels
	n     int
}

// appender puts the events unify emits (Profile Merged) into the log.
type appender struct{ st store.Store }

func (a appender) Submit(ctx context.Context, events []*event.Event, _ []*event.Rejection) error {
	return a.st.Append(ctx, events, nil)
}

func newHarness(t *testing.T, zone string) *harness {
	t.Helper()
	if onPostgres {
		return newHarnessOn(t, pgStore(t), zone)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return newHarnessOn(t, st, zone)
}

func newHarnessOn(t *testing.T, st store.Store, zone string) *harness {
	t.Helper()
	loc, err := measure.LoadZone(zone)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2025, 1, 20, 12, 0, 0, 0, time.UTC))
	h := &harness{t: t, ctx: context.Background(), st: st, clk: clk, zone: loc}
	h.uni = unify.NewProcessor(st, unify.Options{Clock: clk, Emit: appender{st}})
	h.stage = measure.NewStage(st, measure.Options{Clock: clk, Zone: loc})
	if err := h.stage.Load(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.eng = measure.NewRollups(st, loc, clk)
	h.index = segment.NewIndex()
	h.index.MarkReady()
	h.eng.Index = h.index
	return h
}

// ev is an event to send: who, what, when, where, and its properties.
type ev struct {
	user, anon string
	typ        event.Type
	name       string
	at         string // RFC 3339
	channel    string
	store      string
	source     string
	props      map[string]any
	ctx        map[string]any
}

func (h *harness) send(evs ...ev) {
	h.t.Helper()
	var out []*event.Event
	for _, x := range evs {
		h.n++
		at, err := time.Parse(time.RFC3339, x.at)
		if err != nil {
			h.t.Fatal(err)
		}
		typ := x.typ
		if typ == "" {
			typ = event.Track
		}
		src := x.source
		if src == "" {
			src = "src_" + x.channel
		}
		e := &event.Event{MessageID: fmt.Sprintf("m-%d", h.n), Type: typ, UserID: x.user, AnonymousID: x.anon,
			Timestamp: at, ReceivedAt: h.clk.Now(), SourceID: src, Channel: x.channel, StoreID: x.store}
		if typ == event.Track {
			e.Event = x.name
		} else {
			e.Name = x.name
		}
		if x.props != nil {
			e.Properties, _ = json.Marshal(x.props)
		}
		if x.ctx != nil {
			e.Context, _ = json.Marshal(x.ctx)
		}
		out = append(out, e)
	}
	if err := h.st.Append(h.ctx, out, nil); err != nil {
		h.t.Fatal(err)
	}
}

// catchUp runs unify, then the measure stage, over everything appended,
// in batches of size events.
func (h *harness) catchUp(size int) {
	h.t.Helper()
	for {
		cp, err := h.st.Checkpoint(h.ctx, unify.Consumer)
		if err != nil {
			h.t.Fatal(err)
		}
		batch, err := h.st.ReadAfter(h.ctx, cp, size)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		if err := h.uni.Process(h.ctx, batch); err != nil {
			h.t.Fatal(err)
		}
	}
	for {
		batch, err := h.st.ReadAfter(h.ctx, h.index.Upto(), size)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		owners, merges, err := unify.Owners(h.ctx, h.st, identity.DefaultRules(), batch)
		if err != nil {
			h.t.Fatal(err)
		}
		h.index.Add(batch, owners, merges)
	}
	for {
		cp, err := h.st.Checkpoint(h.ctx, measure.Consumer)
		if err != nil {
			h.t.Fatal(err)
		}
		batch, err := h.st.ReadAfter(h.ctx, cp, size)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		if err := h.stage.Process(h.ctx, batch); err != nil {
			h.t.Fatal(err)
		}
		if err := h.stage.Flush(h.ctx); err != nil {
			h.t.Fatal(err)
		}
	}
}

// kpis asks the engine for a report.
func (h *harness) kpis(q measure.KPIQuery) *measure.KPIReport {
	h.t.Helper()
	r, err := h.eng.KPIs(h.ctx, q)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func kpi(t *testing.T, r *measure.KPIReport, id string) *measure.KPIResult {
	t.Helper()
	for _, k := range r.KPIs {
		if k.ID == id {
			return k
		}
	}
	t.Fatalf("no KPI %s in the report", id)
	return nil
}
