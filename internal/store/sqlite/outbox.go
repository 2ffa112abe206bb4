package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
)

// WriteOutbox inserts events into the outbox, inside the change's
// transaction (or savepoint).
func (c commerceTx) WriteOutbox(ctx context.Context, evs []*event.Event) error {
	for _, e := range evs {
		body, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("outbox: event %s: %w", e.MessageID, err)
		}
		if _, err := c.tx.ExecContext(ctx, queries.Get("insert-outbox"), e.MessageID, body, micros(e.ReceivedAt)); err != nil {
			return fmt.Errorf("outbox: event %s: %w", e.MessageID, err)
		}
	}
	return nil
}

// Outbox returns up to limit outbox entries, oldest first.
func (s *Store) Outbox(ctx context.Context, limit int) ([]commerce.OutboxEntry, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("outbox"), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: outbox: %w", err)
	}
	defer rows.Close()
	var out []commerce.OutboxEntry
	for rows.Next() {
		var en commerce.OutboxEntry
		var body []byte
		var at int64
		if err := rows.Scan(&en.Seq, &body, &at); err != nil {
			return nil, fmt.Errorf("sqlite: outbox: %w", err)
		}
		en.CreatedAt = fromMicros(at)
		if err := json.Unmarshal(body, &en.Event); err != nil {
			return nil, fmt.Errorf("sqlite: outbox: entry %d: %w", en.Seq, err)
		}
		out = append(out, en)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: outbox: %w", err)
	}
	return out, nil
}

// DeleteOutbox removes delivered entries.
func (s *Store) DeleteOutbox(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	list, _ := json.Marshal(seqs) // a slice of integers always encodes
	return s.inTx(ctx, "delete outbox", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, queries.Get("delete-outbox"), string(list))
		return err
	})
}
