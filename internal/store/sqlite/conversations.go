package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

func scanConversation(sc interface{ Scan(...any) error }) (*store.Conversation, error) {
	var c store.Conversation
	var tags, breaches string
	var created, updated int64
	var last, first, resolved, firstDue, resDue sql.NullInt64
	if err := sc.Scan(&c.ID, &c.ProfileID, &c.Contact, &c.Status, &c.Team, &c.StoreID, &c.Assignee, &tags, &c.Priority, &c.Subject,
		&c.Channel, &c.MergedInto, &c.Version, &created, &updated, &last, &first, &resolved, &firstDue, &resDue, &breaches); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt, c.LastMessageAt = fromMicros(created), fromMicros(updated), nullMicros(last)
	c.FirstResponseAt, c.ResolvedAt, c.FirstResponseDue, c.ResolutionDue = nullMicros(first), nullMicros(resolved), nullMicros(firstDue), nullMicros(resDue)
	if err := errors.Join(json.Unmarshal([]byte(tags), &c.Tags), json.Unmarshal([]byte(breaches), &c.Breaches)); err != nil {
		return nil, fmt.Errorf("conversation %d: %w", c.ID, err)
	}
	return &c, nil
}

func scanConversationMessage(sc interface{ Scan(...any) error }) (*store.ConversationMessage, error) {
	var m store.ConversationMessage
	var created int64
	if err := sc.Scan(&m.ID, &m.ConversationID, &m.ProfileID, &m.Key, &m.Channel, &m.Direction, &m.Author, &m.Subject, &m.Body,
		&m.Internal, &m.Status, &m.Provider, &m.ProviderID, &m.OutboxID, &m.Thread, &created); err != nil {
		return nil, err
	}
	m.CreatedAt = fromMicros(created)
	return &m, nil
}

// jsonList encodes a list of strings, never null.
func jsonList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// OpenConversation returns the customer's active conversation, creating it.
func (s *Store) OpenConversation(ctx context.Context, c *store.Conversation) (bool, error) {
	res, err := s.w.ExecContext(ctx, queries.Get("insert-conversation"), c.ProfileID, c.Contact, c.Status, c.Team, c.StoreID, c.Assignee,
		jsonList(c.Tags), c.Priority, c.Subject, c.Channel, micros(c.CreatedAt), nullTime(c.LastMessageAt),
		nullTime(c.FirstResponseDue), nullTime(c.ResolutionDue))
	if err != nil {
		return false, fmt.Errorf("sqlite: open conversation of profile %d: %w", c.ProfileID, err)
	}
	n, _ := res.RowsAffected()
	got, err := scanConversation(s.w.QueryRowContext(ctx, queries.Get("active-conversation"), c.ProfileID, c.Contact))
	if err != nil {
		return false, fmt.Errorf("sqlite: open conversation of profile %d: %w", c.ProfileID, err)
	}
	*c = *got
	return n > 0, nil
}

// Conversation returns one conversation.
func (s *Store) Conversation(ctx context.Context, id int64) (*store.Conversation, error) {
	c, err := scanConversation(s.r.QueryRowContext(ctx, queries.Get("conversation"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.NotFound("conversation", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: conversation %d: %w", id, err)
	}
	return c, nil
}

// likeEscape escapes LIKE's wildcards in a text searched for as it is.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ListConversations returns the conversations q selects, by id.
func (s *Store) ListConversations(ctx context.Context, q store.ConversationQuery) ([]*store.Conversation, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	tag := ""
	if q.Tag != "" {
		b, _ := json.Marshal(q.Tag)
		tag = likeEscape(string(b))
	}
	rows, err := s.r.QueryContext(ctx, queries.Get(listQuery(q)), q.Status, q.Team, q.StoreID, q.Assignee, q.ProfileID,
		tag, q.Priority, likeEscape(q.Text), q.After, q.Limit, q.Contact)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list conversations: %w", err)
	}
	defer rows.Close()
	out := []*store.Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list conversations: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpdateConversation writes c at its version.
func (s *Store) UpdateConversation(ctx context.Context, c *store.Conversation) error {
	res, err := s.w.ExecContext(ctx, queries.Get("update-conversation"), c.Status, c.Team, c.StoreID, c.Assignee, jsonList(c.Tags),
		c.Priority, c.Subject, c.Channel, c.MergedInto, micros(c.UpdatedAt), nullTime(c.LastMessageAt), nullTime(c.FirstResponseAt),
		nullTime(c.ResolvedAt), nullTime(c.FirstResponseDue), nullTime(c.ResolutionDue), jsonList(c.Breaches), c.ID, c.Version)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return fmt.Errorf("sqlite: conversation %d: %w", c.ID, problem.Conflict("conversation", c.ID,
				"the customer has another conversation that is not resolved: merge them instead"))
		}
		return fmt.Errorf("sqlite: conversation %d: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Conversation(ctx, c.ID); err != nil {
			return err
		}
		return fmt.Errorf("sqlite: conversation %d: %w", c.ID, problem.Conflict("conversation", c.ID, "changed since it was read"))
	}
	c.Version++
	return nil
}

// AddConversationMessage stores a message once per key.
func (s *Store) AddConversationMessage(ctx context.Context, m *store.ConversationMessage) (bool, error) {
	res, err := s.w.ExecContext(ctx, queries.Get("insert-conversation-message"), m.ConversationID, m.ProfileID, m.Key, m.Channel,
		m.Direction, m.Author, m.Subject, m.Body, m.Internal, m.Status, m.Provider, m.ProviderID, m.OutboxID, m.Thread, micros(m.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("sqlite: add message %s to conversation %d: %w", m.Key, m.ConversationID, err)
	}
	n, _ := res.RowsAffected()
	got, err := scanConversationMessage(s.w.QueryRowContext(ctx, queries.Get("conversation-message-by-key"), m.Key))
	if err != nil {
		return false, fmt.Errorf("sqlite: add message %s to conversation %d: %w", m.Key, m.ConversationID, err)
	}
	*m = *got
	return n > 0, nil
}

// ConversationMessages returns a conversation's messages, oldest first.
func (s *Store) ConversationMessages(ctx context.Context, conversation int64) ([]*store.ConversationMessage, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("conversation-messages"), conversation)
	if err != nil {
		return nil, fmt.Errorf("sqlite: messages of conversation %d: %w", conversation, err)
	}
	defer rows.Close()
	out := []*store.ConversationMessage{}
	for rows.Next() {
		m, err := scanConversationMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: messages of conversation %d: %w", conversation, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ConversationMessageByThread finds a message by its email Message-ID.
func (s *Store) ConversationMessageByThread(ctx context.Context, thread string) (*store.ConversationMessage, error) {
	m, err := scanConversationMessage(s.r.QueryRowContext(ctx, queries.Get("conversation-message-by-thread"), thread))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.NotFound("conversation message with thread", thread)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: conversation message of thread %s: %w", thread, err)
	}
	return m, nil
}

// SetConversationMessageStatus records a delivery status.
func (s *Store) SetConversationMessageStatus(ctx context.Context, key string, outboxID int64, status, providerID string) error {
	res, err := s.w.ExecContext(ctx, queries.Get("set-conversation-message-status"), status, providerID, outboxID, key)
	if err != nil {
		return fmt.Errorf("sqlite: conversation message %s status: %w", key, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return problem.NotFound("conversation message", key)
	}
	return nil
}

// MergeConversations moves from's messages into into and resolves from.
func (s *Store) MergeConversations(ctx context.Context, from, into int64, at time.Time) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: merge conversation %d into %d: %w", from, into, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, queries.Get("move-conversation-messages"), into, from); err != nil {
		return fmt.Errorf("sqlite: merge conversation %d into %d: %w", from, into, err)
	}
	res, err := tx.ExecContext(ctx, queries.Get("merge-conversation"), into, micros(at), from)
	if err != nil {
		return fmt.Errorf("sqlite: merge conversation %d into %d: %w", from, into, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return problem.NotFound("conversation", from)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: merge conversation %d into %d: %w", from, into, err)
	}
	return nil
}

// DueConversationSLAs returns conversations with an SLA due by until.
func (s *Store) DueConversationSLAs(ctx context.Context, until time.Time, limit int) ([]*store.Conversation, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("due-conversation-slas"), micros(until), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: due conversation SLAs: %w", err)
	}
	defer rows.Close()
	var out []*store.Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: due conversation SLAs: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// LastInbound returns when the profile last wrote on ch.
func (s *Store) LastInbound(ctx context.Context, profile int64, ch string) (time.Time, error) {
	var at sql.NullInt64
	if err := s.r.QueryRowContext(ctx, queries.Get("last-inbound"), profile, ch).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("sqlite: last inbound of profile %d on %s: %w", profile, ch, err)
	}
	return nullMicros(at), nil
}

// NextAssignee picks the queue's next agent, round-robin.
func (s *Store) NextAssignee(ctx context.Context, queue string, agents []string) (string, error) {
	if len(agents) == 0 {
		return "", nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("sqlite: next assignee of %s: %w", queue, err)
	}
	defer tx.Rollback()
	var last string
	if err := tx.QueryRowContext(ctx, queries.Get("round-robin-last"), queue).Scan(&last); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("sqlite: next assignee of %s: %w", queue, err)
	}
	next := store.NextInTurn(agents, last)
	if _, err := tx.ExecContext(ctx, queries.Get("round-robin-set"), queue, next); err != nil {
		return "", fmt.Errorf("sqlite: next assignee of %s: %w", queue, err)
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("sqlite: next assignee of %s: %w", queue, err)
	}
	return next, nil
}

func listQuery(q store.ConversationQuery) string { return store.ListQueryName(q) }
