package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/url"

	"github.com/parcours/parcours/internal/problem"
)

// Every list pages with an opaque cursor: a small JSON object, base64url
// encoded, that says where the next page starts. It is read strictly, in
// one place (readCursor): anything but a cursor this API handed out is a
// 400, never a silently empty or restarted page.

// pageCursor is a cursor's content; valid reports whether it could have
// been handed out.
type pageCursor interface{ valid() bool }

// cursor pages lists ordered by an integer id (events, rejections,
// profiles, messages, segment members and history).
type cursor struct {
	Before int64 `json:"b,omitempty"`
	After  int64 `json:"a,omitempty"`
}

func (c cursor) valid() bool { return (c.Before > 0) != (c.After > 0) }

func (c cursor) encode() string { return encodeCursor(c) }

// idCursor pages lists ordered by a string id (products, locations,
// reservations, orders, tasks).
type idCursor struct {
	ID string `json:"id"`
}

func (c idCursor) valid() bool { return c.ID != "" }

// timelineCursor pages a timeline by (event time, seq).
type timelineCursor struct {
	At  int64 `json:"t"`
	Seq int64 `json:"s"`
}

func (c timelineCursor) valid() bool { return c.Seq > 0 }

func encodeCursor(c pageCursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errCursor = problem.Invalid("cursor", "is not a cursor this API handed out: pass the next_cursor of the previous page as it is, or none for the first page")

// readCursor reads the cursor parameter of v into c, which keeps its zero
// value when there is none.
func readCursor(v url.Values, c pageCursor) error {
	s := v.Get("cursor")
	if s == "" {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || b[0] != '{' {
		return errCursor
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return errCursor
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) || !c.valid() {
		return errCursor
	}
	return nil
}

// decodeCursor reads an integer-id cursor.
func decodeCursor(v url.Values) (cursor, error) {
	var c cursor
	err := readCursor(v, &c)
	return c, err
}

// cursorID reads a string-id cursor: the id where the previous page
// ended ("" for the first page).
func cursorID(v url.Values) (string, error) {
	var c idCursor
	err := readCursor(v, &c)
	return c.ID, err
}

// nextIDCursor is the cursor of the page after one of n items ending
// with id last, "" when the page was the last (shorter than limit).
func nextIDCursor(n, limit int, last string) string {
	if n < limit {
		return ""
	}
	return encodeCursor(idCursor{ID: last})
}
