package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/profile"
)

// rfmPage is how many profiles RFMInputs reads per query.
const rfmPage = 5000

// RFMInputs reads every live profile's order aggregates.
func (s *Store) RFMInputs(ctx context.Context) ([]profile.RFMInput, error) {
	var out []profile.RFMInput
	var after int64
	for {
		rows, err := s.pool.Query(ctx, queries.Get("live-profiles"), after, rfmPage)
		if err != nil {
			return nil, fmt.Errorf("postgres: rfm inputs: %w", err)
		}
		n := 0
		var id int64
		var state []byte
		if _, err := pgx.ForEachRow(rows, []any{&id, &state}, func() error {
			n, after = n+1, id
			// Only the aggregates are decoded: the rest of the state is not needed.
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
			return nil
		}); err != nil {
			return nil, fmt.Errorf("postgres: rfm inputs: %w", err)
		}
		if n < rfmPage {
			return out, nil
		}
	}
}

// SaveRFM replaces the stored scoring.
func (s *Store) SaveRFM(ctx context.Context, r *profile.RFM) error {
	n := len(r.Scores)
	ids, rs, fs, ms, scores := make([]int64, 0, n), make([]int, 0, n), make([]int, 0, n), make([]int, 0, n), make([]string, 0, n)
	for id, sc := range r.Scores {
		ids, rs, fs, ms, scores = append(ids, id), append(rs, sc.R), append(fs, sc.F), append(ms, sc.M), append(scores, sc.Score)
	}
	q := new(statements)
	q.add("delete-rfm")
	q.add("insert-rfm", ids, rs, fs, ms, scores)
	q.add("save-rfm-run", r.At)
	if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return q.run(ctx, tx) }); err != nil {
		return fmt.Errorf("postgres: save rfm: %w", err)
	}
	return nil
}

// LoadRFM reads the stored scoring; nil when there has been none.
func (s *Store) LoadRFM(ctx context.Context) (*profile.RFM, error) {
	var at time.Time
	err := s.pool.QueryRow(ctx, queries.Get("rfm-run")).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: load rfm: %w", err)
	}
	r := &profile.RFM{At: at.UTC(), Scores: map[int64]profile.RFMScore{}}
	rows, err := s.pool.Query(ctx, queries.Get("rfm-scores"))
	if err != nil {
		return nil, fmt.Errorf("postgres: load rfm: %w", err)
	}
	var id int64
	var sc profile.RFMScore
	if _, err := pgx.ForEachRow(rows, []any{&id, &sc.R, &sc.F, &sc.M, &sc.Score}, func() error {
		r.Scores[id] = sc
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: load rfm: %w", err)
	}
	return r, nil
}
