package privacy

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/store"
)

// Suppressor keeps the identifiers of erased people from being linked to a
// profile again (unify.Suppressor): a late event carrying an erased email
// or phone is erased on arrival (applied to nobody, rewritten as a stub in
// the log), unless it brings
// new consent (an identify granting an opt-in trait such as
// email_opt_in: true), which lifts the suppression: the person came back.
type Suppressor struct {
	Store interface {
		ErasedIdentifiers(ctx context.Context, hashes []string) (map[string]bool, error)
		LiftErasure(ctx context.Context, hashes []string) error
		ErasePerson(ctx context.Context, p *store.Person, at time.Time, reason string) (*store.Erasure, error)
	}
	Clock clock.Clock
}

// Filter reports which events carry an erased person's identifier among
// ids[i] (the identifiers of events[i] that no profile holds), and lifts
// the suppression of those whose event grants consent.
func (s *Suppressor) Filter(ctx context.Context, events []*event.Event, ids [][]identity.Identifier) ([]bool, error) {
	hashOf := map[identity.Identifier]string{}
	var hashes []string
	for _, list := range ids {
		for _, id := range list {
			if _, ok := hashOf[id]; !ok {
				h := store.IdentifierHash(id)
				hashOf[id] = h
				hashes = append(hashes, h)
			}
		}
	}
	out := make([]bool, len(events))
	if len(hashes) == 0 {
		return out, nil
	}
	erased, err := s.Store.ErasedIdentifiers(ctx, hashes)
	if err != nil || len(erased) == 0 {
		return out, err
	}
	var lift []string
	for i, list := range ids {
		consent := GrantsConsent(events[i])
		for _, id := range list {
			if h := hashOf[id]; erased[h] {
				if consent {
					lift = append(lift, h)
				} else {
					out[i] = true
				}
			}
		}
	}
	if len(lift) > 0 {
		return out, s.Store.LiftErasure(ctx, lift)
	}
	return out, nil
}

// Scrub rewrites late events of erased people as stubs in the log (an
// erasure of those events alone, recorded with its reason).
func (s *Suppressor) Scrub(ctx context.Context, seqs []int64) error {
	clk := s.Clock
	if clk == nil {
		clk = clock.System{}
	}
	_, err := s.Store.ErasePerson(ctx, &store.Person{Seqs: seqs}, clk.Now().UTC(), "late events of erased people")
	return err
}

// GrantsConsent reports whether e is an identify whose traits grant an
// opt-in on some channel (email_opt_in: true, sms_opt_in: true, ...).
func GrantsConsent(e *event.Event) bool {
	if e.Type != event.Identify || len(e.Traits) == 0 || !channel.MentionsOptIn(string(e.Traits)) {
		return false
	}
	var traits map[string]json.RawMessage
	if json.Unmarshal(e.Traits, &traits) != nil {
		return false
	}
	for name, raw := range traits {
		if _, ok := channel.ByOptInTrait(name); ok && bytes.Equal(bytes.TrimSpace(raw), []byte("true")) {
			return true
		}
	}
	return false
}
