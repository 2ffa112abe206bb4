package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/loyalty"
	"github.com/parcours/parcours/internal/message"
	assembly "github.com/parcours/parcours/internal/pipeline"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlite"
	"github.com/parcours/parcours/internal/survey"
	"github.com/parcours/parcours/internal/unify"
)

// Files is what a journey file holds: one journey, and the segments it
// needs (documents of kind segment in the same file).
type Files struct {
	Journey  *journey.Definition
	Segments []*segment.Definition
	// Surveys are the surveys its send steps name (kind: survey).
	Surveys []*survey.Definition
}

// ParseJourneyFile reads a journey file: one kind: journey document and
// any number of kind: segment documents.
func ParseJourneyFile(name string, b []byte) (*Files, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out Files
	for i := 1; ; i++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var head struct {
			Kind string `yaml:"kind"`
		}
		_ = doc.Decode(&head)
		raw, err := yaml.Marshal(&doc)
		if err != nil {
			return nil, err
		}
		where := fmt.Sprintf("%s (document %d)", name, i)
		switch head.Kind {
		case "journey":
			if out.Journey != nil {
				return nil, fmt.Errorf("%s: a second journey; the simulator runs one at a time", where)
			}
			defs, err := journey.ParseYAML(where, bytes.NewReader(raw))
			if err != nil {
				return nil, err
			}
			out.Journey = defs[0]
		case "segment":
			defs, err := segment.ParseYAML(where, bytes.NewReader(raw))
			if err != nil {
				return nil, err
			}
			out.Segments = append(out.Segments, defs...)
		case "survey":
			defs, err := survey.ParseYAML(where, bytes.NewReader(raw))
			if err != nil {
				return nil, err
			}
			out.Surveys = append(out.Surveys, defs...)
		default:
			return nil, fmt.Errorf("%s: kind %q: expected journey, segment or survey", where, head.Kind)
		}
	}
	if out.Journey == nil {
		return nil, fmt.Errorf("%s: no document of kind journey", name)
	}
	return &out, nil
}

// pipeline is a Parcours in miniature: a temporary SQLite store and the
// stages serve runs, assembled by the same function from the same
// configuration (internal/pipeline), on a fake clock, driven batch by
// batch; with templates, the message pipeline's consent consumer runs and
// renders the sends.
type pipeline struct {
	st    *sqlite.Store
	clk   *clock.Fake
	rules *identity.Rules
	unify *unify.Stage
	seg   *segment.Stage
	eng   *journey.Engine
	rec   *journey.Recorder
	com   *commerce.Service
	// surveys keeps the surveys the journey's send steps name.
	surveys *survey.Service
	// loy runs the loyalty stage and sweep when the scenario has a
	// programme (loyOn).
	loy   *loyalty.Service
	loyOn bool
	// msgs and rend are set when the scenario runs with templates.
	msgs  *message.Pipeline
	rend  *renderer
	trace []entry
	// timers are the instants the engine set timers for; runs the next
	// instant a schedule runs. The clock stops at each.
	timers, runs []time.Time
	n            int
}

// newPipeline assembles the stages over a new store in dir from o's
// configuration, with the scenario's stores (if it names any) and a fixed
// link secret; with templates, sends are rendered by the message
// pipeline.
func newPipeline(ctx context.Context, dir string, start time.Time, stores []place.Location, templates bool, o Options) (*pipeline, error) {
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	cfg := o.Config
	if len(stores) > 0 {
		cfg.Stores = stores
	}
	cfg.BehaviourIndex = "" // the temporary store's, in memory
	cfg.Messages.Secret = simSecret
	if cfg.Messages.BaseURL == "" {
		cfg.Messages.BaseURL = DefaultPublicURL
	}
	p := &pipeline{st: st, clk: clock.NewFake(start), rec: &journey.Recorder{}}
	rt := assembly.Runtime{Clock: p.clk, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Emit: collect.Direct{Appender: st},
		Sender: p.rec, Trace: p.record, MaxLateness: 100 * 365 * 24 * time.Hour}
	if templates {
		p.rend = &renderer{rec: p.rec, out: map[string]*store.OutboxMessage{}}
		rt.Sender = p.rend
	}
	pl := assembly.New(st, cfg, rt)
	p.rules = pl.Config().Rules
	p.unify, p.seg, p.eng, p.com, p.surveys = pl.Unify, pl.Segments, pl.Journeys, pl.Commerce, pl.Surveys
	p.loy = pl.Loyalty
	if templates {
		p.msgs = pl.Messages
		p.rend.send = assembly.MessageSender{Messages: pl.Messages, Surveys: pl.Surveys}
	}
	return p, nil
}

// entry is a trace entry, or a scripted input (user set).
type entry struct {
	journey.TraceEntry
	user string
}

func (p *pipeline) record(t journey.TraceEntry) {
	p.trace = append(p.trace, entry{TraceEntry: t})
	if !t.Due.IsZero() {
		p.timers = append(p.timers, t.Due)
	}
}

// append logs events as a source would, at the clock's now.
func (p *pipeline) append(ctx context.Context, events ...*event.Event) error {
	for _, e := range events {
		p.n++
		e.MessageID = fmt.Sprintf("sim-%d", p.n)
		e.SourceID, e.Channel = "src_sim", "web"
		e.Timestamp, e.ReceivedAt = p.clk.Now(), p.clk.Now()
	}
	return p.st.Append(ctx, events, nil)
}

// settle runs every stage until the log is drained and no enrolment is
// due now.
func (p *pipeline) settle(ctx context.Context) error {
	for range 50 {
		busy := false
		type stage struct {
			name string
			fn   func(context.Context, []*event.Event) error
		}
		stages := []stage{{unify.Consumer, p.unify.Process}, {segment.Consumer, p.seg.Process}}
		if p.loyOn {
			stages = append(stages, stage{loyalty.Consumer, p.loyalty})
		}
		if p.msgs != nil {
			// As live, journeys read behind the consent consumer too.
			stages = append(stages, stage{message.Consumer, p.consent})
		}
		stages = append(stages, stage{journey.Consumer, p.eng.Process})
		for _, s := range stages {
			after, err := p.st.Checkpoint(ctx, s.name)
			if err != nil {
				return err
			}
			events, err := p.st.ReadAfter(ctx, after, 10_000)
			if err != nil {
				return err
			}
			if len(events) > 0 {
				busy = true
				if err := s.fn(ctx, events); err != nil {
					return fmt.Errorf("%s: %w", s.name, err)
				}
			}
		}
		if p.loyOn {
			// The ledger's events reach the log through commerce's outbox.
			if _, _, err := p.loy.Sweep(ctx); err != nil {
				return err
			}
			if n, err := p.com.Deliver(ctx); err != nil {
				return err
			} else if n > 0 {
				busy = true
			}
		}
		// Timers the segment stage fires append Segment Entered/Exited
		// events: another round reads them.
		if fired, err := p.seg.Tick(ctx); err != nil {
			return err
		} else if fired > 0 {
			busy = true
		}
		n, err := p.eng.Tick(ctx)
		if err != nil {
			return err
		}
		if next := p.eng.NextRun(); !next.IsZero() {
			p.runs = append(p.runs, next)
		}
		if next, err := p.eng.NextDateTimer(ctx); err != nil {
			return err
		} else if !next.IsZero() {
			p.runs = append(p.runs, next)
		}
		if !busy && n == 0 {
			return nil
		}
	}
	return errors.New("the pipeline did not settle in 50 rounds (a loop between journeys and events?)")
}

// loyalty runs the loyalty stage on a batch and saves its checkpoint.
func (p *pipeline) loyalty(ctx context.Context, events []*event.Event) error {
	if err := p.loy.Handle(ctx, events, unify.ProfileFinder{Store: p.st, Rules: p.rules}); err != nil {
		return err
	}
	return p.st.SaveCheckpoint(ctx, loyalty.Consumer, events[len(events)-1].Seq)
}

// pending drops the instants passed from a list and returns it sorted.
func (p *pipeline) pending(list []time.Time) []time.Time {
	slices.SortFunc(list, func(a, b time.Time) int { return a.Compare(b) })
	list = slices.CompactFunc(list, time.Time.Equal)
	return slices.DeleteFunc(list, func(x time.Time) bool { return !x.After(p.clk.Now()) })
}

// advance moves the clock to t, stopping at every timer and schedule run
// on the way so that each fires at its instant.
func (p *pipeline) advance(ctx context.Context, t time.Time) error {
	for {
		p.timers, p.runs = p.pending(p.timers), p.pending(p.runs)
		next := t
		if len(p.timers) > 0 && p.timers[0].Before(next) {
			next = p.timers[0]
		}
		if len(p.runs) > 0 && p.runs[0].Before(next) {
			next = p.runs[0]
		}
		if at, ok, err := p.nextSegmentTimer(ctx, next); err != nil {
			return err
		} else if ok && at.Before(next) {
			next = at
		}
		if !next.Before(t) {
			break
		}
		p.clk.Set(next)
		if err := p.settle(ctx); err != nil {
			return err
		}
	}
	if t.After(p.clk.Now()) {
		p.clk.Set(t)
	}
	return p.settle(ctx)
}

// nextSegmentTimer finds the earliest segment timer (a birthday coming,
// a window passing) after now and before until, to the millisecond, by
// bisecting with the store's due-timer query, so that segment entries
// happen at their instant too.
func (p *pipeline) nextSegmentTimer(ctx context.Context, until time.Time) (time.Time, bool, error) {
	any := func(t time.Time) (bool, error) {
		due, err := p.st.DueSegmentTimers(ctx, t, 1)
		return len(due) > 0, err
	}
	now := p.clk.Now()
	if ok, err := any(until); err != nil || !ok {
		return time.Time{}, false, err
	}
	if ok, err := any(now); err != nil || ok {
		return time.Time{}, false, err // due already: the last settle ran them
	}
	lo, hi := now, until
	for hi.Sub(lo) > time.Millisecond {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Millisecond)
		if !mid.After(lo) {
			break
		}
		ok, err := any(mid)
		if err != nil {
			return time.Time{}, false, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, true, nil
}

// drain fires the engine's timers one after the other until none is
// left, up to limit: the end of a scenario without until.
func (p *pipeline) drain(ctx context.Context, limit time.Time) error {
	for {
		p.timers = p.pending(p.timers)
		if len(p.timers) == 0 || p.timers[0].After(limit) {
			return nil
		}
		if err := p.advance(ctx, p.timers[0]); err != nil {
			return err
		}
	}
}

// profileOf returns the profile of a user id, 0 if none (also when the
// identity rules refuse the id: it links no profile).
func (p *pipeline) profileOf(ctx context.Context, user string) (int64, error) {
	id, why := p.rules.Normalize(identity.Raw{Kind: identity.UserID, Value: user})
	if why != "" {
		return 0, nil
	}
	h, err := p.st.Holders(ctx, []identity.Identifier{id})
	return h[id], err
}

// Run runs a scenario against a journey in a temporary store (removed
// after) and returns the result; with the scenario's templates, if it
// names a directory of them.
func Run(ctx context.Context, f *Files, sc *Scenario) (*Result, error) {
	return RunWith(ctx, f, sc, Options{})
}

// RunWith runs a scenario with options: the templates to render sends
// with, the message policy, the public URL.
func RunWith(ctx context.Context, f *Files, sc *Scenario, o Options) (*Result, error) {
	dir, err := os.MkdirTemp("", "parcours-sim-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	templates := o.templatesDir(sc)
	if err := o.Config.Messages.Policy.Validate(); err != nil {
		return nil, err
	}
	p, err := newPipeline(ctx, dir, sc.Start, sc.Stores, templates != "", o)
	if err != nil {
		return nil, err
	}
	defer p.st.Close()
	if templates != "" {
		n, err := p.msgs.ImportTemplateFiles(ctx, templates)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("templates %s: no template file (ID.json) in it", templates)
		}
	}
	if err := p.seg.Load(ctx); err != nil {
		return nil, err
	}
	if len(f.Segments) > 0 {
		if _, err := p.seg.Save(ctx, f.Segments, nil); err != nil {
			return nil, err
		}
	}
	surveys, err := sc.surveys()
	if err != nil {
		return nil, err
	}
	prog, err := sc.loyaltyProgramme()
	if err != nil {
		return nil, err
	}
	if prog != nil {
		if _, _, err := p.loy.SaveProgramme(ctx, prog); err != nil {
			return nil, err
		}
		p.loyOn = true
	}
	if all := append(append([]*survey.Definition(nil), f.Surveys...), surveys...); len(all) > 0 {
		if _, err := p.surveys.Save(ctx, all); err != nil {
			return nil, err
		}
	}
	if err := p.eng.Load(ctx); err != nil {
		return nil, err
	}
	recs, err := p.eng.Save(ctx, []*journey.Definition{f.Journey})
	if err != nil {
		return nil, err
	}
	res := &Result{Journey: f.Journey.ID, Version: recs[0].Version, Scenario: sc.Name, Start: sc.Start}
	if err := p.seedStock(ctx, sc); err != nil {
		return nil, err
	}
	for _, c := range sc.Customers {
		traits, _ := json.Marshal(c.Traits)
		if err := p.append(ctx, &event.Event{Type: event.Identify, UserID: c.User, Traits: traits}); err != nil {
			return nil, err
		}
	}
	if err := p.settle(ctx); err != nil {
		return nil, err
	}
	var last time.Duration
	for i, a := range sc.Steps {
		if err := p.advance(ctx, sc.Start.Add(time.Duration(a.At))); err != nil {
			return nil, err
		}
		last = time.Duration(a.At)
		if err := p.act(ctx, f.Journey.ID, a, res); err != nil {
			return nil, fmt.Errorf("steps[%d]: %w", i, err)
		}
	}
	if sc.Until != 0 {
		err = p.advance(ctx, sc.Start.Add(time.Duration(sc.Until)))
	} else {
		err = p.drain(ctx, sc.Start.Add(last+365*24*time.Hour))
	}
	if err != nil {
		return nil, err
	}
	res.End = Offset(p.clk.Now().Sub(sc.Start))
	return res, p.finish(ctx, sc, res)
}

// act performs one scripted step.
func (p *pipeline) act(ctx context.Context, journeyID string, a Action, res *Result) error {
	var err error
	in := entry{user: a.User, TraceEntry: journey.TraceEntry{At: p.clk.Now(), Kind: "input"}}
	switch {
	case a.Stock != nil:
		in.user = "(commerce)"
		in.Step, in.What = "stock", fmt.Sprintf("%s at %s: %d on hand", a.Stock.SKU, a.Stock.Store, a.Stock.OnHand)
		p.trace = append(p.trace, in)
		if err := p.setStock(ctx, *a.Stock); err != nil {
			return err
		}
	case a.Enrol:
		in.Step, in.What = "enrol", "enrolled through the API"
		p.trace = append(p.trace, in)
		var id int64
		if id, err = p.profileOf(ctx, a.User); err != nil {
			return err
		}
		if id == 0 {
			if _, why := p.rules.Normalize(identity.Raw{Kind: identity.UserID, Value: a.User}); why != "" {
				return fmt.Errorf("user %q links no profile: the identity rules refuse the id (%s)", a.User, why)
			}
			return fmt.Errorf("user %q is unknown: list them under customers", a.User)
		}
		if _, err := p.eng.Enrol(ctx, journeyID, id); err != nil {
			var refused *journey.RefusedError
			if !errors.As(err, &refused) {
				return err
			}
			p.record(journey.TraceEntry{At: p.clk.Now(), Journey: journeyID, Profile: id, Kind: "enter", What: "not enrolled", Why: refused.Reason})
		}
	case a.Event != "":
		props, _ := json.Marshal(a.Properties)
		in.Step, in.What = "event", a.Event
		if len(a.Properties) > 0 {
			in.What += " " + string(props)
		}
		p.trace = append(p.trace, in)
		err = p.append(ctx, &event.Event{Type: event.Track, Event: a.Event, UserID: a.User, Properties: props})
	default:
		traits, _ := json.Marshal(a.Traits)
		in.Step, in.What = "identify", string(traits)
		p.trace = append(p.trace, in)
		err = p.append(ctx, &event.Event{Type: event.Identify, UserID: a.User, Traits: traits})
	}
	if err != nil {
		return err
	}
	return p.settle(ctx)
}

// seedStock makes the scenario's stores commerce locations and sets the
// stock at +0.
func (p *pipeline) seedStock(ctx context.Context, sc *Scenario) error {
	if len(sc.Stores) == 0 {
		return nil
	}
	locs := make([]*commerce.Location, len(sc.Stores))
	for i, s := range sc.Stores {
		locs[i] = &commerce.Location{ID: s.ID, Name: s.Name, Kind: commerce.KindStore, Lat: s.Lat, Lon: s.Lon, TimeZone: "UTC"}
	}
	if err := p.com.UpsertLocations(ctx, locs); err != nil {
		return fmt.Errorf("stores: %w", err)
	}
	for _, s := range sc.Stock {
		if err := p.setStock(ctx, s); err != nil {
			return err
		}
	}
	return p.settle(ctx)
}

// setStock counts a SKU at a store; commerce's events (Back In Stock)
// enter the log at once. Commerce refuses stock of a SKU the catalog
// lacks: as the scenario's stores become locations, its SKUs become
// products of their own.
func (p *pipeline) setStock(ctx context.Context, s Stock) error {
	known, err := p.com.KnownSKU(ctx, s.SKU)
	if err == nil && !known {
		err = p.com.UpsertProducts(ctx, []*commerce.Product{{ID: s.SKU, Name: s.SKU, Variants: []commerce.Variant{{SKU: s.SKU, Currency: "EUR"}}}})
	}
	if err != nil {
		return fmt.Errorf("stock %s at %s: %w", s.SKU, s.Store, err)
	}
	if _, err := p.com.SetStock(ctx, []commerce.StockLevel{{SKU: s.SKU, Location: s.Store, OnHand: s.OnHand}}); err != nil {
		return fmt.Errorf("stock %s at %s: %w", s.SKU, s.Store, err)
	}
	_, err = p.com.Deliver(ctx)
	return err
}
