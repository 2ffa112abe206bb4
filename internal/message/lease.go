package message

import (
	"context"
	"fmt"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/store"
)

// IdempotentProvider is implemented by providers whose receiving end
// drops a request that repeats an earlier Message.Key (the webhook
// provider's Idempotency-Key header). After a crash, a message whose call
// may have reached such a provider is sent again: the repeat is dropped
// there. SMTP (Message-ID does not de-duplicate), Twilio, Vonage, WhatsApp,
// FCM and APNs have no such key.
type IdempotentProvider interface {
	// HonoursIdempotencyKey reports whether a repeated Message.Key is
	// dropped by the receiving end.
	HonoursIdempotencyKey() bool
}

// Reasons recorded on messages taken back after a crash.
const (
	reasonResentIdempotent = "resent after a restart: the call to %s was in flight when the process stopped; %s drops the repeat by its idempotency key"
	reasonResentInDoubt    = "in doubt after a restart: the process stopped during the call to %s; resent, as a transactional message is better twice than never"
	reasonOutcomeUnknown   = "outcome unknown: the process stopped during the call to %s, which may or may not have accepted it; not resent, as a marketing message is not worth a duplicate"
)

// reclaim takes back, at start-up, the messages the node's previous run
// left leased (it was killed: SIGKILL, OOM, power loss), at once instead
// of after their leases expire:
//
//   - a message whose provider call had not begun (no durable "calling"
//     mark) goes back to the queue, due now, its attempt taken back: the
//     provider never saw it (providers that drop repeated keys are not
//     marked: theirs all go back this way);
//   - a message whose call had begun may or may not have been accepted.
//     It is sent again if its provider honours the idempotency key (the
//     repeat is dropped there) or if it is transactional (a receipt twice
//     beats none); a marketing message is not: it fails with "outcome
//     unknown".
//
// Only this node's leases are touched: another live node's claims stay
// its own, and a dead node's wait for their expiry.
func (p *Pipeline) reclaim(ctx context.Context) error {
	if p.o.Node == "" {
		return nil
	}
	return p.ReclaimNode(ctx, p.o.Node)
}

// ReclaimNode takes back, as reclaim does, the messages node left leased.
// In a cluster the node that takes the pipeline over calls it for the
// previous owner once the fence keeps that owner from writing the outbox
// (docs/scale.md, Fencing): its messages are taken back at once, as a
// restarted node's are, instead of after their leases expire.
func (p *Pipeline) ReclaimNode(ctx context.Context, node string) error {
	if node == "" {
		return nil
	}
	ms, err := p.st.LeasedBy(ctx, node)
	if err != nil {
		return fmt.Errorf("messages: take back node %s's leases: %w", node, err)
	}
	if len(ms) == 0 {
		return nil
	}
	now := p.clock.Now()
	updates := make([]store.MessageUpdate, len(ms))
	var untried, resent, unknown int
	for i, m := range ms {
		u := store.MessageUpdate{ID: m.ID, LeaseToken: m.LeaseToken, At: now, Reason: m.Reason}
		name, idempotent := p.providerOf(provider.Channel(m.Channel))
		switch {
		case m.CalledAt.IsZero():
			u.Status, u.DueAt, u.Unclaim = store.MessageQueued, now, true
			untried++
		case idempotent:
			u.Status, u.DueAt, u.Reason = store.MessageRetrying, now, fmt.Sprintf(reasonResentIdempotent, name, name)
			resent++
		case m.Transactional:
			u.Status, u.DueAt, u.Reason = store.MessageRetrying, now, fmt.Sprintf(reasonResentInDoubt, name)
			resent++
		default:
			u.Status, u.DueAt, u.Reason = store.MessageFailed, zeroTime, fmt.Sprintf(reasonOutcomeUnknown, name)
			unknown++
		}
		updates[i] = u
	}
	n, err := p.st.FinishMessages(ctx, updates)
	if err != nil {
		return fmt.Errorf("messages: take back node %s's %d leases: %w", node, len(ms), err)
	}
	p.log.Warn("messages: took back the leases of a node's stopped run",
		"node", node, "by", p.o.Node, "leased", len(ms), "applied", n, "never_called", untried, "resent_in_doubt", resent, "outcome_unknown", unknown)
	poke(p.notify)
	return nil
}

// providerOf names the provider serving ch and says whether it honours
// the idempotency key.
func (p *Pipeline) providerOf(ch provider.Channel) (name string, idempotent bool) {
	if p.providers == nil {
		return "the " + string(ch) + " provider", false
	}
	prov, _, ok := p.providers.For(ch)
	if !ok || prov == nil {
		return "the " + string(ch) + " provider", false
	}
	return prov.Name(), honoursKey(prov)
}

// honoursKey reports whether prov's receiving end drops repeated keys.
func honoursKey(prov provider.Provider) bool {
	i, ok := prov.(IdempotentProvider)
	return ok && i.HonoursIdempotencyKey()
}

// markCalling records durably, through the recorder, that m's provider is
// about to be called, and waits for the commit. The recorder commits in
// order: the worker's previous outcome is durable by then too, so at any
// moment each worker has at most one message whose outcome a crash would
// leave in doubt.
func (p *Pipeline) markCalling(m *store.OutboxMessage, outcomes chan<- outcome) {
	done := make(chan struct{})
	outcomes <- outcome{MessageUpdate: store.MessageUpdate{ID: m.ID, LeaseToken: m.LeaseToken, Calling: true, At: p.clock.Now()},
		done: done}
	<-done
}
