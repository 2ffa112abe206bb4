package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// Holders returns the holder of each identifier that has one.
func (s *Store) Holders(ctx context.Context, ids []identity.Identifier) (map[identity.Identifier]int64, error) {
	out := make(map[identity.Identifier]int64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	q := s.r.QueryRowContext
	if len(ids) > 4 {
		// Many lookups (a unify batch) share one prepared statement.
		stmt, err := s.r.PrepareContext(ctx, queries.Get("holder"))
		if err != nil {
			return nil, fmt.Errorf("sqlite: holders: %w", err)
		}
		defer stmt.Close()
		q = func(ctx context.Context, _ string, args ...any) *sql.Row { return stmt.QueryRowContext(ctx, args...) }
	}
	for _, id := range ids {
		var p int64
		err := q(ctx, queries.Get("holder"), string(id.Kind), id.Value).Scan(&p)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: holder of %s: %w", id, err)
		}
		out[id] = p
	}
	return out, nil
}

// LoadProfiles returns the live profiles among ids.
func (s *Store) LoadProfiles(ctx context.Context, ids []int64) (map[int64]*profile.Profile, error) {
	out := make(map[int64]*profile.Profile, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	stmt, err := s.r.PrepareContext(ctx, queries.Get("profile-state"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: load profiles: %w", err)
	}
	defer stmt.Close()
	for _, id := range ids {
		p, _, err := loadProfile(ctx, stmt.QueryRowContext, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if p != nil {
			out[id] = p
		}
	}
	return out, nil
}

// rowQuerier runs a one-row query: a *sql.DB or a prepared *sql.Stmt.
type rowQuerier func(ctx context.Context, args ...any) *sql.Row

// loadProfile reads one row: the live profile, or the id it was merged into.
func loadProfile(ctx context.Context, q rowQuerier, id int64) (*profile.Profile, int64, error) {
	var got int64
	var into sql.NullInt64
	var state []byte
	err := q(ctx, id).Scan(&got, &into, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fmt.Errorf("sqlite: profile %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: profile %d: %w", id, err)
	}
	if into.Valid {
		return nil, into.Int64, nil
	}
	p, err := profile.Unmarshal(state)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: profile %d: %w", id, err)
	}
	p.ID = id
	return p, 0, nil
}

// Profile returns a profile, following merges.
func (s *Store) Profile(ctx context.Context, id int64) (*profile.Profile, error) {
	q := func(ctx context.Context, args ...any) *sql.Row {
		return s.r.QueryRowContext(ctx, queries.Get("profile-state"), args...)
	}
	for range 1000 { // merge chains are short; this bounds a corrupt cycle
		p, into, err := loadProfile(ctx, q, id)
		if err != nil || p != nil {
			return p, err
		}
		id = into
	}
	return nil, fmt.Errorf("sqlite: profile %d: merge chain too long", id)
}

// ApplyUnify writes a unify batch and the checkpoint in one transaction.
func (s *Store) ApplyUnify(ctx context.Context, b *store.UnifyBatch) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: apply unify batch: %w", err)
	}
	defer tx.Rollback()
	if err := applyUnify(ctx, tx, b); err != nil {
		return fmt.Errorf("sqlite: apply unify batch: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: apply unify batch: commit: %w", err)
	}
	return nil
}

func applyUnify(ctx context.Context, tx *sql.Tx, b *store.UnifyBatch) error {
	now := time.Now().UnixMicro()
	for _, m := range b.Merged {
		for _, q := range []struct {
			name string
			args []any
		}{
			{"move-identifiers", []any{m.Into, m.ID}},
			{"move-timeline", []any{m.Into, m.ID}},
			{"delete-timeline", []any{m.ID}},
			{"mark-merged", []any{m.ID, m.Into, now}},
		} {
			if _, err := tx.ExecContext(ctx, queries.Get(q.name), q.args...); err != nil {
				return fmt.Errorf("merge %d into %d: %w", m.ID, m.Into, err)
			}
		}
	}
	if err := execEach(ctx, tx, "upsert-profile", len(b.Profiles), func(i int) ([]any, error) {
		state, err := b.Profiles[i].Marshal()
		return []any{b.Profiles[i].ID, state, now}, err
	}); err != nil {
		return err
	}
	if err := execEach(ctx, tx, "upsert-identifier", len(b.Links), func(i int) ([]any, error) {
		l := b.Links[i]
		return []any{string(l.Identifier.Kind), l.Identifier.Value, l.Profile}, nil
	}); err != nil {
		return err
	}
	if err := execEach(ctx, tx, "insert-timeline", len(b.Timeline), func(i int) ([]any, error) {
		t := b.Timeline[i]
		return []any{t.Profile, micros(t.At), t.Seq}, nil
	}); err != nil {
		return err
	}
	if err := execEach(ctx, tx, "insert-merge", len(b.Merges), func(i int) ([]any, error) {
		m := b.Merges[i]
		ids, err := json.Marshal(m.Identifiers)
		return []any{micros(m.At), m.EventSeq, m.Profile, m.Merged, string(ids)}, err
	}); err != nil {
		return err
	}
	if err := execEach(ctx, tx, "insert-refusal", len(b.Refusals), func(i int) ([]any, error) {
		r := b.Refusals[i]
		return []any{micros(r.At), r.EventSeq, r.Profile, string(r.Identifier.Kind), r.Identifier.Value, r.Holder, r.Reason}, nil
	}); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, queries.Get("advance-checkpoint"), b.Consumer, b.Checkpoint, now)
	return err
}

// execEach runs the named statement n times with the arguments args(i).
func execEach(ctx context.Context, tx *sql.Tx, name string, n int, args func(i int) ([]any, error)) error {
	if n == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, queries.Get(name))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer stmt.Close()
	for i := range n {
		a, err := args(i)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if _, err := stmt.ExecContext(ctx, a...); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// Timeline returns a profile's events, newest first.
func (s *Store) Timeline(ctx context.Context, q store.TimelineQuery) ([]*event.Event, error) {
	w := &store.Where{Placeholder: store.QuestionMark}
	w.Add("p.profile_id = ?", q.Profile)
	w.Eq("e.type", string(q.Type))
	w.Eq("e.event", q.Event)
	w.Eq("e.source_id", q.SourceID)
	if q.Channel != "" {
		w.Add("json_extract(e.body, '$.channel') = ?", q.Channel)
	}
	if !q.Since.IsZero() {
		w.Add("p.ts >= ?", micros(q.Since))
	}
	if !q.Until.IsZero() {
		w.Add("p.ts < ?", micros(q.Until))
	}
	if !q.BeforeAt.IsZero() {
		w.Add("(p.ts < ? OR (p.ts = ? AND p.seq < ?))", micros(q.BeforeAt), micros(q.BeforeAt), q.BeforeSeq)
	}
	where, args, marks := w.SQL(store.FeedPage.Size(q.Limit))
	rows, err := s.r.QueryContext(ctx, `SELECT e.seq, e.body FROM profile_events p JOIN events e ON e.seq = p.seq`+
		where+` ORDER BY p.ts DESC, p.seq DESC LIMIT `+marks[0], args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: timeline: %w", err)
	}
	return scanEvents(rows)
}

// ProfileSeqs returns the log positions of a profile's events.
func (s *Store) ProfileSeqs(ctx context.Context, profileID int64) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("profile-seqs"), profileID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: profile events: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, fmt.Errorf("sqlite: profile events: %w", err)
		}
		out = append(out, seq)
	}
	return out, rows.Err()
}

// MergeLog returns the merges a profile took part in.
func (s *Store) MergeLog(ctx context.Context, profileID int64) ([]store.MergeRecord, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("merge-log"), profileID, profileID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: merge log: %w", err)
	}
	defer rows.Close()
	var out []store.MergeRecord
	for rows.Next() {
		var m store.MergeRecord
		var at int64
		var ids string
		var undone sql.NullInt64
		if err := rows.Scan(&m.ID, &at, &m.EventSeq, &m.Profile, &m.Merged, &ids, &undone); err != nil {
			return nil, fmt.Errorf("sqlite: merge log: %w", err)
		}
		m.At, m.UndoneAt = fromMicros(at), nullMicros(undone)
		if err := json.Unmarshal([]byte(ids), &m.Identifiers); err != nil {
			return nil, fmt.Errorf("sqlite: merge log %d: %w", m.ID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Refusals returns a profile's refused identifiers, newest first.
func (s *Store) Refusals(ctx context.Context, profileID int64, limit int) ([]store.RefusalRecord, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("refusals"), profileID, store.ListPage.Size(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: refusals: %w", err)
	}
	defer rows.Close()
	var out []store.RefusalRecord
	for rows.Next() {
		var r store.RefusalRecord
		var at int64
		var kind string
		if err := rows.Scan(&r.ID, &at, &r.EventSeq, &r.Profile, &kind, &r.Identifier.Value, &r.Holder, &r.Reason); err != nil {
			return nil, fmt.Errorf("sqlite: refusals: %w", err)
		}
		r.At, r.Identifier.Kind = fromMicros(at), identity.Kind(kind)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ResetUnify deletes everything derived by unify.
func (s *Store) ResetUnify(ctx context.Context, consumer string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: reset unify: %w", err)
	}
	defer tx.Rollback()
	for _, table := range []string{"profiles", "identifiers", "profile_events", "merges", "identity_refusals", "rfm_scores", "rfm_runs"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table); err != nil {
			return fmt.Errorf("sqlite: reset unify: %s: %w", table, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM checkpoints WHERE consumer = ?", consumer); err != nil {
		return fmt.Errorf("sqlite: reset unify: %w", err)
	}
	return tx.Commit()
}

// ForgetProfile deletes a profile's row, identifiers and timeline, and
// marks its merges undone.
func (s *Store) ForgetProfile(ctx context.Context, profileID int64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: forget profile: %w", err)
	}
	defer tx.Rollback()
	for _, q := range []struct {
		name string
		args []any
	}{
		{"forget-profile", []any{profileID}},
		{"forget-identifiers", []any{profileID}},
		{"delete-timeline", []any{profileID}},
		{"undo-merges", []any{time.Now().UnixMicro(), profileID, profileID}},
	} {
		if _, err := tx.ExecContext(ctx, queries.Get(q.name), q.args...); err != nil {
			return fmt.Errorf("sqlite: forget profile %d: %w", profileID, err)
		}
	}
	return tx.Commit()
}

// AddExclusion records a link an event must not make.
func (s *Store) AddExclusion(ctx context.Context, x store.Exclusion) error {
	if _, err := s.w.ExecContext(ctx, queries.Get("insert-exclusion"), x.EventSeq, string(x.Identifier.Kind), x.Identifier.Value); err != nil {
		return fmt.Errorf("sqlite: add exclusion: %w", err)
	}
	return nil
}

// Exclusions lists every recorded exclusion.
func (s *Store) Exclusions(ctx context.Context) ([]store.Exclusion, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("exclusions"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: exclusions: %w", err)
	}
	defer rows.Close()
	var out []store.Exclusion
	for rows.Next() {
		var x store.Exclusion
		var kind string
		if err := rows.Scan(&x.EventSeq, &kind, &x.Identifier.Value); err != nil {
			return nil, fmt.Errorf("sqlite: exclusions: %w", err)
		}
		x.Identifier.Kind = identity.Kind(kind)
		out = append(out, x)
	}
	return out, rows.Err()
}

// RFMInputs reads every live profile's order aggregates.
func (s *Store) RFMInputs(ctx context.Context) ([]profile.RFMInput, error) {
	var out []profile.RFMInput
	var after int64
	for {
		rows, err := s.r.QueryContext(ctx, queries.Get("live-profiles"), after, 5000)
		if err != nil {
			return nil, fmt.Errorf("sqlite: rfm inputs: %w", err)
		}
		n := 0
		for rows.Next() {
			var id int64
			var state []byte
			if err := rows.Scan(&id, &state); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: rfm inputs: %w", err)
			}
			n, after = n+1, id
			var st struct {
				Agg struct {
					Orders      int       `json:"orders"`
					Revenue     int64     `json:"revenue_cents"`
					LastOrderAt time.Time `json:"last_order_at"`
				} `json:"aggregates"`
			}
			if json.Unmarshal(state, &st) == nil && st.Agg.Orders > 0 {
				out = append(out, profile.RFMInput{Profile: id, Orders: st.Agg.Orders, Revenue: st.Agg.Revenue, LastOrderAt: st.Agg.LastOrderAt})
			}
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if n == 0 {
			return out, nil
		}
	}
}

// SaveRFM replaces the stored scoring.
func (s *Store) SaveRFM(ctx context.Context, r *profile.RFM) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: save rfm: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM rfm_scores"); err != nil {
		return fmt.Errorf("sqlite: save rfm: %w", err)
	}
	ids := make([]int64, 0, len(r.Scores))
	for id := range r.Scores {
		ids = append(ids, id)
	}
	if err := execEach(ctx, tx, "insert-rfm", len(ids), func(i int) ([]any, error) {
		sc := r.Scores[ids[i]]
		return []any{ids[i], sc.R, sc.F, sc.M, sc.Score}, nil
	}); err != nil {
		return fmt.Errorf("sqlite: save rfm: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO rfm_runs (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at", micros(r.At)); err != nil {
		return fmt.Errorf("sqlite: save rfm: %w", err)
	}
	return tx.Commit()
}

// LoadRFM reads the stored scoring; nil when there has been none.
func (s *Store) LoadRFM(ctx context.Context) (*profile.RFM, error) {
	var at int64
	err := s.r.QueryRowContext(ctx, queries.Get("rfm-run")).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: load rfm: %w", err)
	}
	r := &profile.RFM{At: fromMicros(at), Scores: map[int64]profile.RFMScore{}}
	rows, err := s.r.QueryContext(ctx, queries.Get("rfm-scores"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: load rfm: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var sc profile.RFMScore
		if err := rows.Scan(&id, &sc.R, &sc.F, &sc.M, &sc.Score); err != nil {
			return nil, fmt.Errorf("sqlite: load rfm: %w", err)
		}
		r.Scores[id] = sc
	}
	return r, rows.Err()
}

// ProfileCount counts live profiles.
func (s *Store) ProfileCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, queries.Get("profile-count")).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: profile count: %w", err)
	}
	return n, nil
}

// ListProfiles returns live profiles by id, after the given one.
func (s *Store) ListProfiles(ctx context.Context, after int64, limit int) ([]*profile.Profile, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("live-profiles"), after, store.ScanPage.Size(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list profiles: %w", err)
	}
	defer rows.Close()
	var out []*profile.Profile
	for rows.Next() {
		var id int64
		var state []byte
		if err := rows.Scan(&id, &state); err != nil {
			return nil, fmt.Errorf("sqlite: list profiles: %w", err)
		}
		p, err := profile.Unmarshal(state)
		if err != nil {
			return nil, fmt.Errorf("sqlite: profile %d: %w", id, err)
		}
		p.ID = id
		out = append(out, p)
	}
	return out, rows.Err()
}
