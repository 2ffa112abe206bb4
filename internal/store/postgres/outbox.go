package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
)

// WriteOutbox inserts events into the outbox, in one statement inside
// the change's transaction.
func (c commerceTx) WriteOutbox(ctx context.Context, evs []*event.Event) error {
	ids := make([]string, len(evs))
	bodies := make([][]byte, len(evs))
	ats := make([]time.Time, len(evs))
	for i, e := range evs {
		body, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("outbox: event %s: %w", e.MessageID, err)
		}
		ids[i], bodies[i], ats[i] = e.MessageID, body, e.ReceivedAt
	}
	if _, err := c.tx.Exec(ctx, queries.Get("insert-outbox"), ids, bodies, ats); err != nil {
		return fmt.Errorf("outbox: %d events from %s: %w", len(evs), ids[0], err)
	}
	return nil
}

// Outbox returns up to limit outbox entries, oldest first.
func (s *Store) Outbox(ctx context.Context, limit int) ([]commerce.OutboxEntry, error) {
	rows, err := s.pool.Query(ctx, queries.Get("outbox"), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: outbox: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (commerce.OutboxEntry, error) {
		var en commerce.OutboxEntry
		var body []byte
		if err := r.Scan(&en.Seq, &body, &en.CreatedAt); err != nil {
			return en, err
		}
		en.CreatedAt = en.CreatedAt.UTC()
		if err := json.Unmarshal(body, &en.Event); err != nil {
			return en, fmt.Errorf("entry %d: %w", en.Seq, err)
		}
		return en, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: outbox: %w", err)
	}
	return out, nil
}

// DeleteOutbox removes delivered entries.
func (s *Store) DeleteOutbox(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, queries.Get("delete-outbox"), seqs); err != nil {
		return fmt.Errorf("postgres: delete outbox: %w", err)
	}
	return nil
}
