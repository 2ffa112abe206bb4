package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store"
)

// exportKinds are the archive's kinds read by a query each (export-KIND).
var exportKinds = []string{"identifiers", "profiles", "events", "timeline", "merges", "identity_refusals",
	"segment_memberships", "segment_history", "journey_enrolments", "journey_log", "messages",
	"consent_ledger", "consent_state", "suppressions", "orders", "returns", "carts", "reservations", "tasks", "survey_sends", "rfm",
	"loyalty_accounts", "loyalty_entries"}

// eraseTables are the erase-TABLE statements, in the order they run.
var eraseTables = []string{"rejections", "profiles", "identifiers", "profile_events", "merges",
	"identity_refusals", "identity_exclusions", "rfm_scores", "segment_states", "segment_members", "segment_history",
	"segment_timers", "outbox", "consent_ledger", "consent_state", "suppressions", "carts", "reservations",
	"commerce_outbox", "journey_enrolments", "journey_date_timers", "journey_log", "tasks", "survey_sends", "measure_orders",
	"measure_touches", "measure_profiles", "request_keys",
	"loyalty_entries", "loyalty_accounts"}

// bind binds a privacy query's arrays as PostgreSQL arrays.
func bind(name string, p map[string]any) (string, []any) {
	return store.BindArrays(queries.Get(name), p, func(n int) string { return "$" + strconv.Itoa(n) }, func(v any) any {
		switch x := v.(type) {
		case []int64:
			if x == nil {
				return []int64{}
			}
		case []string:
			if x == nil {
				return []string{}
			}
		}
		return v
	})
}

// PersonRows returns every row that names the person, by kind.
func (s *Store) PersonRows(ctx context.Context, p *store.Person) (map[string][]map[string]any, error) {
	arrays := p.Arrays()
	out := make(map[string][]map[string]any, len(exportKinds))
	for _, kind := range exportKinds {
		q, args := bind("export-"+kind, arrays)
		rows, err := s.pool.Query(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("postgres: export %s: %w", kind, err)
		}
		list, err := scanMaps(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: export %s: %w", kind, err)
		}
		out[kind] = list
	}
	return out, nil
}

// scanMaps reads every row as a column -> value map and closes rows.
func scanMaps(rows pgx.Rows) ([]map[string]any, error) {
	defer rows.Close()
	out := []map[string]any{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		m := make(map[string]any, len(vals))
		for i, f := range rows.FieldDescriptions() {
			m[f.Name] = store.RowValue(vals[i])
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ErasePerson removes or anonymises every row that names the person, in
// one transaction. The rows it deletes or rewrites become dead tuples that
// VACUUM reclaims (autovacuum, or docs/security.md's VACUUM after a batch
// of erasures).
func (s *Store) ErasePerson(ctx context.Context, p *store.Person, at time.Time, reason string) (*store.Erasure, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: erase: %w", err)
	}
	defer tx.Rollback(ctx)
	e := &store.Erasure{At: at, Reason: reason, Counts: map[string]int64{}}
	arrays := p.Arrays()
	if e.Counts["events"], err = eraseEvents(ctx, tx, arrays); err != nil {
		return nil, err
	}
	if e.Counts["orders"], err = eraseOrders(ctx, tx, arrays); err != nil {
		return nil, err
	}
	for _, table := range eraseTables {
		q, args := bind("erase-"+table, arrays)
		tag, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("postgres: erase %s: %w", table, err)
		}
		if n := tag.RowsAffected(); n > 0 {
			e.Counts[table] = n
		}
	}
	counts, _ := json.Marshal(e.Counts)
	if err := tx.QueryRow(ctx, queries.Get("insert-erasure"), at, reason, string(counts)).Scan(&e.ID); err != nil {
		return nil, fmt.Errorf("postgres: erase: record: %w", err)
	}
	for _, h := range p.Hashes() {
		if !p.Suppress {
			break
		}
		if _, err := tx.Exec(ctx, queries.Get("insert-erased-identifier"), h, e.ID, at); err != nil {
			return nil, fmt.Errorf("postgres: erase: suppress: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("postgres: erase: commit: %w", err)
	}
	s.tail.Clear()
	return e, nil
}

// eraseEvents rewrites the person's events as stubs, in one statement.
func eraseEvents(ctx context.Context, tx pgx.Tx, arrays map[string]any) (int64, error) {
	q, args := bind("erase-event-bodies", arrays)
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("postgres: erase events: %w", err)
	}
	var seqs []int64
	var bodies, sources, messageIDs []string
	for rows.Next() {
		var seq int64
		var body []byte
		if err := rows.Scan(&seq, &body); err != nil {
			rows.Close()
			return 0, fmt.Errorf("postgres: erase events: %w", err)
		}
		var ev event.Event
		if err := event.Unmarshal(body, &ev); err != nil {
			rows.Close()
			return 0, fmt.Errorf("postgres: erase event %d: %w", seq, err)
		}
		ev.Seq = seq
		seqs = append(seqs, seq)
		sources, messageIDs = append(sources, ev.SourceID), append(messageIDs, ev.MessageID)
		bodies = append(bodies, string(store.ErasedEvent(&ev).AppendJSON(nil)))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("postgres: erase events: %w", err)
	}
	if len(seqs) == 0 {
		return 0, nil
	}
	if _, err := tx.Exec(ctx, queries.Get("erase-event"), seqs, bodies); err != nil {
		return 0, fmt.Errorf("postgres: erase events: %w", err)
	}
	// Client message ids can carry a user id; the dedup keys go with the
	// events (a late copy of one is caught by the erased identifiers).
	if _, err := tx.Exec(ctx, queries.Get("erase-dedup-keys"), sources, messageIDs); err != nil {
		return 0, fmt.Errorf("postgres: erase events: dedup keys: %w", err)
	}
	return int64(len(seqs)), nil
}

// eraseOrders keeps the person's orders without the person.
func eraseOrders(ctx context.Context, tx pgx.Tx, arrays map[string]any) (int64, error) {
	q, args := bind("erase-event-orders", arrays)
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("postgres: erase orders: %w", err)
	}
	docs := map[string][]byte{}
	for rows.Next() {
		var id string
		var doc []byte
		if err := rows.Scan(&id, &doc); err != nil {
			rows.Close()
			return 0, fmt.Errorf("postgres: erase orders: %w", err)
		}
		docs[id] = doc
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("postgres: erase orders: %w", err)
	}
	for id, doc := range docs {
		anon, err := store.AnonymiseOrderDoc(doc)
		if err != nil {
			return 0, fmt.Errorf("postgres: erase order %s: %w", id, err)
		}
		if _, err := tx.Exec(ctx, queries.Get("erase-order"), string(anon), id); err != nil {
			return 0, fmt.Errorf("postgres: erase order %s: %w", id, err)
		}
	}
	return int64(len(docs)), nil
}

// ErasedIdentifiers returns which of hashes belong to erased people.
func (s *Store) ErasedIdentifiers(ctx context.Context, hashes []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(hashes) == 0 {
		return out, nil
	}
	q, args := bind("erased-identifiers", map[string]any{"vals": hashes})
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: erased identifiers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("postgres: erased identifiers: %w", err)
		}
		out[h] = true
	}
	return out, rows.Err()
}

// LiftErasure forgets the suppression of hashes.
func (s *Store) LiftErasure(ctx context.Context, hashes []string) error {
	q, args := bind("lift-erasure", map[string]any{"vals": hashes})
	if _, err := s.pool.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("postgres: lift erasure: %w", err)
	}
	return nil
}

// Erasures lists the erasures, newest first.
func (s *Store) Erasures(ctx context.Context, limit int) ([]*store.Erasure, error) {
	rows, err := s.pool.Query(ctx, queries.Get("erasures"), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: erasures: %w", err)
	}
	defer rows.Close()
	var out []*store.Erasure
	for rows.Next() {
		var e store.Erasure
		var counts []byte
		if err := rows.Scan(&e.ID, &e.At, &e.Reason, &counts); err != nil {
			return nil, fmt.Errorf("postgres: erasures: %w", err)
		}
		e.At = e.At.UTC()
		if err := json.Unmarshal(counts, &e.Counts); err != nil {
			return nil, fmt.Errorf("postgres: erasure %d: %w", e.ID, err)
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}

// PruneEvents deletes up to limit events of source received before t.
// The last event of the log is kept, like in SQLite.
func (s *Store) PruneEvents(ctx context.Context, source string, before time.Time, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, queries.Get("prune-events"), source, before, limit)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune events of %s: %w", source, err)
	}
	if tag.RowsAffected() > 0 {
		s.tail.Clear()
	}
	return tag.RowsAffected(), nil
}

// AnonymousProfiles returns live profiles known only by anonymous ids that
// did not change since before.
func (s *Store) AnonymousProfiles(ctx context.Context, before time.Time, after int64, limit int) ([]int64, error) {
	rows, err := s.pool.Query(ctx, queries.Get("anonymous-profiles"), before, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: anonymous profiles: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("postgres: anonymous profiles: %w", err)
	}
	return ids, nil
}

// PruneMessageBodies forgets the contents of up to limit finished messages
// created before t.
func (s *Store) PruneMessageBodies(ctx context.Context, before time.Time, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, queries.Get("prune-message-bodies"), before, limit)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune message bodies: %w", err)
	}
	return tag.RowsAffected(), nil
}

// PruneRequestKeys deletes up to limit idempotency keys claimed before t.
func (s *Store) PruneRequestKeys(ctx context.Context, before time.Time, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, queries.Get("prune-request-keys"), before, limit)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune request keys: %w", err)
	}
	return tag.RowsAffected(), nil
}

// PruneRejections deletes up to limit rejections received before t.
func (s *Store) PruneRejections(ctx context.Context, before time.Time, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, queries.Get("prune-rejections"), before, limit)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune rejections: %w", err)
	}
	return tag.RowsAffected(), nil
}
