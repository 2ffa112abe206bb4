package gen

import (
	"github.com/parcours/parcours/internal/event"
	"strconv"
	"time"
)

// jw writes JSON by appending to a byte slice. encoding/json would spend
// most of the generator's time on reflection and maps; the events have a
// fixed shape, so they are written directly. A comma is added before a key
// or an element unless it is the first of its object or array.
type jw struct{ b []byte }

func (w *jw) sep() {
	if n := len(w.b); n > 0 {
		if c := w.b[n-1]; c != '{' && c != '[' && c != ':' {
			w.b = append(w.b, ',')
		}
	}
}

func (w *jw) key(k string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *jw) str(k, v string) {
	w.key(k)
	w.b = appendString(w.b, v)
}

// raw writes a value that is already JSON.
func (w *jw) raw(k, v string) {
	w.key(k)
	w.b = append(w.b, v...)
}

func (w *jw) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

// euros writes an amount in cents as a decimal number of euros.
func (w *jw) euros(k string, cents int64) {
	w.key(k)
	w.b = appendEuros(w.b, cents)
}

func (w *jw) bool(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *jw) time(k string, t time.Time) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = t.UTC().AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
}

// open starts an object under key k, or an array element when k is empty.
func (w *jw) open(k string) {
	if k == "" {
		w.sep()
	} else {
		w.key(k)
	}
	w.b = append(w.b, '{')
}

func (w *jw) close() { w.b = append(w.b, '}') }

func (w *jw) openArray(k string) {
	w.key(k)
	w.b = append(w.b, '[')
}

func (w *jw) closeArray() { w.b = append(w.b, ']') }

func appendEuros(b []byte, cents int64) []byte {
	if cents < 0 {
		b = append(b, '-')
		cents = -cents
	}
	b = strconv.AppendInt(b, cents/100, 10)
	c := cents % 100
	return append(b, '.', byte('0'+c/10), byte('0'+c%10))
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte { return event.AppendString(b, s) }

// frag writes a fragment of object members ("a":1,"b":2) built elsewhere.
func (w *jw) frag(s string) {
	w.sep()
	w.b = append(w.b, s...)
}
