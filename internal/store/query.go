package store

import (
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/commerce"
)

// Where builds the WHERE clause of a list query. Listing filters are
// optional, so their SQL is assembled here rather than kept in .sql files;
// everything else lives in the engines' query files.
type Where struct {
	// Placeholder returns the engine's n-th bind marker (1-based): "?" or "$n".
	Placeholder func(n int) string
	// Time converts a time to the engine's column representation.
	Time func(time.Time) any

	conds []string
	args  []any
}

// Eq adds "column = value" when value is not empty.
func (w *Where) Eq(column, value string) {
	if value != "" {
		w.Add(column+" = ?", value)
	}
}

// Add adds a condition; each "?" in cond takes the next arg.
func (w *Where) Add(cond string, args ...any) {
	var b strings.Builder
	for _, r := range cond {
		if r == '?' {
			w.args = append(w.args, args[0])
			args = args[1:]
			b.WriteString(w.Placeholder(len(w.args)))
			continue
		}
		b.WriteRune(r)
	}
	w.conds = append(w.conds, b.String())
}

// SQL returns the clause ("" when there is no condition) and its arguments;
// extra arguments are appended after them, with their placeholders returned.
func (w *Where) SQL(extra ...any) (clause string, args []any, extraMarks []string) {
	if len(w.conds) > 0 {
		clause = " WHERE " + strings.Join(w.conds, " AND ")
	}
	args = w.args
	for _, a := range extra {
		args = append(args, a)
		extraMarks = append(extraMarks, w.Placeholder(len(args)))
	}
	return clause, args, extraMarks
}

// EventWhere turns an EventQuery into conditions on the events table's
// columns (seq, source_id, type, event, user_id, anonymous_id, ts).
func EventWhere(q EventQuery, w *Where) {
	w.Eq("user_id", q.UserID)
	w.Eq("anonymous_id", q.AnonymousID)
	if q.Identifier != "" {
		w.Add("(user_id = ? OR anonymous_id = ?)", q.Identifier, q.Identifier)
	}
	w.Eq("type", string(q.Type))
	w.Eq("event", q.Event)
	w.Eq("source_id", q.SourceID)
	if !q.Since.IsZero() {
		w.Add("ts >= ?", w.Time(q.Since))
	}
	if !q.Until.IsZero() {
		w.Add("ts < ?", w.Time(q.Until))
	}
	if q.After > 0 {
		w.Add("seq > ?", q.After)
	}
	if q.Before > 0 {
		w.Add("seq < ?", q.Before)
	}
}

// ReservationWhere turns a ReservationQuery into conditions on the
// reservations table's columns, for a list by id.
func ReservationWhere(q commerce.ReservationQuery, w *Where) {
	w.Eq("sku", q.SKU)
	w.Eq("location_id", q.Location)
	w.Eq("order_id", q.OrderID)
	w.Eq("status", q.Status)
	if q.After != "" {
		w.Add("id > ?", q.After)
	}
}

// OrderWhere turns an OrderQuery into conditions on the orders table's
// columns, for a list newest first.
func OrderWhere(q commerce.OrderQuery, w *Where) {
	w.Eq("customer", q.Customer)
	w.Eq("status", string(q.Status))
	if q.Before != "" {
		w.Add("id < ?", q.Before)
	}
}

// QuestionMark is SQLite's placeholder.
func QuestionMark(int) string { return "?" }

// Dollar is PostgreSQL's placeholder.
func Dollar(n int) string { return "$" + strconv.Itoa(n) }
