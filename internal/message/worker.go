package message

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/store"
)

// outcome is a worker's result for one message, waiting to be recorded.
type outcome struct {
	store.MessageUpdate
	suppress *store.Suppression // the provider said the address is bad
	reserved bool               // a frequency-cap reservation to release
	profile  int64
	channel  string
	done     chan struct{} // a Calling mark: closed once it is durable
}

// Run claims due messages and hands them to the providers until ctx ends:
// one claimer leases batches from the outbox, Workers goroutines send,
// one recorder writes the outcomes in group commits, one announcer turns
// them into events. On shutdown, sends in flight finish and are recorded;
// claimed messages not started are handed back at once. Before it claims
// anything, it takes back what the node's previous run left leased
// (reclaim).
func (p *Pipeline) Run(ctx context.Context) error {
	if err := p.reclaim(ctx); err != nil {
		// Not fatal: those leases come back when they expire.
		p.log.Error("messages: leases of the previous run not taken back; they come back when they expire", "err", err)
	}
	jobs := make(chan job, p.o.ClaimBatch)
	outcomes := make(chan outcome, p.o.Workers*4)
	var claimErr error
	var senders, bg sync.WaitGroup
	bg.Go(func() {
		defer close(jobs)
		claimErr = p.claim(ctx, jobs)
	})
	for range p.o.Workers {
		senders.Go(func() {
			for j := range jobs {
				if ctx.Err() != nil {
					outcomes <- p.release(j.m)
					continue
				}
				outcomes <- p.deliver(ctx, j.m, j.checks, outcomes)
			}
		})
	}
	recorded := make(chan struct{})
	go func() { defer close(recorded); p.record(outcomes) }()
	bg.Go(func() { p.announce(ctx) })
	senders.Wait()
	close(outcomes)
	<-recorded
	bg.Wait()
	// A last announcement of what the recorder wrote after the announcer
	// stopped; whatever it misses is announced at the next start.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = p.announceOnce(actx)
	if claimErr != nil && ctx.Err() == nil {
		return claimErr
	}
	return nil
}

// claim leases due messages into jobs until ctx ends.
func (p *Pipeline) claim(ctx context.Context, jobs chan<- job) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		room := cap(jobs) - len(jobs)
		if room < max(1, cap(jobs)/4) {
			// The workers have plenty to do: claim again once a quarter
			// of the queue has gone, in one write transaction, rather
			// than a few rows at a time as each worker frees a place (a
			// transaction per handful of messages cost more than their
			// delivery).
			t.Reset(10 * time.Millisecond)
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			continue
		}
		ms, err := p.st.ClaimMessages(ctx, p.o.Node, rand.Text(), p.clock.Now(), p.o.Lease, room)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			p.log.Error("messages: claim failed", "err", err)
		}
		checks := p.readChecks(ctx, ms)
		for _, m := range ms {
			jobs <- job{m, checks}
		}
		if n := len(ms); n == room {
			continue // more may be due
		}
		t.Reset(p.o.Poll)
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		case <-t.C:
		}
	}
}

// release hands an unsent claimed message back, due now.
func (p *Pipeline) release(m *store.OutboxMessage) outcome {
	now := p.clock.Now()
	return outcome{MessageUpdate: store.MessageUpdate{ID: m.ID, LeaseToken: m.LeaseToken, Status: store.MessageQueued,
		Reason: m.Reason, DueAt: now, At: now, Unclaim: true}, channel: m.Channel}
}

// deliver checks a claimed message again (suppressions, consent, caps and
// quiet hours may have changed since it was queued) and sends it: the
// suppressions and consent as read for its claim (ck, readChecks), nil to
// read them now. The "calling" mark goes through outcomes, the recorder's
// queue.
func (p *Pipeline) deliver(ctx context.Context, m *store.OutboxMessage, ck *claimChecks, outcomes chan<- outcome) outcome {
	now := p.clock.Now()
	o := outcome{MessageUpdate: store.MessageUpdate{ID: m.ID, LeaseToken: m.LeaseToken, At: now, Reason: m.Reason},
		profile: m.ProfileID, channel: m.Channel}
	fail := func(status, reason string) outcome {
		o.Status, o.Reason, o.DueAt = status, reason, zeroTime
		return o
	}
	ch := provider.Channel(m.Channel)
	pm, err := payload(m)
	if err != nil {
		return fail(store.MessageFailed, err.Error())
	}
	var prov provider.Provider
	var lim Limits
	ok := false
	if p.providers != nil {
		prov, lim, ok = p.providers.For(ch)
	}
	if !ok || prov == nil {
		return fail(store.MessageFailed, "no provider configured for channel "+string(ch))
	}
	if ch == provider.Email && !m.Transactional && pm.Headers["List-Unsubscribe"] == "" {
		// Queued by a process without a public URL (or before this
		// rule): never sent without a working unsubscribe.
		return fail(store.MessageSkipped, ErrNoUnsubscribeURL.Error())
	}
	if why, status, due, err := p.recheck(ctx, m, ck, ch, now); err != nil {
		return p.retry(o, m, err, now)
	} else if why != "" {
		o.Status, o.Reason, o.DueAt = status, why, due
		return o
	}
	if !m.Transactional && personal(ch) {
		unlock := p.caps.lock(m.ProfileID)
		why, err := p.capReached(ctx, m, now)
		if err == nil && why == "" {
			p.pending.add(m)
			o.reserved = true
		}
		unlock()
		if err != nil {
			return p.retry(o, m, err, now)
		}
		if why != "" {
			return fail(store.MessageSkipped, why)
		}
	}
	if err := p.limits.wait(ctx, prov.Name(), lim); err != nil {
		return p.releaseReserved(o, m)
	}
	// The send must end within the lease (m.DueAt, set by the claim), or
	// another claim could take the message while it is being sent: a
	// message that waited too long for its provider's rate goes back.
	if !p.clock.Now().Before(m.DueAt.Add(-p.o.Lease / 2)) {
		return p.releaseReserved(o, m)
	}
	// From the durable mark on, a crash leaves this attempt in doubt
	// (reclaim); before it, the provider has not seen it. A provider that
	// drops repeated keys needs no mark: after a crash its messages are
	// sent again either way.
	if !honoursKey(prov) {
		p.markCalling(m, outcomes)
	}
	// The send itself is not cut short by shutdown: a message the provider
	// accepts must be recorded as sent, or it would go again.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.o.Lease/2)
	began := time.Now() // wall time for the latency metric, not a domain time
	res, err := prov.Send(sctx, pm)
	p.metrics.send(prov.Name(), time.Since(began), err)
	cancel()
	o.Provider, o.At = prov.Name(), p.clock.Now()
	if err != nil {
		var pe *provider.Error
		if errors.As(err, &pe) && pe.Suppress && m.Address != "" {
			o.suppress = &store.Suppression{Channel: m.Channel, Address: m.Address, Reason: reasonText(pe.Error()), Source: prov.Name(), At: o.At}
		}
		return p.retry(o, m, err, o.At)
	}
	o.Status, o.Reason, o.DueAt, o.ProviderID, o.SentAt = store.MessageSent, "", zeroTime, res.ProviderID, o.At
	return o
}

func (p *Pipeline) releaseReserved(o outcome, m *store.OutboxMessage) outcome {
	r := p.release(m)
	r.reserved, r.profile = o.reserved, o.profile
	return r
}

// recheck returns why a claimed message must not go now: skipped (a
// suppression, a withdrawn consent) or deferred (quiet hours).
func (p *Pipeline) recheck(ctx context.Context, m *store.OutboxMessage, ck *claimChecks, ch provider.Channel, now time.Time) (why, status string, due time.Time, err error) {
	if !personal(ch) {
		return "", "", zeroTime, nil
	}
	if why, err := p.suppressedAt(ctx, ck, ch, m.Address); err != nil {
		return "", "", zeroTime, err
	} else if why != "" {
		return "address suppressed: " + why, store.MessageSkipped, zeroTime, nil
	}
	stop := stoppable(ch) && m.Topic != OptOutTopic
	if m.Transactional && !stop {
		return "", "", zeroTime, nil
	}
	c, err := p.consentAt(ctx, ck, m.ProfileID)
	if err != nil {
		return "", "", zeroTime, err
	}
	if why := c.stoppedOn(ch); stop && why != "" {
		return why, store.MessageSkipped, zeroTime, nil
	}
	if m.Transactional {
		return "", "", zeroTime, nil
	}
	if why := c.consentRefusal(ch, m.Topic); why != "" {
		return why, store.MessageSkipped, zeroTime, nil
	}
	if p.o.Policy.QuietHours == nil {
		return "", "", zeroTime, nil
	}
	// The customer's zone may have changed, or a retry may fall in the
	// night: quiet hours are checked again, with the profile as it is now.
	prof, err := p.st.Profile(ctx, m.ProfileID)
	if err != nil {
		return "", "", zeroTime, fmt.Errorf("message %d: profile %d: %w", m.ID, m.ProfileID, err)
	}
	if due, why := p.quietUntil(prof, ch, now); !due.IsZero() {
		return why, store.MessageDeferred, due, nil
	}
	return "", "", zeroTime, nil
}

// retry records a failed attempt: retried with backoff when the error is
// temporary and attempts remain, failed otherwise.
func (p *Pipeline) retry(o outcome, m *store.OutboxMessage, err error, now time.Time) outcome {
	o.Reason = reasonText(err.Error())
	if provider.IsTemporary(err) && m.Attempts < p.o.MaxAttempts {
		var after time.Duration
		var pe *provider.Error
		if errors.As(err, &pe) {
			after = pe.RetryAfter
		}
		o.Status, o.DueAt = store.MessageRetrying, now.Add(max(p.backoff(m.Attempts), after))
		return o
	}
	if provider.IsTemporary(err) {
		o.Reason = reasonText(fmt.Sprintf("gave up after %d attempts: %v", m.Attempts, err))
	}
	o.Status, o.DueAt = store.MessageFailed, zeroTime
	return o
}

// record writes outcomes in batches: whatever arrived while the previous
// batch was committing goes in the next one.
func (p *Pipeline) record(outcomes <-chan outcome) {
	for first := range outcomes {
		batch := []outcome{first}
	more:
		for len(batch) < 500 {
			select {
			case o, ok := <-outcomes:
				if !ok {
					break more
				}
				batch = append(batch, o)
			default:
				break more
			}
		}
		p.commit(batch)
	}
}

// fencedOut reports whether err is a write PostgreSQL refused because this
// node is fenced out of the pipeline (SQLSTATE PF001, migration 0021; PF002
// for a partition, 0025).
func fencedOut(err error) bool {
	var se interface{ SQLState() string }
	return errors.As(err, &se) && (se.SQLState() == "PF001" || se.SQLState() == "PF002")
}

func (p *Pipeline) commit(batch []outcome) {
	ctx := context.Background()
	updates := make([]store.MessageUpdate, len(batch))
	for i, o := range batch {
		updates[i] = o.MessageUpdate
		if o.suppress != nil {
			if err := p.st.Suppress(ctx, *o.suppress); err != nil {
				p.log.Error("messages: suppress address", "message", o.ID, "err", err)
			}
		}
	}
	for attempt := 0; ; attempt++ {
		_, err := p.st.FinishMessages(ctx, updates)
		if err == nil {
			break
		}
		if fencedOut(err) {
			// Another node owns the pipeline now (docs/scale.md,
			// Fencing): these writes will never be taken, and the new
			// owner has taken this node's messages back (in doubt:
			// resent if transactional, failed if marketing). Retrying
			// would keep this node from stopping.
			p.log.Error("messages: outcomes refused: another node owns the pipeline now and has taken these messages back", "messages", len(updates), "err", err)
			break
		}
		// The outcomes must not be lost: a sent message recorded as
		// still leased would be sent again after the lease.
		p.log.Error("messages: recording outcomes failed; retrying", "messages", len(updates), "err", err)
		time.Sleep(min(time.Duration(attempt+1)*100*time.Millisecond, 5*time.Second))
	}
	for _, o := range batch {
		if o.done != nil {
			close(o.done)
			continue
		}
		if o.reserved {
			p.pending.remove(o.profile, o.ID)
		}
		p.metrics.outcome(o.channel, o.Status)
	}
	poke(p.notify)
}
