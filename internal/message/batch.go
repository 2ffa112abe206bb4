package message

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/store"
)

// MaxBatch is the most requests SendBatch takes at once.
const MaxBatch = 1000

// Result is what one request of a batch became: its outbox message, or
// why it was refused (Err, as Send would have returned it).
type Result struct {
	Message *store.OutboxMessage
	Err     error
}

// SendBatch is Send for many requests at once (a broadcast's recipients, a
// batch API call): the send keys are checked in one read, each stored
// template read and parsed once, the profiles, suppressions and consent
// read for the whole batch, each message composed by the same rules as
// Send (consent, suppressions, quiet hours in the recipient's zone, best
// channel), and the new messages inserted in one transaction. Frequency
// caps apply at delivery, as for Send. results[i] is rs[i]'s; a request
// whose key came earlier in the batch gets the same message. The error is
// for the whole batch (a store that cannot be read or written): no
// result then.
func (p *Pipeline) SendBatch(ctx context.Context, rs []Request) ([]Result, error) {
	if len(rs) > MaxBatch {
		return nil, fmt.Errorf("%w: %d requests in one batch, at most %d", ErrInvalid, len(rs), MaxBatch)
	}
	results := make([]Result, len(rs))
	keys := make([]string, len(rs))
	first := map[string]int{} // key -> the index of its first request
	var unique []string
	for i := range rs {
		key, err := rs[i].SendKey()
		if err != nil {
			results[i].Err = err
			continue
		}
		keys[i] = key
		if _, ok := first[key]; !ok {
			first[key] = i
			unique = append(unique, key)
		}
	}
	existing, err := p.messagesByKey(ctx, unique)
	if err != nil {
		return nil, err
	}
	// The requests to compose: first of their key, not sent before.
	var todo []int
	templates := map[string]*storedTemplate{}
	tpls := make(map[int]*template.Template, len(rs))
	var ids []int64
	for _, key := range unique {
		i := first[key]
		if m := existing[key]; m != nil {
			results[i].Message = m
			continue
		}
		r := &rs[i]
		if err := p.checkRequest(r); err != nil {
			results[i].Err = err
			continue
		}
		tpl, err := p.requestTemplate(ctx, r, templates)
		if err != nil {
			results[i].Err = err
			continue
		}
		tpls[i] = tpl
		todo = append(todo, i)
		ids = append(ids, r.ProfileID)
	}
	contacts, perr, err := p.contacts(ctx, ids)
	if err != nil {
		return nil, err
	}
	var ms []*store.OutboxMessage
	var owners []int
	for _, i := range todo {
		r := rs[i]
		c := contacts[r.ProfileID]
		if c == nil {
			results[i].Err = fmt.Errorf("message: profile %d: %w", r.ProfileID, perr[r.ProfileID])
			continue
		}
		m, err := p.compose(ctx, r, keys[i], tpls[i], c)
		if err != nil {
			results[i].Err = err
			continue
		}
		ms = append(ms, m)
		owners = append(owners, i)
	}
	if len(ms) > 0 {
		created, err := p.st.EnqueueMessages(ctx, ms)
		if err != nil {
			return nil, err
		}
		// A message another send inserted meanwhile (the same key from
		// an API caller) is read back: the caller gets the one stored.
		var raced []string
		for j, m := range ms {
			if created[j] {
				results[owners[j]].Message = stored(m)
			} else {
				raced = append(raced, m.SendKey)
			}
		}
		if len(raced) > 0 {
			back, err := p.messagesByKey(ctx, raced)
			if err != nil {
				return nil, err
			}
			for j, m := range ms {
				if !created[j] {
					if results[owners[j]].Message = back[m.SendKey]; back[m.SendKey] == nil {
						results[owners[j]].Err = fmt.Errorf("message: send key %s: inserted by another send and not found again", m.SendKey)
					}
				}
			}
		}
		poke(p.wake)
		poke(p.notify)
	}
	// A key repeated in the batch is the same send.
	for i, key := range keys {
		if key != "" && first[key] != i {
			results[i] = results[first[key]]
		}
	}
	return results, nil
}

// stored returns m as the store returns it once inserted: times in UTC to
// the microsecond, which is what a read gives back.
func stored(m *store.OutboxMessage) *store.OutboxMessage {
	c := *m
	for _, t := range []*time.Time{&c.DueAt, &c.CreatedAt, &c.UpdatedAt, &c.SentAt} {
		if !t.IsZero() {
			*t = t.UTC().Truncate(time.Microsecond)
		}
	}
	return &c
}

// messagesByKey reads the messages of keys, by key.
func (p *Pipeline) messagesByKey(ctx context.Context, keys []string) (map[string]*store.OutboxMessage, error) {
	out := make(map[string]*store.OutboxMessage, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	ms, err := p.st.MessagesByKeys(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("message: send keys of a batch: %w", err)
	}
	for _, m := range ms {
		out[m.SendKey] = m
	}
	return out, nil
}

// contacts is contact for many profiles: the profiles, their
// suppressions and their consent read for all of them at once. A profile
// that cannot be found has no contact and its error in missing.
func (p *Pipeline) contacts(ctx context.Context, ids []int64) (map[int64]*contact, map[int64]error, error) {
	out := make(map[int64]*contact, len(ids))
	missing := map[int64]error{}
	if len(ids) == 0 {
		return out, missing, nil
	}
	profs, err := p.st.LoadProfiles(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("message: profiles of a batch: %w", err)
	}
	// addresses by channel, for the suppressions; profile ids (with those
	// merged into them) for the consent.
	addrs := map[provider.Channel][]string{}
	var all []int64
	owner := map[int64][]*contact{}
	for _, id := range ids {
		if out[id] != nil {
			continue
		}
		prof := profs[id]
		if prof == nil {
			// Not live: merged into another (Profile follows the merge),
			// or gone.
			if prof, err = p.st.Profile(ctx, id); errors.Is(err, store.ErrNotFound) {
				missing[id] = err
				continue
			} else if err != nil {
				return nil, nil, fmt.Errorf("message: profile %d: %w", id, err)
			}
		}
		c := &contact{profile: prof, addr: map[provider.Channel]string{}, consent: map[consentKey]store.ConsentRecord{},
			suppressed: map[provider.Channel]string{}}
		if c.ids, err = p.profileIDs(ctx, prof.ID); err != nil {
			return nil, nil, err
		}
		for _, pid := range c.ids {
			if len(owner[pid]) == 0 {
				all = append(all, pid)
			}
			owner[pid] = append(owner[pid], c)
		}
		for _, d := range channel.All() {
			if a := firstOf(prof.Identifiers, d.Address); d.Personal() && a != "" {
				c.addr[d.Name] = a
				addrs[d.Name] = append(addrs[d.Name], a)
			}
		}
		out[id] = c
	}
	for ch, list := range addrs {
		sups, err := p.st.Suppressions(ctx, string(ch), list)
		if err != nil {
			return nil, nil, fmt.Errorf("message: suppressions of %d %s addresses: %w", len(list), ch, err)
		}
		reasons := make(map[string]string, len(sups))
		for _, s := range sups {
			reasons[s.Address] = s.Reason + " (" + s.At.Format(time.DateOnly) + ")"
		}
		for _, c := range out {
			if why := reasons[c.addr[ch]]; why != "" && c.addr[ch] != "" {
				c.suppressed[ch] = why
			}
		}
	}
	states, err := p.st.ConsentState(ctx, all)
	if err != nil {
		return nil, nil, fmt.Errorf("message: consent of %d profiles: %w", len(all), err)
	}
	for _, s := range states {
		k := consentKey{s.Channel, s.Topic}
		for _, c := range owner[s.ProfileID] {
			if old, ok := c.consent[k]; !ok || s.At.After(old.At) {
				c.consent[k] = s
			}
		}
	}
	return out, missing, nil
}
