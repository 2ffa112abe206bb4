package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
)

// Privacy is what access requests, erasure and retention need of an
// engine (docs/security.md).
type Privacy interface {
	// PersonRows returns every row that names the person, by kind (the
	// archive's file names: "identifiers", "messages", "orders", ...),
	// each row a column -> value map, JSON columns decoded.
	PersonRows(ctx context.Context, p *Person) (map[string][]map[string]any, error)
	// ErasePerson removes or anonymises every row that names the person,
	// in one transaction: the events in p.Seqs are rewritten as
	// ErasedEvent stubs, orders keep their totals without the customer,
	// the rest is deleted. It records the erasure, suppresses
	// p.Identifiers (IdentifierHash) if p.Suppress, and returns the rows
	// changed by table.
	ErasePerson(ctx context.Context, p *Person, at time.Time, reason string) (*Erasure, error)
	// ErasedIdentifiers returns which of hashes (IdentifierHash) belong to
	// erased people.
	ErasedIdentifiers(ctx context.Context, hashes []string) (map[string]bool, error)
	// LiftErasure forgets the suppression of hashes: the person came back
	// with new consent.
	LiftErasure(ctx context.Context, hashes []string) error
	// Erasures lists the erasures, newest first.
	Erasures(ctx context.Context, limit int) ([]*Erasure, error)

	// PruneEvents deletes up to limit events of source received before t
	// (never the last event of the log: its sequence number must stay
	// taken) and what indexes them, and returns how many it deleted.
	PruneEvents(ctx context.Context, source string, before time.Time, limit int) (int64, error)
	// AnonymousProfiles returns up to limit live profiles, by id above
	// after, whose identifiers are all anonymous ids and that did not
	// change since before.
	AnonymousProfiles(ctx context.Context, before time.Time, after int64, limit int) ([]int64, error)
	// PruneMessageBodies forgets the rendered contents of up to limit
	// messages created before t.
	PruneMessageBodies(ctx context.Context, before time.Time, limit int) (int64, error)
	// PruneRejections deletes up to limit rejections received before t.
	PruneRejections(ctx context.Context, before time.Time, limit int) (int64, error)
	// PruneRequestKeys deletes up to limit idempotency keys claimed
	// before t: a retry with such a key is taken as a new request.
	PruneRequestKeys(ctx context.Context, before time.Time, limit int) (int64, error)
}

// Person is everything that names one person in the store: the profile and
// the profiles merged into it, their identifiers, and their events in the
// log (by sequence number).
type Person struct {
	Profiles    []int64
	Identifiers []identity.Identifier
	Seqs        []int64
	// Texts are more strings that name the person as they were sent (an
	// email or a phone before normalisation), searched for inside
	// documents (rejected payloads, commerce events, stored responses).
	Texts []string
	// Suppress records the identifiers' hashes so that a late event does
	// not create the person again (an erasure request); retention, which
	// forgets visitors nobody asked about, leaves it false.
	Suppress bool
}

// Values returns the values of the person's identifiers (an email, a
// phone, a user id, ...).
func (p *Person) Values() []string {
	out := make([]string, 0, len(p.Identifiers))
	for _, id := range p.Identifiers {
		out = append(out, id.Value)
	}
	return out
}

// CustomerKeys returns the keys commerce files the person's orders, carts
// and reservations under (commerce.Customer.Key: "kind:value").
func (p *Person) CustomerKeys() []string {
	out := make([]string, 0, len(p.Identifiers))
	for _, id := range p.Identifiers {
		out = append(out, string(id.Kind)+":"+id.Value)
	}
	return out
}

// Hashes returns IdentifierHash of each of the person's identifiers.
func (p *Person) Hashes() []string {
	out := make([]string, 0, len(p.Identifiers))
	for _, id := range p.Identifiers {
		out = append(out, IdentifierHash(id))
	}
	return out
}

// Erasure is the record of one erasure: it names nobody.
type Erasure struct {
	ID     int64            `json:"id"`
	At     time.Time        `json:"at"`
	Reason string           `json:"reason,omitempty"`
	Counts map[string]int64 `json:"counts"` // rows deleted or anonymised, by table
}

// IdentifierHash is how an erased identifier is remembered: the hex
// SHA-256 of "kind:value" (normalised). It lets a late event be recognised
// without keeping the address itself.
func IdentifierHash(id identity.Identifier) string {
	sum := sha256.Sum256([]byte("parcours-erased:" + string(id.Kind) + ":" + id.Value))
	return hex.EncodeToString(sum[:])
}

// ErasedEvent returns the stub that replaces an erased person's event in
// the log: its position, source, type, name and times stay (the log's
// order and its counts by day do not change), everything that could name
// the person goes (identifiers, traits, properties, context, message id).
func ErasedEvent(e *event.Event) *event.Event {
	return &event.Event{
		Seq:        e.Seq,
		MessageID:  "erased:" + strconv.FormatInt(e.Seq, 10),
		Type:       e.Type,
		Event:      e.Event,
		Name:       e.Name,
		Category:   e.Category,
		SourceID:   e.SourceID,
		Channel:    e.Channel,
		Timestamp:  e.Timestamp,
		ReceivedAt: e.ReceivedAt,
		Imported:   e.Imported,
	}
}

// AnonymiseOrderDoc returns an order's stored JSON without its customer
// and its notes: what accounting must keep (lines, totals, status, dates)
// stays.
func AnonymiseOrderDoc(doc []byte) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, fmt.Errorf("anonymise order: %w", err)
	}
	m["customer"] = map[string]any{}
	if h, ok := m["history"].([]any); ok {
		for _, s := range h {
			if step, ok := s.(map[string]any); ok {
				delete(step, "note")
			}
		}
	}
	delete(m, "note")
	return json.Marshal(m)
}

// RowValue turns a column's value as a driver returns it into what a JSON
// archive shows: JSON text stays JSON, other bytes become text.
func RowValue(v any) any {
	switch x := v.(type) {
	case []byte:
		if json.Valid(x) && len(x) > 0 && (x[0] == '{' || x[0] == '[') {
			return json.RawMessage(append([]byte(nil), x...))
		}
		return string(x)
	case string:
		if len(x) > 0 && (x[0] == '{' || x[0] == '[') && json.Valid([]byte(x)) {
			return json.RawMessage(x)
		}
	}
	return v
}

// PersonArrays are the arrays the privacy queries of both engines bind by
// name: :ids (profile ids), :vals (identifier values), :keys (commerce
// customer keys), :seqs (event sequence numbers).
func (p *Person) Arrays() map[string]any {
	return map[string]any{"ids": p.Profiles, "vals": p.Values(), "keys": p.CustomerKeys(), "seqs": p.Seqs, "texts": p.searchTexts()}
}

// searchTexts are the identifier values and Texts long enough to be
// searched for inside documents without matching strangers' (an
// anonymous id "a1" would).
func (p *Person) searchTexts() []string {
	out := []string{}
	for _, s := range append(p.Values(), p.Texts...) {
		if len(s) >= 5 && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// BindArrays replaces the named parameters of q (":ids", ":vals", ...,
// each a key of params) by the engine's positional placeholders, numbered
// in order of first appearance (placeholder(1) is "?1" or "$1"), and
// returns the arguments in that order. A name that appears twice binds
// one argument. encode turns an array into what the engine binds (JSON
// text for SQLite, the slice itself for PostgreSQL).
func BindArrays(q string, params map[string]any, placeholder func(n int) string, encode func(any) any) (string, []any) {
	var out []byte
	var args []any
	index := map[string]int{}
	for i := 0; i < len(q); i++ {
		if q[i] == ':' && i+1 < len(q) && q[i+1] != ':' && (i == 0 || q[i-1] != ':') {
			j := i + 1
			for j < len(q) && (q[j] == '_' || 'a' <= q[j] && q[j] <= 'z') {
				j++
			}
			if v, ok := params[q[i+1:j]]; ok && j > i+1 {
				n, seen := index[q[i+1:j]]
				if !seen {
					args = append(args, encode(v))
					n = len(args)
					index[q[i+1:j]] = n
				}
				out = append(out, placeholder(n)...)
				i = j - 1
				continue
			}
		}
		out = append(out, q[i])
	}
	return string(out), args
}
