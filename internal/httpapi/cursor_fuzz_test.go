package httpapi

import (
	"net/url"
	"testing"
)

// FuzzCursor: every list's cursor parameter comes from clients. Any value
// is read without panic, as a cursor this API could have handed out or as
// an error; a cursor read is written back (encodeCursor) and read again to
// the same position; every valid cursor written is read back.
func FuzzCursor(f *testing.F) {
	for _, c := range []pageCursor{cursor{Before: 42}, cursor{After: 7}, idCursor{ID: "SHOE-42"}, timelineCursor{At: 1795442400000000, Seq: 12}} {
		f.Add(encodeCursor(c))
	}
	for _, s := range []string{"", "e30", "eyJiIjowfQ", "eyJiIjoxLCJhIjoxfQ", "eyJpZCI6IiJ9", "eyJiIjoxfQ\n", "eyJiIjoxfQ==", "W10", "bnVsbA", "eyJiIjoxfXt9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := url.Values{"cursor": {s}}
		roundTrip := func(c, again pageCursor) {
			t.Helper()
			if err := readCursor(v, c); err != nil {
				return
			}
			if s != "" && !c.valid() {
				t.Fatalf("cursor %q accepted as %+v, which this API never hands out", s, c)
			}
			if s == "" {
				return
			}
			if err := readCursor(url.Values{"cursor": {encodeCursor(c)}}, again); err != nil {
				t.Fatalf("cursor %q read as %+v, written back as %q: %v", s, c, encodeCursor(c), err)
			}
		}
		var c, c2 cursor
		roundTrip(&c, &c2)
		if readCursor(v, &cursor{}) == nil && s != "" && c != c2 {
			t.Fatalf("cursor %q: %+v, then %+v", s, c, c2)
		}
		var i, i2 idCursor
		roundTrip(&i, &i2)
		if readCursor(v, &idCursor{}) == nil && s != "" && i != i2 {
			t.Fatalf("cursor %q: %+v, then %+v", s, i, i2)
		}
		var tl, tl2 timelineCursor
		roundTrip(&tl, &tl2)
		if readCursor(v, &timelineCursor{}) == nil && s != "" && tl != tl2 {
			t.Fatalf("cursor %q: %+v, then %+v", s, tl, tl2)
		}
	})
}
