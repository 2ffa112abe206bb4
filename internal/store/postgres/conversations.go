package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

func scanConversation(row pgx.Row) (*store.Conversation, error) {
	var c store.Conversation
	var tags, breaches string
	var last, first, resolved, firstDue, resDue *time.Time
	if err := row.Scan(&c.ID, &c.ProfileID, &c.Contact, &c.Status, &c.Team, &c.StoreID, &c.Assignee, &tags, &c.Priority, &c.Subject,
		&c.Channel, &c.MergedInto, &c.Version, &c.CreatedAt, &c.UpdatedAt, &last, &first, &resolved, &firstDue, &resDue, &breaches); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	c.LastMessageAt, c.FirstResponseAt, c.ResolvedAt = utcOrZero(last), utcOrZero(first), utcOrZero(resolved)
	c.FirstResponseDue, c.ResolutionDue = utcOrZero(firstDue), utcOrZero(resDue)
	if err := errors.Join(json.Unmarshal([]byte(tags), &c.Tags), json.Unmarshal([]byte(breaches), &c.Breaches)); err != nil {
		return nil, fmt.Errorf("conversation %d: %w", c.ID, err)
	}
	return &c, nil
}

func scanConversationMessage(row pgx.Row) (*store.ConversationMessage, error) {
	var m store.ConversationMessage
	if err := row.Scan(&m.ID, &m.ConversationID, &m.ProfileID, &m.Key, &m.Channel, &m.Direction, &m.Author, &m.Subject, &m.Body,
		&m.Internal, &m.Status, &m.Provider, &m.ProviderID, &m.OutboxID, &m.Thread, &m.CreatedAt); err != nil {
		return nil, err
	}
	m.CreatedAt = m.CreatedAt.UTC()
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
	tag, err := s.pool.Exec(ctx, queries.Get("insert-conversation"), c.ProfileID, c.Contact, c.Status, c.Team, c.StoreID, c.Assignee,
		jsonList(c.Tags), c.Priority, c.Subject, c.Channel, c.CreatedAt, orNull(c.LastMessageAt), orNull(c.FirstResponseDue), orNull(c.ResolutionDue))
	if err != nil {
		return false, fmt.Errorf("postgres: open conversation of profile %d: %w", c.ProfileID, err)
	}
	got, err := scanConversation(s.pool.QueryRow(ctx, queries.Get("active-conversation"), c.ProfileID, c.Contact))
	if err != nil {
		return false, fmt.Errorf("postgres: open conversation of profile %d: %w", c.ProfileID, err)
	}
	*c = *got
	return tag.RowsAffected() > 0, nil
}

// Conversation returns one conversation.
func (s *Store) Conversation(ctx context.Context, id int64) (*store.Conversation, error) {
	c, err := scanConversation(s.pool.QueryRow(ctx, queries.Get("conversation"), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, problem.NotFound("conversation", id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: conversation %d: %w", id, err)
	}
	return c, nil
}

// likeEscape escapes LIKE's wildcards (backslash is PostgreSQL's escape).
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
	rows, err := s.pool.Query(ctx, queries.Get(listQuery(q)), q.Status, q.Team, q.StoreID, q.Assignee, q.ProfileID,
		tag, q.Priority, likeEscape(q.Text), q.After, q.Limit, q.Contact)
	if err != nil {
		return nil, fmt.Errorf("postgres: list conversations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Conversation, error) { return scanConversation(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list conversations: %w", err)
	}
	if out == nil {
		out = []*store.Conversation{}
	}
	return out, nil
}

// UpdateConversation writes c at its version.
func (s *Store) UpdateConversation(ctx context.Context, c *store.Conversation) error {
	tag, err := s.pool.Exec(ctx, queries.Get("update-conversation"), c.Status, c.Team, c.StoreID, c.Assignee, jsonList(c.Tags),
		c.Priority, c.Subject, c.Channel, c.MergedInto, c.UpdatedAt, orNull(c.LastMessageAt), orNull(c.FirstResponseAt),
		orNull(c.ResolvedAt), orNull(c.FirstResponseDue), orNull(c.ResolutionDue), jsonList(c.Breaches), c.ID, c.Version)
	if isUniqueViolation(err) {
		return fmt.Errorf("postgres: conversation %d: %w", c.ID, problem.Conflict("conversation", c.ID,
			"the customer has another conversation that is not resolved: merge them instead"))
	}
	if err != nil {
		return fmt.Errorf("postgres: conversation %d: %w", c.ID, err)
	}
	if tag.RowsAffected() == 0 {
		if _, err := s.Conversation(ctx, c.ID); err != nil {
			return err
		}
		return fmt.Errorf("postgres: conversation %d: %w", c.ID, problem.Conflict("conversation", c.ID, "changed since it was read"))
	}
	c.Version++
	return nil
}

// AddConversationMessage stores a message once per key.
func (s *Store) AddConversationMessage(ctx context.Context, m *store.ConversationMessage) (bool, error) {
	tag, err := s.pool.Exec(ctx, queries.Get("insert-conversation-message"), m.ConversationID, m.ProfileID, m.Key, m.Channel,
		m.Direction, m.Author, m.Subject, m.Body, m.Internal, m.Status, m.Provider, m.ProviderID, m.OutboxID, m.Thread, m.CreatedAt)
	if err != nil {
		return false, fmt.Errorf("postgres: add message %s to conversation %d: %w", m.Key, m.ConversationID, err)
	}
	got, err := scanConversationMessage(s.pool.QueryRow(ctx, queries.Get("conversation-message-by-key"), m.Key))
	if err != nil {
		return false, fmt.Errorf("postgres: add message %s to conversation %d: %w", m.Key, m.ConversationID, err)
	}
	*m = *got
	return tag.RowsAffected() > 0, nil
}

// ConversationMessages returns a conversation's messages, oldest first.
func (s *Store) ConversationMessages(ctx context.Context, conversation int64) ([]*store.ConversationMessage, error) {
	rows, err := s.pool.Query(ctx, queries.Get("conversation-messages"), conversation)
	if err != nil {
		return nil, fmt.Errorf("postgres: messages of conversation %d: %w", conversation, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.ConversationMessage, error) { return scanConversationMessage(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: messages of conversation %d: %w", conversation, err)
	}
	if out == nil {
		out = []*store.ConversationMessage{}
	}
	return out, nil
}

// ConversationMessageByThread finds a message by its email Message-ID.
func (s *Store) ConversationMessageByThread(ctx context.Context, thread string) (*store.ConversationMessage, error) {
	m, err := scanConversationMessage(s.pool.QueryRow(ctx, queries.Get("conversation-message-by-thread"), thread))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, problem.NotFound("conversation message with thread", thread)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: conversation message of thread %s: %w", thread, err)
	}
	return m, nil
}

// SetConversationMessageStatus records a delivery status.
func (s *Store) SetConversationMessageStatus(ctx context.Context, key string, outboxID int64, status, providerID string) error {
	tag, err := s.pool.Exec(ctx, queries.Get("set-conversation-message-status"), status, providerID, outboxID, key)
	if err != nil {
		return fmt.Errorf("postgres: conversation message %s status: %w", key, err)
	}
	if tag.RowsAffected() == 0 {
		return problem.NotFound("conversation message", key)
	}
	return nil
}

// MergeConversations moves from's messages into into and resolves from.
func (s *Store) MergeConversations(ctx context.Context, from, into int64, at time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, queries.Get("move-conversation-messages"), into, from); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, queries.Get("merge-conversation"), into, at, from)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return problem.NotFound("conversation", from)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: merge conversation %d into %d: %w", from, into, err)
	}
	return nil
}

// DueConversationSLAs returns conversations with an SLA due by until.
func (s *Store) DueConversationSLAs(ctx context.Context, until time.Time, limit int) ([]*store.Conversation, error) {
	rows, err := s.pool.Query(ctx, queries.Get("due-conversation-slas"), until, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: due conversation SLAs: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Conversation, error) { return scanConversation(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: due conversation SLAs: %w", err)
	}
	return out, nil
}

// LastInbound returns when the profile last wrote on ch.
func (s *Store) LastInbound(ctx context.Context, profile int64, ch string) (time.Time, error) {
	var at *time.Time
	if err := s.pool.QueryRow(ctx, queries.Get("last-inbound"), profile, ch).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("postgres: last inbound of profile %d on %s: %w", profile, ch, err)
	}
	return utcOrZero(at), nil
}

// NextAssignee picks the queue's next agent, round-robin; the queue's row
// is locked so that two assignments racing give two agents.
func (s *Store) NextAssignee(ctx context.Context, queue string, agents []string) (string, error) {
	if len(agents) == 0 {
		return "", nil
	}
	var next string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, queries.Get("round-robin-init"), queue); err != nil {
			return err
		}
		var last string
		if err := tx.QueryRow(ctx, queries.Get("round-robin-last"), queue).Scan(&last); err != nil {
			return err
		}
		next = store.NextInTurn(agents, last)
		_, err := tx.Exec(ctx, queries.Get("round-robin-set"), queue, next)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("postgres: next assignee of %s: %w", queue, err)
	}
	return next, nil
}

func listQuery(q store.ConversationQuery) string { return store.ListQueryName(q) }
