package privacy

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/unify"
)

// ErasedEvent is the name of the event an erasure announces. It names
// nobody: its properties are the erasure's id and its counts by table.
const ErasedEvent = "Profile Erased"

// Erase removes or irreversibly anonymises everything Parcours holds on
// the person whose profile is id, in one transaction of the store (see
// store.Privacy.ErasePerson and docs/security.md#erasure):
//
//   - the events in the log are rewritten as stubs (ErasedEvent in the
//     store package: position, source, type, name and times only), so the
//     log keeps its order and every consumer's checkpoint stays valid;
//   - orders keep their lines and totals (accounting must keep them for
//     ten years, Code de commerce L123-22) without the customer;
//   - everything else that names them is deleted: profiles, identifiers,
//     timeline, merges, segment memberships and history, journey
//     enrolments (they leave every journey), queued and sent messages
//     (queued ones are never sent), consent, suppressions by address,
//     carts, tasks, measure's per-profile rows;
//   - the identifiers are kept as hashes (store.IdentifierHash), so that a
//     late event carrying one of them creates nobody (Suppressor).
//
// The behaviour index forgets the profiles, the log's in-memory tail is
// emptied, and a Profile Erased event is announced. The unify stage is
// held while it runs, so no batch writes the profile back.
func (s *Service) Erase(ctx context.Context, id int64, reason string) (*store.Erasure, error) {
	var rec *store.Erasure
	var profiles []int64
	run := func(ctx context.Context) error {
		// Nobody to erase: say so at once, without waiting on the stages.
		if _, err := s.Store.Profile(ctx, id); err != nil {
			return err
		}
		if err := s.drain(ctx); err != nil {
			return fmt.Errorf("privacy: erase profile %d: %w", id, err)
		}
		person, _, err := s.Person(ctx, id)
		if err != nil {
			return err
		}
		person.Suppress = true
		profiles = person.Profiles
		rec, err = s.Store.ErasePerson(ctx, person, s.clock().Now().UTC(), reason)
		return err
	}
	var err error
	if s.Unify != nil {
		err = s.Unify.Exclusive(ctx, run)
	} else {
		err = run(ctx)
	}
	if err != nil {
		return nil, err
	}
	if s.Index != nil {
		if err := s.Index.Forget(profiles); err != nil {
			return rec, fmt.Errorf("privacy: erasure %d: behaviour index: %w", rec.ID, err)
		}
	}
	if s.Emit != nil {
		props, _ := json.Marshal(map[string]any{"erasure_id": rec.ID, "counts": rec.Counts})
		now := s.clock().Now().UTC()
		e := &event.Event{MessageID: "erasure:" + strconv.FormatInt(rec.ID, 10), Type: event.Track, Event: ErasedEvent,
			Properties: props, Timestamp: now, ReceivedAt: now, SourceID: unify.SourceID, Channel: profile.InternalChannel}
		if err := s.Emit.Submit(ctx, []*event.Event{e}, nil); err != nil {
			return rec, fmt.Errorf("privacy: erasure %d: announce: %w", rec.ID, err)
		}
	}
	return rec, nil
}
