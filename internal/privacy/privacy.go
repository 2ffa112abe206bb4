// Package privacy is what Parcours does for the people it holds data on
// and for the law that protects them: an access request's archive of
// everything held on a person (Export), erasure (Erase), the suppression
// that keeps an erased person from being created again by a late event
// (Suppressor), and retention (Retention). docs/security.md explains each
// with runnable examples.
package privacy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/unify"
)

// Store is what privacy reads and writes.
type Store interface {
	store.Privacy
	Profile(ctx context.Context, id int64) (*profile.Profile, error)
	ProfileSeqs(ctx context.Context, profileID int64) ([]int64, error)
	MergeLog(ctx context.Context, profileID int64) ([]store.MergeRecord, error)
	Holders(ctx context.Context, ids []identity.Identifier) (map[identity.Identifier]int64, error)
	ListEvents(ctx context.Context, q store.EventQuery) ([]*event.Event, error)
	Checkpoint(ctx context.Context, consumer string) (int64, error)
}

// Exclusive runs fn while the unify stage is idle, and makes it forget
// what it cached (unify.Stage.Exclusive): erasure must not race a batch
// that would write the profile back.
type Exclusive interface {
	Exclusive(ctx context.Context, fn func(ctx context.Context) error) error
}

// Forgetter forgets profiles from a derived file (the behaviour index,
// segment.Index.Forget).
type Forgetter interface {
	Forget(ids []int64) error
}

// Sink receives the event an erasure announces (collect.Committer).
type Sink interface {
	Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error
}

// Service answers access and erasure requests.
type Service struct {
	Store Store
	Clock clock.Clock
	// Rules normalise an identifier looked up (nil: the defaults).
	Rules *identity.Rules
	// Unify, if set, is the running unify stage; nil when serve is
	// stopped (the CLI on the data directory).
	Unify Exclusive
	// Index, if set, is the behaviour index to forget the person in.
	Index Forgetter
	// Emit, if set, receives the Profile Erased event.
	Emit Sink
	// Behind are the consumers of the log that read behind unify
	// (segments, consent, commerce, measure, journeys): with Unify set,
	// an erasure waits (up to DrainTimeout) for them to reach unify's
	// checkpoint, so that none of them is holding the person's events
	// read before the erasure, to write them back after.
	Behind       []string
	DrainTimeout time.Duration
}

// drain waits until every consumer in Behind has reached unify's
// checkpoint (unify being held, it does not move).
func (s *Service) drain(ctx context.Context) error {
	if len(s.Behind) == 0 {
		return nil
	}
	target, err := s.Store.Checkpoint(ctx, unify.Consumer)
	if err != nil {
		return err
	}
	timeout := s.DrainTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for _, c := range s.Behind {
		for {
			cp, err := s.Store.Checkpoint(ctx, c)
			if err != nil {
				return err
			}
			if cp >= target || time.Now().After(deadline) {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return nil
}

func (s *Service) clock() clock.Clock {
	if s.Clock == nil {
		return clock.System{}
	}
	return s.Clock
}

// Lookup returns the profile holding an identifier ("email:ana@example.fr",
// or a raw kind and value normalised by the rules).
func (s *Service) Lookup(ctx context.Context, raw identity.Raw) (int64, error) {
	rules := s.Rules
	if rules == nil {
		rules = identity.DefaultRules()
	}
	id, why := rules.Normalize(raw)
	if why != "" {
		return 0, problem.Invalid(string(raw.Kind), why)
	}
	holders, err := s.Store.Holders(ctx, []identity.Identifier{id})
	if err != nil {
		return 0, err
	}
	if holders[id] == 0 {
		return 0, &problem.NotFoundError{Kind: "profile", ID: id.String(), Hint: "no profile holds this identifier (erased already, or never seen)"}
	}
	return holders[id], nil
}

// Person gathers everything that names the person whose profile is id (a
// merged profile leads to the one it was merged into): the profile and
// every profile merged into it, their identifiers, and their events —
// those on the timeline and those carrying one of their user or anonymous
// ids that unify has not reached yet.
func (s *Service) Person(ctx context.Context, id int64) (*store.Person, *profile.Profile, error) {
	p, err := s.Store.Profile(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	person := &store.Person{Profiles: []int64{p.ID}, Identifiers: slices.Clone(p.Identifiers)}
	// The email and phone as they were sent, before normalisation.
	for name, tr := range p.Traits {
		var s string
		if (strings.Contains(name, "email") || strings.Contains(name, "phone")) && json.Unmarshal(tr.Value, &s) == nil {
			person.Texts = append(person.Texts, s)
		}
	}
	// The profiles merged into it, transitively.
	for i := 0; i < len(person.Profiles); i++ {
		log, err := s.Store.MergeLog(ctx, person.Profiles[i])
		if err != nil {
			return nil, nil, fmt.Errorf("privacy: merges of profile %d: %w", person.Profiles[i], err)
		}
		for _, m := range log {
			if m.Profile == person.Profiles[i] && !slices.Contains(person.Profiles, m.Merged) {
				person.Profiles = append(person.Profiles, m.Merged)
			}
		}
	}
	seqs, err := s.Store.ProfileSeqs(ctx, p.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("privacy: events of profile %d: %w", p.ID, err)
	}
	seen := make(map[int64]bool, len(seqs))
	for _, q := range seqs {
		seen[q] = true
	}
	// Events up to unify's checkpoint are on the timeline; past it, they
	// are found by the ids they carry.
	unified, err := s.Store.Checkpoint(ctx, unify.Consumer)
	if err != nil {
		return nil, nil, fmt.Errorf("privacy: unify's checkpoint: %w", err)
	}
	for _, x := range person.Identifiers {
		if x.Kind != identity.UserID && x.Kind != identity.AnonymousID {
			continue
		}
		after := unified
		for {
			list, err := s.Store.ListEvents(ctx, store.EventQuery{Identifier: x.Value, After: after, Ascending: true, Limit: 1000})
			if err != nil {
				return nil, nil, fmt.Errorf("privacy: events of %s: %w", x.Kind, err)
			}
			for _, e := range list {
				if !seen[e.Seq] && (e.UserID == x.Value || e.AnonymousID == x.Value) {
					seen[e.Seq] = true
					seqs = append(seqs, e.Seq)
				}
			}
			if len(list) < 1000 {
				break
			}
			after = list[len(list)-1].Seq
		}
	}
	slices.Sort(seqs)
	person.Seqs = seqs
	return person, p, nil
}
