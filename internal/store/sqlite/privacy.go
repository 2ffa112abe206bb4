package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store"
)

// exportKinds are the archive's kinds read by a query each (export-KIND).
var exportKinds = []string{"identifiers", "profiles", "events", "timeline", "merges", "identity_refusals",
	"segment_memberships", "segment_history", "journey_enrolments", "journey_log", "messages",
	"consent_ledger", "consent_state", "suppressions", "orders", "returns", "carts", "reservations", "tasks", "survey_sends", "rfm",
	"loyalty_accounts", "loyalty_entries"}

// eraseTables are the erase-TABLE statements, in the order they run.
var eraseTables = []string{"event_identifiers", "rejections", "profiles", "identifiers", "profile_events", "merges",
	"identity_refusals", "identity_exclusions", "rfm_scores", "segment_states", "segment_members", "segment_history",
	"segment_timers", "outbox", "consent_ledger", "consent_state", "suppressions", "carts", "reservations",
	"commerce_outbox", "journey_enrolments", "journey_date_timers", "journey_log", "tasks", "survey_sends", "measure_orders",
	"measure_touches", "measure_profiles", "request_keys",
	"loyalty_entries", "loyalty_accounts"}

// bind binds a privacy query's arrays as JSON text (json_each reads them).
func bind(name string, p map[string]any) (string, []any) {
	return store.BindArrays(queries.Get(name), p, func(n int) string { return "?" + strconv.Itoa(n) }, func(v any) any {
		b, _ := json.Marshal(v)
		if string(b) == "null" {
			return "[]"
		}
		return string(b)
	})
}

// PersonRows returns every row that names the person, by kind.
func (s *Store) PersonRows(ctx context.Context, p *store.Person) (map[string][]map[string]any, error) {
	arrays := p.Arrays()
	out := make(map[string][]map[string]any, len(exportKinds))
	for _, kind := range exportKinds {
		q, args := bind("export-"+kind, arrays)
		rows, err := s.r.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: export %s: %w", kind, err)
		}
		list, err := scanMaps(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: export %s: %w", kind, err)
		}
		out[kind] = list
	}
	return out, nil
}

// scanMaps reads every row as a column -> value map and closes rows.
func scanMaps(rows *sql.Rows) ([]map[string]any, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			m[c] = store.RowValue(vals[i])
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ErasePerson removes or anonymises every row that names the person, in
// one transaction with secure_delete on (freed content is overwritten with
// zeros, not left in free pages; the writer otherwise runs with FAST),
// then checkpoints and truncates the WAL so that no earlier page image
// holding the person stays on disk.
func (s *Store) ErasePerson(ctx context.Context, p *store.Person, at time.Time, reason string) (*store.Erasure, error) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: erase: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA secure_delete = ON"); err != nil {
		return nil, fmt.Errorf("sqlite: erase: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA secure_delete = FAST")
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: erase: %w", err)
	}
	defer tx.Rollback()
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
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: erase %s: %w", table, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			e.Counts[table] = n
		}
	}
	counts, _ := json.Marshal(e.Counts)
	if err := tx.QueryRowContext(ctx, queries.Get("insert-erasure"), micros(at), reason, string(counts)).Scan(&e.ID); err != nil {
		return nil, fmt.Errorf("sqlite: erase: record: %w", err)
	}
	for _, h := range p.Hashes() {
		if !p.Suppress {
			break
		}
		if _, err := tx.ExecContext(ctx, queries.Get("insert-erased-identifier"), h, e.ID, micros(at)); err != nil {
			return nil, fmt.Errorf("sqlite: erase: suppress: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: erase: commit: %w", err)
	}
	// The events read by the stages from memory must not hold the person.
	s.tail.Clear()
	truncateWAL(ctx, conn)
	return e, nil
}

// eraseEvents rewrites the person's events as stubs.
func eraseEvents(ctx context.Context, tx *sql.Tx, arrays map[string]any) (int64, error) {
	q, args := bind("erase-event-bodies", arrays)
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("sqlite: erase events: %w", err)
	}
	type stub struct {
		seq               int64
		body              []byte
		source, messageID string
	}
	var stubs []stub
	for rows.Next() {
		var seq int64
		var body []byte
		if err := rows.Scan(&seq, &body); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlite: erase events: %w", err)
		}
		var ev event.Event
		if err := event.Unmarshal(body, &ev); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlite: erase event %d: %w", seq, err)
		}
		ev.Seq = seq
		stubs = append(stubs, stub{seq, store.ErasedEvent(&ev).AppendJSON(nil), ev.SourceID, ev.MessageID})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sqlite: erase events: %w", err)
	}
	st, err := tx.PrepareContext(ctx, queries.Get("erase-event"))
	if err != nil {
		return 0, fmt.Errorf("sqlite: erase events: %w", err)
	}
	defer st.Close()
	for _, x := range stubs {
		if _, err := st.ExecContext(ctx, "erased:"+strconv.FormatInt(x.seq, 10), x.body, x.seq); err != nil {
			return 0, fmt.Errorf("sqlite: erase event %d: %w", x.seq, err)
		}
		// The rare dedup keys kept as text (hash collisions); the others
		// are hashes that name nobody.
		if _, err := tx.ExecContext(ctx, queries.Get("erase-dedup-collision"), x.source, x.messageID); err != nil {
			return 0, fmt.Errorf("sqlite: erase event %d: %w", x.seq, err)
		}
	}
	return int64(len(stubs)), nil
}

// eraseOrders keeps the person's orders without the person.
func eraseOrders(ctx context.Context, tx *sql.Tx, arrays map[string]any) (int64, error) {
	q, args := bind("erase-event-orders", arrays)
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("sqlite: erase orders: %w", err)
	}
	docs := map[string][]byte{}
	for rows.Next() {
		var id string
		var doc []byte
		if err := rows.Scan(&id, &doc); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlite: erase orders: %w", err)
		}
		docs[id] = doc
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sqlite: erase orders: %w", err)
	}
	for id, doc := range docs {
		anon, err := store.AnonymiseOrderDoc(doc)
		if err != nil {
			return 0, fmt.Errorf("sqlite: erase order %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, queries.Get("erase-order"), anon, id); err != nil {
			return 0, fmt.Errorf("sqlite: erase order %s: %w", id, err)
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
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: erased identifiers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("sqlite: erased identifiers: %w", err)
		}
		out[h] = true
	}
	return out, rows.Err()
}

// LiftErasure forgets the suppression of hashes.
func (s *Store) LiftErasure(ctx context.Context, hashes []string) error {
	q, args := bind("lift-erasure", map[string]any{"vals": hashes})
	if _, err := s.w.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("sqlite: lift erasure: %w", err)
	}
	return nil
}

// Erasures lists the erasures, newest first.
func (s *Store) Erasures(ctx context.Context, limit int) ([]*store.Erasure, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("erasures"), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: erasures: %w", err)
	}
	defer rows.Close()
	var out []*store.Erasure
	for rows.Next() {
		var e store.Erasure
		var at int64
		var counts string
		if err := rows.Scan(&e.ID, &at, &e.Reason, &counts); err != nil {
			return nil, fmt.Errorf("sqlite: erasures: %w", err)
		}
		e.At = fromMicros(at)
		if err := json.Unmarshal([]byte(counts), &e.Counts); err != nil {
			return nil, fmt.Errorf("sqlite: erasure %d: %w", e.ID, err)
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}

// truncateWAL checkpoints the WAL into the database and truncates it, so
// that the page images written before an erasure (which still hold the
// person) leave the disk. A reader on an old snapshot, or the background
// checkpointer, can make it busy: it tries again for up to two seconds,
// then leaves it to the background checkpointer.
func truncateWAL(ctx context.Context, conn *sql.Conn) {
	for range 200 {
		var busy, log, done int
		err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &log, &done)
		if err == nil && busy == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}
