package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/parcours/parcours/internal/store"
)

// ReadNamedAfter returns up to limit stored events after seq whose name
// (the event column: a track's action) is one of names, in order, as their
// stored JSON, undecoded. A consumer that reads a few kinds of events (the
// recommendation model's rebuild) lets the database skip the others and
// decodes only what it needs of the rest, in parallel.
func (s *Store) ReadNamedAfter(ctx context.Context, after int64, limit int, names []string) ([]store.RawEvent, error) {
	if len(names) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(names)+2)
	args = append(args, after)
	for _, n := range names {
		args = append(args, n)
	}
	args = append(args, limit)
	q := "SELECT seq, body FROM events WHERE seq > ? AND event IN (?" + strings.Repeat(",?", len(names)-1) + ") ORDER BY seq LIMIT ?"
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read named events after %d: %w", after, err)
	}
	defer rows.Close()
	out := make([]store.RawEvent, 0, limit)
	for rows.Next() {
		var r store.RawEvent
		if err := rows.Scan(&r.Seq, &r.Body); err != nil {
			return nil, fmt.Errorf("sqlite: scan event: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read named events: %w", err)
	}
	return out, nil
}
