package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/profile"
)

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
