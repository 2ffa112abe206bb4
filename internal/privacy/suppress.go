package privacy

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/store"
)

// Suppressor keeps the identifiers of erased people from being linked to a
// profile again (unify.Suppressor): a late event carrying an erased email
// or phone is applied without it, so it creates nobody, unless it brings
// new consent (an identify granting an opt-in trait such as
// email_opt_in: true), which lifts the suppression: the person came back.
type Suppressor struct {
	Store interface {
		ErasedIdentifiers(ctx context.Context, hashes []string) (map[string]bool, error)
		LiftErasure(ctx context.Context, hashes []string) error
	}
}

// Filter removes the erased identifiers from ids[i] (the identifiers of
// events[i] that no profile holds), or lifts their suppression when the
// event grants consent.
func (s *Suppressor) Filter(ctx context.Context, events []*event.Event, ids [][]identity.Identifier) error {
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
	if len(hashes) == 0 {
		return nil
	}
	erased, err := s.Store.ErasedIdentifiers(ctx, hashes)
	if err != nil || len(erased) == 0 {
		return err
	}
	var lift []string
	for i, list := range ids {
		kept := list[:0:0]
		consent := GrantsConsent(events[i])
		for _, id := range list {
			switch h := hashOf[id]; {
			case !erased[h]:
				kept = append(kept, id)
			case consent:
				lift = append(lift, h)
				kept = append(kept, id)
			}
		}
		ids[i] = kept
	}
	if len(lift) > 0 {
		return s.Store.LiftErasure(ctx, lift)
	}
	return nil
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
