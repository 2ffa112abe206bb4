package commerce

import (
	"context"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/event"
)

// relayBatch is how many outbox entries one Submit carries at most.
const relayBatch = 500

// Kick wakes the relay: another part (the loyalty ledger) just committed
// events to the outbox the relay delivers.
func (s *Service) Kick() { s.kick() }

// kick wakes the relay: a change just committed events to the outbox.
func (s *Service) kick() {
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// Deliver appends the outbox's events to the log through the Sink, oldest
// first, and deletes each batch from the outbox only once Submit returned
// (the events are durable in the log). A crash between the two re-sends
// the batch; the log drops a (source, messageId) it holds already and the
// message ids are deterministic, so delivery is at least once into a log
// where it counts once. Deliver returns how many events it handed to the
// Sink, once the outbox is empty or on the first error; the entries of a
// failed batch stay in the outbox for the next call.
func (s *Service) Deliver(ctx context.Context) (int, error) {
	if s.o.Sink == nil {
		return 0, nil
	}
	s.relayMu.Lock()
	defer s.relayMu.Unlock()
	n := 0
	for {
		entries, err := s.st.Outbox(ctx, relayBatch)
		if err != nil {
			return n, fmt.Errorf("commerce: outbox: reading: %w", err)
		}
		if len(entries) == 0 {
			return n, nil
		}
		evs := make([]*event.Event, len(entries))
		seqs := make([]int64, len(entries))
		for i, e := range entries {
			evs[i], seqs[i] = e.Event, e.Seq
		}
		if err := s.o.Sink.Submit(ctx, evs, nil); err != nil {
			s.o.Metrics.failed()
			return n, fmt.Errorf("commerce: outbox: submitting %d events from seq %d (%s): %w", len(evs), seqs[0], evs[0].MessageID, err)
		}
		s.o.Metrics.deliveredBatch(entries, s.o.Clock.Now())
		if err := s.st.DeleteOutbox(ctx, seqs); err != nil {
			// Logged already; the next delivery re-sends them, harmlessly.
			return n + len(evs), fmt.Errorf("commerce: outbox: deleting seqs %d..%d after delivery: %w", seqs[0], seqs[len(seqs)-1], err)
		}
		n += len(evs)
		if len(entries) < relayBatch {
			return n, nil
		}
	}
}

// finalDrain bounds the last delivery RunRelay makes once its context
// ends.
const finalDrain = 5 * time.Second

// RunRelay delivers the outbox until ctx ends: right after each change
// this service commits (it wakes the relay), and every poll otherwise
// (changes made by another process, entries left by a crash or by a Sink
// that failed). While the Sink fails, it retries every poll only. When ctx
// ends it makes a last delivery (for at most finalDrain), so that a
// graceful stop leaves the log complete; the Sink must still be open.
func (s *Service) RunRelay(ctx context.Context, poll time.Duration) {
	if s.o.Sink == nil {
		return
	}
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalDrain)
		defer cancel()
		if _, err := s.Deliver(dctx); err != nil {
			s.log.Warn("commerce: events left in the outbox at stop; delivered at the next start", "err", err)
		}
	}()
	failing := false
	for {
		n, err := s.Deliver(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil && !failing:
			s.log.Error("commerce: events wait in the outbox; retrying every poll", "poll", poll, "err", err)
		case err != nil:
			s.log.Debug("commerce: outbox delivery still failing", "err", err)
		case failing:
			s.log.Info("commerce: outbox delivery recovered", "delivered", n)
		}
		failing = err != nil
		wake := s.wake
		if failing {
			wake = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
	}
}
