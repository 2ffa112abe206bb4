package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/store"
)

// ReadNamedAfter returns up to limit stored events after seq whose name is
// one of names, in order, as their stored JSON, undecoded (see the SQLite
// store's).
func (s *Store) ReadNamedAfter(ctx context.Context, after int64, limit int, names []string) ([]store.RawEvent, error) {
	if len(names) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, "SELECT seq, body::text FROM events WHERE seq > $1 AND event = ANY($2) ORDER BY seq LIMIT $3", after, names, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: read named events after %d: %w", after, err)
	}
	out := make([]store.RawEvent, 0, limit)
	var r store.RawEvent
	var body string
	_, err = pgx.ForEachRow(rows, []any{&r.Seq, &body}, func() error {
		out = append(out, store.RawEvent{Seq: r.Seq, Body: []byte(body)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read named events: %w", err)
	}
	return out, nil
}
