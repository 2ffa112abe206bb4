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
// memory; its checkpoint is the model's own last sequence number. With a
// File, the model is saved there every SaveEvery and when the stage
// stops, with that sequence number inside (one consistent snapshot, so
// the checkpoint can never be ahead of the counts), and a start loads it
// and learns only the log after it. Without one (or with a file of
// another layout), the whole log is learned again at start
// (docs/recommend.md has the cost of both).
type Stage struct {
	Model *Model
	Log   eventlog.Reader
	// Logger, Yield (wait while ingestion is saturated) and Processed
	// (published with the last seq learned after each batch) are
	// optional.
	Logger    *slog.Logger
	Yield     func() bool
	Processed *eventlog.Notifier
	// File is where the model is saved ("": nowhere); SaveEvery how
	// often while events come (default 5 minutes).
	File      string
	SaveEvery time.Duration
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
	if s.File != "" && s.Model.Stats().LastSeq == 0 {
		loaded, err := s.Model.ReadFile(s.File)
		if err != nil {
			log.Warn("recommend: the saved model is unreadable; learning the whole log again", "err", err)
		} else if loaded {
			st := s.Model.Stats()
			log.Info("recommend: model loaded", "file", s.File, "last_seq", st.LastSeq, "items", st.Items,
				"took", time.Since(start).Round(time.Millisecond))
		}
	}
	if s.File != "" {
		every := s.SaveEvery
		if every <= 0 {
			every = 5 * time.Minute
		}
		done := make(chan struct{})
		defer func() {
			close(done)
			if err := s.Model.WriteFile(s.File); err != nil {
				log.Error("recommend: save the model", "err", err)
			}
		}()
		go s.saveLoop(done, every, log)
	}
	if _, ok := s.Log.(NamedReader); ok {
		// The log before the consumer follows it: read the fast way
		// (only the events the model reads, decoded on every core).
		n, err := s.Model.CatchUp(ctx, s.Log, func(seq int64) {
			if s.Processed != nil {
				s.Processed.Publish(seq)
			}
		})
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("recommend: %w", err)
		}
		if n > 0 {
			st := s.Model.Stats()
			log.Info("recommend: caught up with the log", "read", n, "items", st.Items, "last_seq", st.LastSeq,
				"took", time.Since(start).Round(time.Millisecond))
		}
	}
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

// saveLoop saves the model every every, when it learned something since.
func (s *Stage) saveLoop(done <-chan struct{}, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	saved := s.Model.Stats().LastSeq
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		if last := s.Model.Stats().LastSeq; last != saved {
			if err := s.Model.WriteFile(s.File); err != nil {
				log.Error("recommend: save the model", "err", err)
				continue
			}
			saved = last
		}
	}
}

// Rebuild learns the whole log into a new model, reading it batch by
// batch (the offline commands and the benchmark).
func Rebuild(ctx context.Context, log eventlog.Reader, o Options, progress func(seq int64)) (*Model, error) {
	m := NewModel(o)
	if _, err := m.CatchUp(ctx, log, progress); err != nil {
		return nil, fmt.Errorf("recommend: rebuild: %w", err)
	}
	return m, nil
}
