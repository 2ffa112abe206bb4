package message

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/store"
)

// job is a claimed message on its way to a worker, with what the delivery
// checks read for its whole claim at once.
type job struct {
	m      *store.OutboxMessage
	checks *claimChecks
}

// claimChecks is what the checks at delivery read for a claimed batch in
// a few statements instead of two or three per message: the suppressions
// of the batch's addresses (one read per channel) and the consent of its
// customers (one read, after each customer's merges). It is read right
// after the claim, so a message is checked against the state of the
// moment its batch was claimed — within its lease, before its provider is
// called — as the one-by-one checks read it a few moments before the call.
// A customer or an address missing from it (a failed read) is read one by
// one, as without it.
type claimChecks struct {
	suppressed map[suppressionKey]string // why; "" if not suppressed
	consent    map[int64]*contact        // by profile: ids and consent only
}

type suppressionKey struct{ channel, address string }

// readChecks reads the delivery checks of a claimed batch. A read that
// fails leaves its part out: those messages are checked one by one.
func (p *Pipeline) readChecks(ctx context.Context, ms []*store.OutboxMessage) *claimChecks {
	if len(ms) < 2 {
		return nil
	}
	ck := &claimChecks{suppressed: map[suppressionKey]string{}, consent: map[int64]*contact{}}
	addrs := map[provider.Channel][]string{}
	seen := map[suppressionKey]bool{}
	var all []int64
	owner := map[int64][]*contact{}
	for _, m := range ms {
		ch := provider.Channel(m.Channel)
		if !personal(ch) {
			continue
		}
		if k := (suppressionKey{m.Channel, m.Address}); m.Address != "" && !seen[k] {
			seen[k] = true
			addrs[ch] = append(addrs[ch], m.Address)
		}
		if m.Transactional && !(stoppable(ch) && m.Topic != OptOutTopic) {
			continue // no consent read at delivery (recheck)
		}
		if ck.consent[m.ProfileID] != nil {
			continue
		}
		ids, err := p.profileIDs(ctx, m.ProfileID)
		if err != nil {
			continue
		}
		c := &contact{ids: ids, consent: map[consentKey]store.ConsentRecord{}}
		ck.consent[m.ProfileID] = c
		for _, id := range ids {
			if len(owner[id]) == 0 {
				all = append(all, id)
			}
			owner[id] = append(owner[id], c)
		}
	}
	for ch, list := range addrs {
		sups, err := p.st.Suppressions(ctx, string(ch), list)
		if err != nil {
			continue
		}
		for _, a := range list {
			ck.suppressed[suppressionKey{string(ch), a}] = ""
		}
		for _, s := range sups {
			ck.suppressed[suppressionKey{string(ch), s.Address}] = s.Reason + " (" + s.At.Format(time.DateOnly) + ")"
		}
	}
	if len(all) > 0 {
		states, err := p.st.ConsentState(ctx, all)
		if err != nil {
			clear(ck.consent)
			return ck
		}
		for _, s := range states {
			k := consentKey{s.Channel, s.Topic}
			for _, c := range owner[s.ProfileID] {
				if old, ok := c.consent[k]; !ok || s.At.After(old.At) {
					c.consent[k] = s
				}
			}
		}
	}
	return ck
}

// suppressedAt is suppressed, from the claim's reads when they have the
// address.
func (p *Pipeline) suppressedAt(ctx context.Context, ck *claimChecks, ch provider.Channel, addr string) (string, error) {
	if ck != nil {
		if why, ok := ck.suppressed[suppressionKey{string(ch), addr}]; ok {
			return why, nil
		}
	}
	return p.suppressed(ctx, ch, addr)
}

// consentAt is consentOf, from the claim's reads when they have the
// customer.
func (p *Pipeline) consentAt(ctx context.Context, ck *claimChecks, profileID int64) (*contact, error) {
	if ck != nil {
		if c := ck.consent[profileID]; c != nil {
			return c, nil
		}
	}
	return p.consentOf(ctx, profileID)
}
