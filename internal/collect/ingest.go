// Package collect receives events: the Segment-compatible HTTP tracking API,
// and the same pipeline for imported files. It validates each event alone,
// records what it drops, and hands the rest to a group committer that
// acknowledges only once they are durable.
package collect

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/problem"
)

// Sink receives the events of one request and returns once they are
// durable; *Committer is the real one.
type Sink interface {
	Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error
}

// Discard is a Sink that stores nothing. The decode-only mode of the server
// uses it to measure the cost of everything but storage.
type Discard struct{}

// Submit marks the events as stored and forgets them.
func (Discard) Submit(_ context.Context, events []*event.Event, _ []*event.Rejection) error {
	for i, e := range events {
		e.Seq = int64(i + 1)
	}
	return nil
}

// Direct is a Sink that appends each submission in its own transaction, for
// callers that batch themselves (imports).
type Direct struct{ Appender }

// Submit appends events and rejections.
func (d Direct) Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error {
	return d.Append(ctx, events, rejects)
}

// Result is what happened to the events of one request.
type Result struct {
	Stored     int
	Duplicates int
	// Rejections lists the events dropped, and the events stored after a
	// correction.
	Rejections []*event.Rejection
}

// Dropped counts the rejections that dropped their event.
func (r *Result) Dropped() int {
	n := 0
	for _, rj := range r.Rejections {
		if rj.Action == event.Dropped {
			n++
		}
	}
	return n
}

// Ingester validates, normalises and submits events.
type Ingester struct {
	sink    Sink
	metrics *Metrics
	log     *limitedLogger
}

// NewIngester returns an ingester that submits to sink. metrics may be nil.
func NewIngester(sink Sink, metrics *Metrics, log *slog.Logger) *Ingester {
	if log == nil {
		log = slog.Default()
	}
	return &Ingester{sink: sink, metrics: metrics, log: newLimitedLogger(log, 10)}
}

// Prepare validates each raw event alone. Valid events are normalised; each
// invalid one becomes a rejection and never affects the others.
func Prepare(env *event.Envelope, raws []json.RawMessage, typ event.Type) ([]*event.Event, []*event.Rejection) {
	return prepare(env, raws, nil, typ)
}

// prepare is Prepare for raws that splitting has inspected already (scans,
// parallel to raws, or nil).
func prepare(env *event.Envelope, raws []json.RawMessage, scans []event.Scanned, typ event.Type) ([]*event.Event, []*event.Rejection) {
	events := make([]*event.Event, 0, len(raws))
	var rejects []*event.Rejection
	for i, raw := range raws {
		var scan event.Scanned
		if i < len(scans) {
			scan = scans[i]
		}
		e, warnings, err := env.NormalizeScanned(i, raw, typ, scan)
		if err != nil {
			rejects = append(rejects, event.NewRejection(env, i, peekMessageID(raw), event.Dropped, err.(*problem.ValidationError), raw))
			continue
		}
		for _, w := range warnings {
			rejects = append(rejects, event.NewRejection(env, i, e.MessageID, event.Corrected, w, raw))
		}
		events = append(events, e)
	}
	return events, rejects
}

// Ingest validates raws and stores the valid events with the rejections, and
// returns what happened to each.
func (in *Ingester) Ingest(ctx context.Context, env *event.Envelope, raws []json.RawMessage, typ event.Type) (Result, error) {
	events, rejects := Prepare(env, raws, typ)
	return in.Submit(ctx, events, rejects)
}

// Submit stores events prepared by the caller, with their rejections.
func (in *Ingester) Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) (Result, error) {
	return in.SubmitWithin(ctx, events, rejects, 0)
}

// boundedSink is a Sink that can refuse to wait beyond a bound; *Committer
// is one.
type boundedSink interface {
	SubmitWithin(ctx context.Context, events []*event.Event, rejects []*event.Rejection, wait time.Duration) error
	Backlog(ahead int64) time.Duration
}

// Backlog estimates how long events submitted now would wait for a commit
// with ahead more events submitted before them (see Committer.Backlog); 0
// for a sink that does not queue.
func (in *Ingester) Backlog(ahead int64) time.Duration {
	if b, ok := in.sink.(boundedSink); ok {
		return b.Backlog(ahead)
	}
	return 0
}

// SubmitWithin is Submit, answering ErrOverloaded when the sink cannot take
// the events within wait (see Committer.SubmitWithin). wait <= 0, or a sink
// without a bound: Submit.
func (in *Ingester) SubmitWithin(ctx context.Context, events []*event.Event, rejects []*event.Rejection, wait time.Duration) (Result, error) {
	var err error
	if b, ok := in.sink.(boundedSink); ok && wait > 0 {
		err = b.SubmitWithin(ctx, events, rejects, wait)
	} else {
		err = in.sink.Submit(ctx, events, rejects)
	}
	if err != nil {
		return Result{}, err
	}
	res := Result{Rejections: rejects}
	for _, e := range events {
		if e.Seq > 0 {
			res.Stored++
		} else {
			res.Duplicates++
		}
	}
	in.report(events, &res)
	return res, nil
}

func (in *Ingester) report(events []*event.Event, res *Result) {
	if in.metrics != nil && len(events) > 0 {
		src := events[0].SourceID
		in.metrics.accepted.WithLabelValues(src).Add(float64(res.Stored))
		if res.Duplicates > 0 {
			in.metrics.duplicates.WithLabelValues(src).Add(float64(res.Duplicates))
		}
	}
	for _, r := range res.Rejections {
		if in.metrics != nil {
			in.metrics.rejected.WithLabelValues(r.SourceID, r.Code, r.Action).Inc()
		}
		in.log.Warn("event "+r.Action, "source", r.SourceID, "index", r.Index, "messageId", r.MessageID,
			"code", r.Code, "field", r.Field, "reason", r.Reason)
	}
}

// peekMessageID returns the messageId of an event that failed validation,
// if one can be read, so that its rejection can be matched to the client's
// records.
func peekMessageID(raw []byte) string {
	var w struct {
		MessageID json.RawMessage `json:"messageId"`
	}
	if json.Unmarshal(raw, &w) != nil {
		return ""
	}
	s, _ := jsonString(w.MessageID)
	return s
}

// now is the receive time of a request, truncated to microseconds: the
// store keeps microseconds, and an event must read back as it was written.
func now(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
