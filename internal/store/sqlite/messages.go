package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

var _ store.Messages = (*Store)(nil)

// optMicros stores a zero time as NULL.
func optMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// EnqueueMessages inserts messages, skipping send keys already present.
func (s *Store) EnqueueMessages(ctx context.Context, ms []*store.OutboxMessage) ([]bool, error) {
	created := make([]bool, len(ms))
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: enqueue messages: %w", err)
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, queries.Get("enqueue-message"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: enqueue messages: %w", err)
	}
	defer ins.Close()
	for i, m := range ms {
		err := ins.QueryRowContext(ctx, m.SendKey, m.ProfileID, m.UserID, m.AnonymousID, m.Channel, m.ChannelReason,
			m.Topic, m.Transactional, m.TemplateID, m.Campaign, m.Address, m.Payload, m.Status, m.Reason,
			optMicros(m.DueAt), micros(m.CreatedAt), micros(m.CreatedAt)).Scan(&m.ID)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, queries.Get("message-id-by-key"), m.SendKey).Scan(&m.ID)
			if err != nil {
				return nil, fmt.Errorf("sqlite: enqueue message %s: %w", m.SendKey, err)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: enqueue message %s: %w", m.SendKey, err)
		}
		m.UpdatedAt, m.Version = m.CreatedAt, 1
		created[i] = true
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: enqueue messages: %w", err)
	}
	return created, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanMessage(r scanner) (*store.OutboxMessage, error) {
	var m store.OutboxMessage
	var due, sent, called sql.NullInt64
	var created, updated int64
	var payload []byte
	if err := r.Scan(&m.ID, &m.SendKey, &m.ProfileID, &m.UserID, &m.AnonymousID, &m.Channel, &m.ChannelReason,
		&m.Topic, &m.Transactional, &m.TemplateID, &m.Campaign, &m.Address, &payload, &m.Status, &m.Reason,
		&m.Attempts, &due, &m.LeaseToken, &m.Provider, &m.ProviderID, &created, &updated, &sent, &m.Version,
		&m.LeaseNode, &called); err != nil {
		return nil, err
	}
	m.Payload = payload
	m.DueAt, m.SentAt, m.CalledAt = nullMicros(due), nullMicros(sent), nullMicros(called)
	m.CreatedAt, m.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &m, nil
}

func scanMessages(rows *sql.Rows, err error) ([]*store.OutboxMessage, error) {
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

// ClaimMessages leases due messages. SQLite has one writer: the UPDATE's
// subquery and its write happen under the same lock, so two claims never
// see the same row as due.
func (s *Store) ClaimMessages(ctx context.Context, node, token string, now time.Time, lease time.Duration, limit int) ([]*store.OutboxMessage, error) {
	ms, err := scanMessages(s.w.QueryContext(ctx, queries.Get("claim-messages"), token, micros(now.Add(lease)), micros(now), limit, node))
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim messages: %w", err)
	}
	return ms, nil
}

// LeasedBy returns the messages still leased to node.
func (s *Store) LeasedBy(ctx context.Context, node string) ([]*store.OutboxMessage, error) {
	if node == "" {
		return nil, fmt.Errorf("sqlite: messages leased by a node: the node id is empty (leases without a node cannot be told apart)")
	}
	ms, err := scanMessages(s.r.QueryContext(ctx, queries.Get("leased-by-node"), node))
	if err != nil {
		return nil, fmt.Errorf("sqlite: messages leased by node %s: %w", node, err)
	}
	return ms, nil
}

// FinishMessages applies workers' outcomes (and "calling" marks) in one
// transaction, with the writer's kept statements: the recorder runs it for
// every group of outcomes, and parsing the SQL again each time was a good
// share of its work.
func (s *Store) FinishMessages(ctx context.Context, us []store.MessageUpdate) (int, error) {
	// The kept statements are looked up before the transaction takes the
	// writer's one connection: preparing one the first time needs it.
	keptFinish, keptMark := s.w.stmt(ctx, queries.Get("finish-message")), s.w.stmt(ctx, queries.Get("mark-calling"))
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: finish messages: %w", err)
	}
	defer tx.Rollback()
	finish, err := txStmt(ctx, tx, keptFinish, "finish-message")
	if err != nil {
		return 0, fmt.Errorf("sqlite: finish messages: %w", err)
	}
	mark, err := txStmt(ctx, tx, keptMark, "mark-calling")
	if err != nil {
		return 0, fmt.Errorf("sqlite: finish messages: %w", err)
	}
	applied := 0
	for _, u := range us {
		var res sql.Result
		if u.Calling {
			res, err = mark.ExecContext(ctx, u.ID, u.LeaseToken, micros(u.At))
		} else {
			res, err = finish.ExecContext(ctx, u.ID, u.LeaseToken, u.Status, u.Reason, optMicros(u.DueAt), u.Provider,
				u.ProviderID, optMicros(u.SentAt), micros(u.At), unclaim(u))
		}
		if err != nil {
			return 0, fmt.Errorf("sqlite: finish message %d: %w", u.ID, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			applied++
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: finish messages: %w", err)
	}
	return applied, nil
}

// txStmt binds a kept statement to tx, or prepares the named query on tx
// when there is none kept.
func txStmt(ctx context.Context, tx *sql.Tx, kept *sql.Stmt, name string) (*sql.Stmt, error) {
	if kept != nil {
		return tx.StmtContext(ctx, kept), nil
	}
	return tx.PrepareContext(ctx, queries.Get(name))
}

// Unnotified returns messages whose state was not announced yet.
func (s *Store) Unnotified(ctx context.Context, limit int) ([]*store.OutboxMessage, error) {
	ms, err := scanMessages(s.r.QueryContext(ctx, queries.Get("unnotified-messages"), limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: unnotified messages: %w", err)
	}
	return ms, nil
}

// MarkNotified records the announcement of the states read, in one
// statement.
func (s *Store) MarkNotified(ctx context.Context, ms []*store.OutboxMessage) error {
	if len(ms) == 0 {
		return nil
	}
	pairs := make([][2]int64, len(ms))
	for i, m := range ms {
		pairs[i] = [2]int64{m.ID, m.Version}
	}
	arg, err := json.Marshal(pairs)
	if err != nil {
		return fmt.Errorf("sqlite: mark notified: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, queries.Get("mark-notified"), string(arg)); err != nil {
		return fmt.Errorf("sqlite: mark notified: %w", err)
	}
	return nil
}

func (s *Store) oneMessage(ctx context.Context, what, query string, args ...any) (*store.OutboxMessage, error) {
	m, err := scanMessage(s.r.QueryRowContext(ctx, queries.Get(query), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: %w", problem.NotFound("message", what))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: message %s: %w", what, err)
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

// ListMessages lists messages, newest first.
func (s *Store) ListMessages(ctx context.Context, q store.MessageQuery) ([]*store.OutboxMessage, error) {
	w := store.Where{Placeholder: store.QuestionMark, Time: func(t time.Time) any { return micros(t) }}
	store.MessageWhere(q, &w)
	clause, args, marks := w.SQL(store.FeedPage.Size(q.Limit))
	ms, err := scanMessages(s.r.QueryContext(ctx, queries.Get("list-messages")+clause+" ORDER BY id DESC LIMIT "+marks[0], args...))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list messages: %w", err)
	}
	return ms, nil
}

// CountSent counts sent messages for frequency caps.
func (s *Store) CountSent(ctx context.Context, q store.SentQuery) (int, error) {
	w := store.Where{Placeholder: store.QuestionMark, Time: func(t time.Time) any { return micros(t) }}
	store.SentWhere(q, &w)
	clause, args, _ := w.SQL()
	var n int
	if err := s.r.QueryRowContext(ctx, queries.Get("count-sent")+clause, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count sent messages: %w", err)
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
	list, _ := json.Marshal(keys) // strings always encode
	ms, err := scanMessages(s.r.QueryContext(ctx, queries.Get("messages-by-keys"), string(list)))
	if err != nil {
		return nil, fmt.Errorf("sqlite: messages by send keys (%d keys): %w", len(keys), err)
	}
	return ms, nil
}
