package measure

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/segment"
)

// FunnelIndex is where funnels read customers' events: the segments'
// behaviour index (segment.Index), which keeps every tracked event's
// profile, time, channel and properties in memory.
type FunnelIndex interface {
	Ready() bool
	View(fn func(v *segment.IndexView) error) error
}

// The orders a funnel's steps may be done in.
const (
	// OrderSequence: the steps in order; other events may come between.
	OrderSequence = "sequence"
	// OrderStrict: the steps in order, with no other tracked event of the
	// customer between two steps.
	OrderStrict = "strict"
	// OrderAny: every step, in any order, within the window.
	OrderAny = "any"
)

// maxSteps bounds a funnel's steps.
const maxSteps = 12

// FunnelQuery is a funnel: ordered steps, each an event with property
// filters (and, if set, a channel), done by the same customer (the
// unified profile, across devices and channels) within Window of the
// first step, the first step in [From, To].
type FunnelQuery struct {
	From   string           `json:"from,omitempty" yaml:"from,omitempty"`
	To     string           `json:"to,omitempty" yaml:"to,omitempty"`
	Steps  []FunnelStep     `json:"steps" yaml:"steps"`
	Window segment.Duration `json:"window,omitempty" yaml:"window,omitempty"` // default 7d
	Order  string           `json:"order,omitempty" yaml:"order,omitempty"`   // sequence (default), strict, any
}

// FunnelStep is one step: an event, its property filters (as segments'
// performed conditions write them: a value, a list of values, dotted
// keys), and optionally the channel it must happen on (a channel or a
// group: app, store).
type FunnelStep struct {
	Name    string         `json:"name,omitempty" yaml:"name,omitempty"`
	Event   string         `json:"event" yaml:"event"`
	Where   map[string]any `json:"where,omitempty" yaml:"where,omitempty"`
	Channel string         `json:"channel,omitempty" yaml:"channel,omitempty"`
}

// check validates the query and fills the defaults.
func (q *FunnelQuery) check() error {
	if len(q.Steps) < 2 || len(q.Steps) > maxSteps {
		return problem.Invalid("steps", fmt.Sprintf("a funnel has 2 to %d steps, not %d", maxSteps, len(q.Steps)))
	}
	for i := range q.Steps {
		s := &q.Steps[i]
		s.Event = strings.TrimSpace(s.Event)
		if s.Event == "" {
			return problem.Invalid(fmt.Sprintf("steps[%d].event", i), "is required: the event's name, like Product Added")
		}
		if s.Name == "" {
			s.Name = s.Event
		}
		if all := segment.Channels(); s.Channel != "" && !slices.Contains(all, s.Channel) {
			return problem.Invalid(fmt.Sprintf("steps[%d].channel", i), fmt.Sprintf("%q is not a channel (%s)", s.Channel, strings.Join(all, ", ")))
		}
	}
	switch q.Order {
	case "":
		q.Order = OrderSequence
	case OrderSequence, OrderStrict, OrderAny:
	default:
		return problem.Invalid("order", fmt.Sprintf("%q is not sequence, strict or any", q.Order))
	}
	if q.Window == 0 {
		q.Window = segment.Duration(7 * 24 * time.Hour)
	}
	if q.Window < 0 || time.Duration(q.Window) > 366*24*time.Hour {
		return problem.Invalid("window", "is a duration up to a year, like 7d or 30m")
	}
	return nil
}

// FunnelReport is a funnel's answer: per step, how many customers reached
// it, the conversion, the median time from the step before and the
// channels it was done on; and the friction points: where customers drop
// and what the dropped ones did next.
type FunnelReport struct {
	Range    Period       `json:"range"`
	TimeZone string       `json:"time_zone"`
	Window   string       `json:"window"`
	Order    string       `json:"order"`
	Steps    []StepResult `json:"steps"`
	// Conversion is the share of the customers who entered (step 1) who
	// reached the last step.
	Conversion *float64   `json:"conversion"`
	Friction   []Friction `json:"friction"`
	// AsOf is the last event (seq) the behaviour index holds.
	AsOf   int64 `json:"as_of_seq"`
	TookMs int64 `json:"took_ms"`
}

// StepResult is one step of a funnel.
type StepResult struct {
	Step      int    `json:"step"` // 1-based
	Name      string `json:"name"`
	Event     string `json:"event"`
	Customers int64  `json:"customers"`
	// Conversion is Customers / the first step's; FromPrevious /
	// the previous step's.
	Conversion   *float64 `json:"conversion"`
	FromPrevious *float64 `json:"from_previous"`
	Dropped      int64    `json:"dropped"` // reached the previous step, not this one
	// MedianSeconds is the median time from the previous step, over the
	// customers who reached this one.
	MedianSeconds *float64       `json:"median_seconds"`
	Median        string         `json:"median,omitempty"`
	Channels      []ChannelCount `json:"channels"`
}

// ChannelCount is how many customers did something on a channel.
type ChannelCount struct {
	Channel   string `json:"channel"`
	Customers int64  `json:"customers"`
}

// Friction is where customers dropped: after a step, the ones who did not
// reach the next, and what they did next within the window (their first
// tracked event after the step they reached).
type Friction struct {
	After   int      `json:"after_step"` // they reached this step (1-based)
	Step    string   `json:"step"`       // its name
	Next    string   `json:"next_step"`  // the step they did not reach
	Dropped int64    `json:"dropped"`
	Rate    *float64 `json:"drop_rate"` // dropped / reached the step
	// Then splits the dropped by what they did first after: nothing
	// tracked within the window, a store visit (an event on a till or in
	// store), something on another channel than the step's, or on the same
	// channel.
	Then []NextCount `json:"then"`
	// Ordered counts the dropped who placed an order anyway within the
	// window, by the order's channel: browse on the web, buy in store.
	Ordered []ChannelCount `json:"ordered_anyway"`
	// TopNext are the events they did first after, most frequent first.
	TopNext []EventCount `json:"top_next_events"`
}

// NextCount is how many dropped customers did what next: nothing,
// store_visit, other_channel (Channel says which) or same_channel.
type NextCount struct {
	What      string `json:"what"`
	Channel   string `json:"channel,omitempty"`
	Customers int64  `json:"customers"`
}

// EventCount is how many customers did an event (on a channel).
type EventCount struct {
	Event     string `json:"event"`
	Channel   string `json:"channel"`
	Customers int64  `json:"customers"`
}

// Funnel computes a funnel from the behaviour index.
func (e *Rollups) Funnel(ctx context.Context, q FunnelQuery) (*FunnelReport, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	p, err := parsePeriod(q.From, q.To, e.today())
	if err != nil {
		return nil, err
	}
	if e.Index == nil || !e.Index.Ready() {
		return nil, fmt.Errorf("%w: the behaviour index funnels read is being built from the event log; try again in a moment", ErrNotReady)
	}
	start := time.Now()
	from, to := dayStart(p.from, e.zone).UnixMilli(), dayStart(p.to+1, e.zone).UnixMilli()
	var out *FunnelReport
	err = e.Index.View(func(v *segment.IndexView) error {
		f, err := newFunnelScan(v, &q, from, to)
		if err != nil {
			return err
		}
		defer f.release()
		if err := f.run(ctx); err != nil {
			return err
		}
		out = f.report()
		out.AsOf = v.Upto()
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Range, out.TimeZone, out.Window, out.Order = p, e.zone.String(), durationText(time.Duration(q.Window)), q.Order
	out.TookMs = time.Since(start).Milliseconds()
	return out, nil
}

// durationText writes a window as its definition would: 7d, 36h, 30m.
func durationText(d time.Duration) string {
	switch {
	case d > 0 && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d > 0 && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d > 0 && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
