package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/store"
)

// ApplyUnify writes a unify batch and the checkpoint in one transaction.
//
// A batch holds thousands of rows. Its statements are queued in one
// pgx.Batch, in the order they must run, and sent in one round trip; they
// still run one after the other, in the transaction.
func (s *Store) ApplyUnify(ctx context.Context, b *store.UnifyBatch) error {
	q, err := unifyStatements(b)
	if err != nil {
		return fmt.Errorf("postgres: apply unify batch: %w", err)
	}
	if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return q.run(ctx, tx) }); err != nil {
		return fmt.Errorf("postgres: apply unify batch: %w", err)
	}
	return nil
}

// unifyStatements queues the statements that write b: merges first, in
// order, then the profiles, links, timeline, logs and the checkpoint.
func unifyStatements(b *store.UnifyBatch) (*statements, error) {
	q := new(statements)
	for _, m := range b.Merged {
		q.add("move-identifiers", m.Into, m.ID)
		q.add("move-timeline", m.Into, m.ID)
		q.add("delete-timeline", m.ID)
		q.add("mark-merged", m.ID, m.Into)
	}
	// Profiles, links and timeline rows go in one statement each, over
	// arrays: a statement per row cost PostgreSQL a parse and an executor
	// start for every event. A row that appears twice keeps its last value,
	// as the statements one by one did.
	if len(b.Profiles) > 0 {
		at := map[int64]int{}
		var ids []int64
		var states [][]byte
		for _, p := range b.Profiles {
			state, err := p.Marshal()
			if err != nil {
				return nil, fmt.Errorf("profile %d: %w", p.ID, err)
			}
			if i, ok := at[p.ID]; ok {
				states[i] = state
				continue
			}
			at[p.ID] = len(ids)
			ids, states = append(ids, p.ID), append(states, state)
		}
		q.add("upsert-profiles", ids, states)
	}
	if len(b.Links) > 0 {
		at := map[[2]string]int{}
		var kinds, values []string
		var owners []int64
		for _, l := range b.Links {
			k := [2]string{string(l.Identifier.Kind), l.Identifier.Value}
			if i, ok := at[k]; ok {
				owners[i] = l.Profile
				continue
			}
			at[k] = len(kinds)
			kinds, values, owners = append(kinds, k[0]), append(values, k[1]), append(owners, l.Profile)
		}
		q.add("upsert-identifiers", kinds, values, owners)
	}
	if len(b.Timeline) > 0 {
		profiles, ats, seqs := make([]int64, len(b.Timeline)), make([]time.Time, len(b.Timeline)), make([]int64, len(b.Timeline))
		for i, t := range b.Timeline {
			profiles[i], ats[i], seqs[i] = t.Profile, t.At, t.Seq
		}
		q.add("insert-timelines", profiles, ats, seqs)
	}
	for _, m := range b.Merges {
		ids, err := json.Marshal(m.Identifiers)
		if err != nil {
			return nil, fmt.Errorf("merge of %d into %d: %w", m.Merged, m.Profile, err)
		}
		q.add("insert-merge", m.At, m.EventSeq, m.Profile, m.Merged, ids)
	}
	for _, r := range b.Refusals {
		q.add("insert-refusal", r.At, r.EventSeq, r.Profile, string(r.Identifier.Kind), r.Identifier.Value, r.Holder, r.Reason)
	}
	q.add("advance-checkpoint", b.Consumer, b.Checkpoint)
	return q, nil
}

// statements is a pgx.Batch of named queries, which remembers the names so
// that an error says which statement failed.
type statements struct {
	batch pgx.Batch
	names []string
}

func (q *statements) add(name string, args ...any) {
	q.batch.Queue(queries.Get(name), args...)
	q.names = append(q.names, name)
}

// run sends the statements in one round trip and reads every result.
func (q *statements) run(ctx context.Context, tx pgx.Tx) error {
	if len(q.names) == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, &q.batch)
	for i, name := range q.names {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return fmt.Errorf("statement %d (%s): %w", i+1, name, err)
		}
	}
	return br.Close()
}

// ResetUnify deletes everything derived by unify, and the consumer's
// checkpoint.
func (s *Store) ResetUnify(ctx context.Context, consumer string) error {
	q := new(statements)
	q.add("reset-unify")
	q.add("delete-checkpoint", consumer)
	if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return q.run(ctx, tx) }); err != nil {
		return fmt.Errorf("postgres: reset unify: %w", err)
	}
	return nil
}

// ForgetProfile deletes a profile's row, identifiers and timeline, and
// marks its merges undone.
func (s *Store) ForgetProfile(ctx context.Context, profileID int64) error {
	q := new(statements)
	q.add("forget-profile", profileID)
	q.add("forget-identifiers", profileID)
	q.add("delete-timeline", profileID)
	q.add("undo-merges", profileID)
	if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return q.run(ctx, tx) }); err != nil {
		return fmt.Errorf("postgres: forget profile %d: %w", profileID, err)
	}
	return nil
}

// AddExclusion records a link an event must not make.
func (s *Store) AddExclusion(ctx context.Context, x store.Exclusion) error {
	if _, err := s.pool.Exec(ctx, queries.Get("insert-exclusion"), x.EventSeq, string(x.Identifier.Kind), x.Identifier.Value); err != nil {
		return fmt.Errorf("postgres: add exclusion: %w", err)
	}
	return nil
}

// Exclusions lists every recorded exclusion.
func (s *Store) Exclusions(ctx context.Context) ([]store.Exclusion, error) {
	rows, err := s.pool.Query(ctx, queries.Get("exclusions"))
	if err != nil {
		return nil, fmt.Errorf("postgres: exclusions: %w", err)
	}
	var out []store.Exclusion
	var x store.Exclusion
	if _, err := pgx.ForEachRow(rows, []any{&x.EventSeq, &x.Identifier.Kind, &x.Identifier.Value}, func() error {
		out = append(out, x)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: exclusions: %w", err)
	}
	return out, nil
}
