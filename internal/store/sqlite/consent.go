package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// SaveTemplate creates or replaces a template.
func (s *Store) SaveTemplate(ctx context.Context, t *store.TemplateRecord) error {
	var created int64
	if err := s.w.QueryRowContext(ctx, queries.Get("save-template"), t.ID, t.Name, t.Topic, []byte(t.Body),
		micros(t.UpdatedAt)).Scan(&t.Version, &created); err != nil {
		return fmt.Errorf("sqlite: save template %s: %w", t.ID, err)
	}
	t.CreatedAt = fromMicros(created)
	return nil
}

func scanTemplate(r scanner) (*store.TemplateRecord, error) {
	var t store.TemplateRecord
	var body []byte
	var created, updated int64
	if err := r.Scan(&t.ID, &t.Name, &t.Topic, &body, &t.Version, &created, &updated); err != nil {
		return nil, err
	}
	t.Body, t.CreatedAt, t.UpdatedAt = body, fromMicros(created), fromMicros(updated)
	return &t, nil
}

// Template returns a template by id.
func (s *Store) Template(ctx context.Context, id string) (*store.TemplateRecord, error) {
	t, err := scanTemplate(s.r.QueryRowContext(ctx, queries.Get("template"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: %w", problem.NotFound("template", id))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: template %s: %w", id, err)
	}
	return t, nil
}

// ListTemplates lists the templates by id.
func (s *Store) ListTemplates(ctx context.Context) ([]*store.TemplateRecord, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("list-templates"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list templates: %w", err)
	}
	defer rows.Close()
	var out []*store.TemplateRecord
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list templates: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteTemplate deletes a template.
func (s *Store) DeleteTemplate(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, queries.Get("delete-template"), id)
	if err != nil {
		return fmt.Errorf("sqlite: delete template %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: %w", problem.NotFound("template", id))
	}
	return nil
}

// RecordConsent appends to the ledger and moves the current state.
func (s *Store) RecordConsent(ctx context.Context, c *store.ConsentRecord) (bool, error) {
	added, err := s.RecordConsents(ctx, []*store.ConsentRecord{c})
	if err != nil {
		return false, err
	}
	return added[0], nil
}

// RecordConsents appends several changes in one transaction, in order;
// added[i] says whether cs[i] was new.
func (s *Store) RecordConsents(ctx context.Context, cs []*store.ConsentRecord) ([]bool, error) {
	added := make([]bool, len(cs))
	if len(cs) == 0 {
		return added, nil
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: record consent: %w", err)
	}
	defer tx.Rollback()
	for i, c := range cs {
		err = tx.QueryRowContext(ctx, queries.Get("insert-consent"), c.Key, c.ProfileID, c.Channel, c.Topic, c.Granted,
			c.Source, micros(c.At), []byte(c.Proof)).Scan(&c.ID)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: record consent %s: %w", c.Key, err)
		}
		if _, err := tx.ExecContext(ctx, queries.Get("upsert-consent-state"), c.ProfileID, c.Channel, c.Topic, c.Granted,
			c.Source, micros(c.At), c.ID); err != nil {
			return nil, fmt.Errorf("sqlite: record consent %s: %w", c.Key, err)
		}
		added[i] = true
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: record consent: %w", err)
	}
	return added, nil
}

// ConsentState returns the profiles' current consent.
func (s *Store) ConsentState(ctx context.Context, ids []int64) ([]store.ConsentRecord, error) {
	w := store.Where{Placeholder: store.QuestionMark}
	w.In("profile_id", ids)
	clause, args, _ := w.SQL()
	rows, err := s.r.QueryContext(ctx, queries.Get("consent-state")+clause+" ORDER BY channel, topic", args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: consent state: %w", err)
	}
	defer rows.Close()
	var out []store.ConsentRecord
	for rows.Next() {
		var c store.ConsentRecord
		var at int64
		if err := rows.Scan(&c.ProfileID, &c.Channel, &c.Topic, &c.Granted, &c.Source, &at, &c.ID); err != nil {
			return nil, fmt.Errorf("sqlite: consent state: %w", err)
		}
		c.At = fromMicros(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// ConsentLedger returns the profiles' ledger, newest first.
func (s *Store) ConsentLedger(ctx context.Context, ids []int64, limit int) ([]store.ConsentRecord, error) {
	w := store.Where{Placeholder: store.QuestionMark}
	w.In("profile_id", ids)
	clause, args, marks := w.SQL(store.ListPage.Size(limit))
	rows, err := s.r.QueryContext(ctx, queries.Get("consent-ledger")+clause+" ORDER BY id DESC LIMIT "+marks[0], args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: consent ledger: %w", err)
	}
	defer rows.Close()
	var out []store.ConsentRecord
	for rows.Next() {
		var c store.ConsentRecord
		var at int64
		var proof []byte
		if err := rows.Scan(&c.ID, &c.ProfileID, &c.Channel, &c.Topic, &c.Granted, &c.Source, &at, &proof); err != nil {
			return nil, fmt.Errorf("sqlite: consent ledger: %w", err)
		}
		c.At, c.Proof = fromMicros(at), proof
		out = append(out, c)
	}
	return out, rows.Err()
}

// Suppress adds an address to the suppression list.
func (s *Store) Suppress(ctx context.Context, x store.Suppression) error {
	if _, err := s.w.ExecContext(ctx, queries.Get("suppress"), x.Channel, x.Address, x.Reason, x.Source, micros(x.At)); err != nil {
		return fmt.Errorf("sqlite: suppress %s address: %w", x.Channel, err)
	}
	return nil
}

// Suppression returns an address's suppression.
func (s *Store) Suppression(ctx context.Context, channel, address string) (*store.Suppression, error) {
	var x store.Suppression
	var at int64
	err := s.r.QueryRowContext(ctx, queries.Get("suppression"), channel, address).Scan(&x.Channel, &x.Address, &x.Reason, &x.Source, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: suppression: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: suppression: %w", err)
	}
	x.At = fromMicros(at)
	return &x, nil
}

// ConsentRecord returns the ledger's record of a key.
func (s *Store) ConsentRecord(ctx context.Context, key string) (*store.ConsentRecord, error) {
	var c store.ConsentRecord
	var at int64
	var proof []byte
	err := s.r.QueryRowContext(ctx, queries.Get("consent-by-key"), key).Scan(&c.ID, &c.ProfileID, &c.Channel, &c.Topic, &c.Granted, &c.Source, &at, &proof)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: consent record: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: consent record: %w", err)
	}
	c.Key, c.At, c.Proof = key, fromMicros(at), proof
	return &c, nil
}

// Suppressions returns the suppressions of those addresses that are
// suppressed on channel.
func (s *Store) Suppressions(ctx context.Context, channel string, addresses []string) ([]store.Suppression, error) {
	if len(addresses) == 0 {
		return nil, nil
	}
	list, _ := json.Marshal(addresses) // strings always encode
	rows, err := s.r.QueryContext(ctx, queries.Get("suppressions"), channel, string(list))
	if err != nil {
		return nil, fmt.Errorf("sqlite: suppressions of %d %s addresses: %w", len(addresses), channel, err)
	}
	defer rows.Close()
	var out []store.Suppression
	for rows.Next() {
		var x store.Suppression
		var at int64
		if err := rows.Scan(&x.Channel, &x.Address, &x.Reason, &x.Source, &at); err != nil {
			return nil, fmt.Errorf("sqlite: suppressions: %w", err)
		}
		x.At = fromMicros(at)
		out = append(out, x)
	}
	return out, rows.Err()
}
