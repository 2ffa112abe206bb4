package recommend

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
)

// Consumer is the stage's name in logs and status.
const Consumer = "recommend"

// Stage keeps a Model learned from the event log. The model lives in
// memory and is rebuilt by replaying the log at each start: its
// checkpoint is the model's own last sequence number, never saved, so a
// restart cannot find a checkpoint ahead of a model it lost. Replaying is
// cheap next to what persisting 50 MB of neighbours at every change would
// cost (docs/recommend.md has the figures); it reads the log with the
// same consumer every stage uses, skipping without decoding the
// properties of the events the model does not learn from.
type Stage struct {
	Model *Model
	Log   eventlog.Reader
	// Logger, Yield (wait while ingestion is saturated) and Processed
	// (published with the last seq learned after each batch) are
	// optional.
	Logger    *slog.Logger
	Yield     func() bool
	Processed *eventlog.Notifier
}

// memCheckpoint is the model's progress: nothing is stored.
type memCheckpoint struct{ m *Model }

func (c memCheckpoint) Checkpoint(context.Context, string) (int64, error) {
	c.m.mu.RLock()
	defer c.m.mu.RUnlock()
	return c.m.last, nil
}

func (c memCheckpoint) SaveCheckpoint(context.Context, string, int64) error { return nil }

// Run learns the log from the start (or from where the model is), then
// follows it until ctx ends; n, if set, is published when events are
// committed.
func (s *Stage) Run(ctx context.Context, n *eventlog.Notifier) error {
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	start := time.Now()
	caught := false
	c := &eventlog.Consumer{Name: Consumer, Log: s.Log, Checkpoints: memCheckpoint{s.Model}, Notifier: n,
		BatchSize: 5000, Poll: time.Second, HandlerCheckpoints: true, Yield: s.Yield}
	err := c.Run(ctx, func(ctx context.Context, batch []*event.Event) error {
		s.Model.LearnBatch(batch)
		last := batch[len(batch)-1].Seq
		if s.Processed != nil {
			s.Processed.Publish(last)
		}
		if !caught && len(batch) < c.BatchSize {
			caught = true
			st := s.Model.Stats()
			log.Info("recommend: model learned from the log", "events", st.Events, "items", st.Items,
				"last_seq", last, "took", time.Since(start).Round(time.Millisecond), "bytes", st.Bytes)
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("recommend: %w", err)
	}
	return nil
}

// Rebuild learns the whole log into a new model, reading it batch by
// batch (the offline commands and the benchmark).
func Rebuild(ctx context.Context, log eventlog.Reader, o Options, progress func(seq int64)) (*Model, error) {
	m := NewModel(o)
	after := int64(0)
	for {
		batch, err := log.ReadAfter(ctx, after, 5000)
		if err != nil {
			return nil, fmt.Errorf("recommend: rebuild: read after %d: %w", after, err)
		}
		if len(batch) == 0 {
			return m, nil
		}
		m.LearnBatch(batch)
		after = batch[len(batch)-1].Seq
		if progress != nil {
			progress(after)
		}
	}
}
