package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

var _ store.Messages = (*Store)(nil)

// optTime stores a zero time as NULL.
func optTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// EnqueueMessages inserts messages, skipping send keys already present.
func (s *Store) EnqueueMessages(ctx context.Context, ms []*store.OutboxMessage) ([]bool, error) {
	created := make([]bool, len(ms))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for i, m := range ms {
			err := tx.QueryRow(ctx, queries.Get("enqueue-message"), m.SendKey, m.ProfileID, m.UserID, m.AnonymousID,
				m.Channel, m.ChannelReason, m.Topic, m.Transactional, m.TemplateID, m.Campaign, m.Address, []byte(m.Payload),
				m.Status, m.Reason, optTime(m.DueAt), m.CreatedAt, m.CreatedAt).Scan(&m.ID)
			if errors.Is(err, pgx.ErrNoRows) {
				if err := tx.QueryRow(ctx, queries.Get("message-id-by-key"), m.SendKey).Scan(&m.ID); err != nil {
					return fmt.Errorf("message %s: %w", m.SendKey, err)
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("message %s: %w", m.SendKey, err)
			}
			m.UpdatedAt, m.Version = m.CreatedAt, 1
			created[i] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: enqueue messages: %w", err)
	}
	return created, nil
}

func scanMessage(r pgx.Row) (*store.OutboxMessage, error) {
	var m store.OutboxMessage
	var due, sent, called *time.Time
	var payload []byte
	if err := r.Scan(&m.ID, &m.SendKey, &m.ProfileID, &m.UserID, &m.AnonymousID, &m.Channel, &m.ChannelReason,
		&m.Topic, &m.Transactional, &m.TemplateID, &m.Campaign, &m.Address, &payload, &m.Status, &m.Reason,
		&m.Attempts, &due, &m.LeaseToken, &m.Provider, &m.ProviderID, &m.CreatedAt, &m.UpdatedAt, &sent, &m.Version,
		&m.LeaseNode, &called); err != nil {
		return nil, err
	}
	m.Payload = payload
	if called != nil {
		m.CalledAt = called.UTC()
	}
	if due != nil {
		m.DueAt = due.UTC()
	}
	if sent != nil {
		m.SentAt = sent.UTC()
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return &m, nil
}

func scanMessages(rows pgx.Rows, err error) ([]*store.OutboxMessage, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.OutboxMessage
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ClaimMessages leases due messages. The rows are picked FOR UPDATE SKIP
// LOCKED: concurrent claims (of this process or others) take different
// rows, and a row another claim just leased no longer matches when it is
// re-checked after its lock is released.
func (s *Store) ClaimMessages(ctx context.Context, node, token string, now time.Time, lease time.Duration, limit int) ([]*store.OutboxMessage, error) {
	ms, err := scanMessages(s.pool.Query(ctx, queries.Get("claim-messages"), token, now.Add(lease), now, limit, node))
	if err != nil {
		return nil, fmt.Errorf("postgres: claim messages: %w", err)
	}
	return ms, nil
}

// LeasedBy returns the messages still leased to node. Other nodes' leases
// are never returned, expired or not: a live node's claims stay its own.
func (s *Store) LeasedBy(ctx context.Context, node string) ([]*store.OutboxMessage, error) {
	if node == "" {
		return nil, fmt.Errorf("postgres: messages leased by a node: the node id is empty (leases without a node cannot be told apart)")
	}
	ms, err := scanMessages(s.pool.Query(ctx, queries.Get("leased-by-node"), node))
	if err != nil {
		return nil, fmt.Errorf("postgres: messages leased by node %s: %w", node, err)
	}
	return ms, nil
}

// FinishMessages applies workers' outcomes in one transaction.
func (s *Store) FinishMessages(ctx context.Context, us []store.MessageUpdate) (int, error) {
	// Rows are updated in id order, as every other multi-row update of
	// the outbox does (MarkNotified), so that two processes' transactions
	// never wait on each other in a cycle (a deadlock, then a retry that
	// can outlive the lease and send a message twice).
	us = slices.Clone(us)
	slices.SortFunc(us, func(a, b store.MessageUpdate) int { return cmp.Compare(a.ID, b.ID) })
	applied := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, u := range us {
			if u.Calling {
				b.Queue(queries.Get("mark-calling"), u.ID, u.LeaseToken, u.At)
				continue
			}
			b.Queue(queries.Get("finish-message"), u.ID, u.LeaseToken, u.Status, u.Reason, optTime(u.DueAt),
				u.Provider, u.ProviderID, optTime(u.SentAt), u.At, unclaim(u))
		}
		res := tx.SendBatch(ctx, b)
		for _, u := range us {
			tag, err := res.Exec()
			if err != nil {
				res.Close()
				return fmt.Errorf("message %d: %w", u.ID, err)
			}
			applied += int(tag.RowsAffected())
		}
		return res.Close()
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: finish messages: %w", err)
	}
	return applied, nil
}

// Unnotified returns messages whose state was not announced yet.
func (s *Store) Unnotified(ctx context.Context, limit int) ([]*store.OutboxMessage, error) {
	ms, err := scanMessages(s.pool.Query(ctx, queries.Get("unnotified-messages"), limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: unnotified messages: %w", err)
	}
	return ms, nil
}

// MarkNotified records the announcement of the states read.
func (s *Store) MarkNotified(ctx context.Context, ms []*store.OutboxMessage) error {
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b *store.OutboxMessage) int { return cmp.Compare(a.ID, b.ID) }) // id order, as FinishMessages
	b := &pgx.Batch{}
	for _, m := range ms {
		b.Queue(queries.Get("mark-notified"), m.ID, m.Version)
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: mark notified: %w", err)
	}
	return nil
}

func (s *Store) oneMessage(ctx context.Context, what, query string, args ...any) (*store.OutboxMessage, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, queries.Get(query), args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: %w", problem.NotFound("message", what))
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: message %s: %w", what, err)
	}
	return m, nil
}

// OutboxMessage returns a message by id.
func (s *Store) OutboxMessage(ctx context.Context, id int64) (*store.OutboxMessage, error) {
	return s.oneMessage(ctx, fmt.Sprint(id), "message-by-id", id)
}

// MessageByKey returns a message by send key.
func (s *Store) MessageByKey(ctx context.Context, key string) (*store.OutboxMessage, error) {
	return s.oneMessage(ctx, key, "message-by-key", key)
}

// MessageByProviderID returns the message a provider knows by providerID.
func (s *Store) MessageByProviderID(ctx context.Context, provider, providerID string) (*store.OutboxMessage, error) {
	return s.oneMessage(ctx, provider+"/"+providerID, "message-by-provider-id", provider, providerID)
}

func pgTime(t time.Time) any { return t }

// ListMessages lists messages, newest first.
func (s *Store) ListMessages(ctx context.Context, q store.MessageQuery) ([]*store.OutboxMessage, error) {
	w := store.Where{Placeholder: store.Dollar, Time: pgTime}
	store.MessageWhere(q, &w)
	clause, args, marks := w.SQL(store.FeedPage.Size(q.Limit))
	ms, err := scanMessages(s.pool.Query(ctx, queries.Get("list-messages")+clause+" ORDER BY id DESC LIMIT "+marks[0], args...))
	if err != nil {
		return nil, fmt.Errorf("postgres: list messages: %w", err)
	}
	return ms, nil
}

// CountSent counts sent messages for frequency caps.
func (s *Store) CountSent(ctx context.Context, q store.SentQuery) (int, error) {
	w := store.Where{Placeholder: store.Dollar, Time: pgTime}
	store.SentWhere(q, &w)
	clause, args, _ := w.SQL()
	var n int
	if err := s.pool.QueryRow(ctx, queries.Get("count-sent")+clause, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count sent messages: %w", err)
	}
	return n, nil
}

// unclaim is how many attempts an update takes back.
func unclaim(u store.MessageUpdate) int {
	if u.Unclaim {
		return 1
	}
	return 0
}

// MessagesByKeys returns the messages whose send key is among keys.
func (s *Store) MessagesByKeys(ctx context.Context, keys []string) ([]*store.OutboxMessage, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ms, err := scanMessages(s.pool.Query(ctx, queries.Get("messages-by-keys"), keys))
	if err != nil {
		return nil, fmt.Errorf("postgres: messages by send keys (%d keys): %w", len(keys), err)
	}
	return ms, nil
}
