package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/parcours/parcours/internal/problem"
)

// MaxDepth is the deepest nesting of objects and arrays an event may have,
// the event object itself being level 1 (so properties may nest 63 levels).
// Common JSON parsers refuse or overflow their stack far beyond it (Python's
// json module at about 1,000 levels), and no real event needs more.
const MaxDepth = 64

// MaxNumberScale is the most digits a number may have after its decimal
// point, once its exponent is applied: PostgreSQL's numeric type, which
// jsonb stores numbers in, holds no more (1e-16384 is refused).
const MaxNumberScale = 16383

// inspection is what one pass over an event's bytes found.
type inspection struct {
	// rewrite: an escape that one engine refuses (\u0000, a lone UTF-16
	// surrogate) must be rewritten as U+FFFD.
	rewrite bool
	// bad is the first problem that makes the event unstorable: a number
	// out of range, or nesting deeper than MaxDepth.
	bad *problem.ValidationError
}

// inspect walks raw once, the way a JSON tokenizer would but without
// decoding: strings are skipped with a byte search, and only what the
// decoder would accept but a store or a reader would not is checked —
// numbers out of what both a 64-bit float and PostgreSQL's numeric hold,
// nesting deeper than MaxDepth, escapes PostgreSQL's jsonb refuses. Malformed
// JSON is not reported here: the decoder that runs next reports it better.
// base is the nesting level raw starts at (0 for an event), and prefix the
// path reported for it ("" for an event).
func inspect(raw []byte, base int, prefix string) inspection {
	nextEsc := indexFrom(raw, 0, '\\')
	_, in, _ := walk(raw, 0, base, prefix, true, &nextEsc)
	return in
}

// A BatchScanner splits the events of one batch and inspects them as
// Normalize would, in one pass: NormalizeScanned then skips the inspection.
type BatchScanner struct {
	b []byte
	// nextEsc is the position of the next backslash in b at or after the
	// last object scanned (len(b): none), found once for the whole batch:
	// searching each object's own would scan to the end of the batch for
	// every event of a batch without escapes.
	nextEsc int
}

// NewBatchScanner returns a scanner of the objects of b.
func NewBatchScanner(b []byte) *BatchScanner { return &BatchScanner{b: b, nextEsc: -1} }

// Object returns the end of the JSON object that starts at b[i], and what
// inspecting it found. It fails when the object does not end.
func (s *BatchScanner) Object(i int) (end int, sc Scanned, err error) {
	if s.nextEsc < i {
		s.nextEsc = indexFrom(s.b, i, '\\')
	}
	end, in, ok := walk(s.b, i, 0, "", false, &s.nextEsc)
	if !ok {
		return 0, Scanned{}, errTruncated
	}
	return end, Scanned{in: in, done: true}, nil
}

// ScanObject scans the one object that starts at b[i] (see BatchScanner).
func ScanObject(b []byte, i int) (end int, s Scanned, err error) {
	return NewBatchScanner(b).Object(i)
}

// Scanned is what ScanObject found in an event.
type Scanned struct {
	in   inspection
	done bool
}

var errTruncated = errors.New("unexpected end of JSON")

// walk is inspect's loop. With whole, it walks raw to its end and stops at
// the first problem. Otherwise it walks the object or array that starts at
// raw[start] to its end, which it returns with ok, the first problem found
// in it described relative to it. *nextEsc is the position of the first
// backslash at or after start (len(raw): none); walk keeps it up to date.
func walk(raw []byte, start, base int, prefix string, whole bool, nextEsc *int) (end int, in inspection, ok bool) {
	depth := base
	// The first problem: what, where, and the number at fault.
	var found, at int
	var why string
	report := func() {
		elem := raw[start:]
		if !whole {
			elem = raw[start:end]
		}
		switch found {
		case problemTooDeep:
			in.bad = &problem.ValidationError{Code: CodeTooDeep, Path: pathAt(elem, at-start, prefix),
				Reason: "nested more than " + strconv.Itoa(MaxDepth) + " levels deep (objects and arrays, the event being level 1); flatten it"}
		case problemNumber:
			in.bad = &problem.ValidationError{Code: CodeInvalidNumber, Path: pathAt(elem, at-start, prefix), Reason: why}
		}
	}
	// A string that ends before the next backslash holds no escape, and
	// most events hold none at all.
	for i := start; i < len(raw); {
		switch byteClass[raw[i]] {
		case classQuote:
			q := indexFrom(raw, i+1, '"')
			if q < *nextEsc {
				i = q + 1
				continue
			}
			e, rewrite := skipJSONString(raw, i)
			in.rewrite = in.rewrite || rewrite
			i = e
			if *nextEsc < i {
				*nextEsc = indexFrom(raw, i, '\\')
			}
		case classOpen:
			depth++
			if depth > MaxDepth && found == 0 {
				found, at = problemTooDeep, i
				if whole {
					report()
					return len(raw), in, true
				}
			}
			i++
		case classClose:
			depth--
			i++
			if !whole && depth == base {
				end = i
				if found != 0 {
					report()
				}
				return end, in, true
			}
		case classNumber:
			j := i + 1
			simple := true // digits, '-' and '.' only: no exponent
			for j < len(raw) && isNumberByte(raw[j]) {
				if raw[j] == 'e' || raw[j] == 'E' {
					simple = false
				}
				j++
			}
			// Fifteen characters without an exponent cannot be out of
			// range: the check costs nothing for ordinary numbers.
			if (!simple || j-i > 15) && found == 0 {
				if w := numberProblem(raw[i:j]); w != "" {
					found, at, why = problemNumber, i, "number "+truncate(string(raw[i:j]), 40)+" "+w
					if whole {
						report()
						return len(raw), in, true
					}
				}
			}
			i = j
		default:
			i++
		}
	}
	return len(raw), in, whole
}

// The kinds of problem walk records (0: none yet).
const (
	problemTooDeep = iota + 1
	problemNumber
)

// The bytes inspect acts on outside strings.
const (
	classOther = iota
	classQuote
	classOpen
	classClose
	classNumber
)

var byteClass = func() (t [256]uint8) {
	t['"'] = classQuote
	t['{'], t['['] = classOpen, classOpen
	t['}'], t[']'] = classClose, classClose
	t['-'] = classNumber
	for c := '0'; c <= '9'; c++ {
		t[c] = classNumber
	}
	return t
}()

// indexFrom returns the index of the first c in raw at or after i, or
// len(raw).
func indexFrom(raw []byte, i int, c byte) int {
	if i >= len(raw) {
		return len(raw)
	}
	if k := bytes.IndexByte(raw[i:], c); k >= 0 {
		return i + k
	}
	return len(raw)
}

// skipJSONString returns the end of the string that starts at raw[i] (a
// quote), and whether it holds an escape to rewrite. Unterminated strings
// end at len(raw).
func skipJSONString(raw []byte, i int) (end int, rewrite bool) {
	j := i + 1
	for {
		q := bytes.IndexByte(raw[j:], '"')
		if q < 0 {
			return len(raw), rewrite
		}
		q += j
		b := bytes.IndexByte(raw[j:q], '\\')
		if b < 0 {
			return q + 1, rewrite
		}
		// Escapes: walk them up to the quote, which may itself be escaped.
		k := j + b
		for k < q {
			if raw[k] != '\\' {
				k++
				continue
			}
			if k+1 >= len(raw) {
				return len(raw), rewrite
			}
			if raw[k+1] != 'u' {
				k += 2
				continue
			}
			r, ok := hex4(raw, k+2)
			switch {
			case !ok:
				k += 2
			case r == 0:
				rewrite = true
				k += 6
			case 0xD800 <= r && r < 0xDC00:
				// A high surrogate must be followed by a low one.
				if lo, ok := escapedRune(raw, k+6); ok && 0xDC00 <= lo && lo < 0xE000 {
					k += 12
				} else {
					rewrite = true
					k += 6
				}
			case 0xDC00 <= r && r < 0xE000:
				rewrite = true // a low surrogate alone
				k += 6
			default:
				k += 6
			}
		}
		if k == q {
			return q + 1, rewrite // the quote was not escaped
		}
		j = k // the escape ran over the quote: look for the next one
	}
}

// escapedRune reads a \uXXXX escape at raw[i].
func escapedRune(raw []byte, i int) (rune, bool) {
	if i+1 >= len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
		return 0, false
	}
	return hex4(raw, i+2)
}

func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func isNumberByte(c byte) bool {
	return isDigit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// numberProblem says why the JSON number tok cannot be stored, or "". A
// number must be a finite 64-bit float, which every reader (Go, JavaScript)
// decodes numbers into, and must fit PostgreSQL's numeric: a float's
// magnitude always does, but not every number of digits after the point.
func numberProblem(tok []byte) string {
	mant, exp, hasExp := bytes.Cut(bytes.ToLower(tok), []byte("e"))
	_, frac, _ := bytes.Cut(mant, []byte("."))
	e := int64(0)
	if hasExp {
		var ok bool
		if e, ok = parseExponent(exp); !ok {
			return "" // not a JSON number: the decoder reports it
		}
	}
	if _, err := strconv.ParseFloat(string(tok), 64); err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return "is out of range: numbers must be finite 64-bit floats (at most ±1.7976931348623157e308); send it as a string"
		}
		return ""
	}
	if int64(len(frac))-e > MaxNumberScale {
		return "has more than " + strconv.Itoa(MaxNumberScale) + " digits after the decimal point, which PostgreSQL cannot store; round it or send it as a string"
	}
	return ""
}

// parseExponent reads a JSON exponent ([+-]digits), saturating far beyond
// any exponent that matters.
func parseExponent(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		if n < 1<<40 {
			n = n*10 + int64(c-'0')
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// pathAt names the value at raw[offset] the way error fields are named:
// properties.items[2].price. It runs only to report a problem, so it may
// walk raw again. The path is cut after 200 bytes.
func pathAt(raw []byte, offset int, prefix string) string {
	// Each open container, with the member being read in it: its key in
	// an object, its index in an array.
	type frame struct {
		array bool
		key   string
		index int
	}
	var stack []frame
	for i := 0; i < offset && i < len(raw); {
		switch c := raw[i]; c {
		case '"':
			end, _ := skipJSONString(raw, i)
			if n := len(stack); n > 0 && !stack[n-1].array {
				if k := skipSpaces(raw, end); k < len(raw) && raw[k] == ':' {
					stack[n-1].key = unquoteKey(raw[i:end])
				}
			}
			i = end
		case '{', '[':
			stack = append(stack, frame{array: c == '['})
			i++
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			i++
		case ',':
			if n := len(stack); n > 0 && stack[n-1].array {
				stack[n-1].index++
			}
			i++
		default:
			i++
		}
	}
	b := []byte(prefix)
	for _, f := range stack {
		if f.array {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(f.index), 10)
			b = append(b, ']')
		} else {
			if len(b) > 0 {
				b = append(b, '.')
			}
			b = append(b, f.key...)
		}
	}
	return truncate(string(b), 200)
}

func skipSpaces(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}

func unquoteKey(q []byte) string {
	if len(q) < 2 {
		return ""
	}
	if bytes.IndexByte(q, '\\') < 0 {
		return string(q[1 : len(q)-1])
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return string(q[1 : len(q)-1])
	}
	return s
}

// CheckMember checks a batch-level member (context, integrations) before it
// is merged into each event, as Normalize checks an event: a problem there
// would be copied into every event of the batch. It returns nil or a
// *problem.ValidationError whose Field is the path from name. Text that would be
// corrected in an event (invalid UTF-8, \u0000, an unpaired surrogate) is an
// error here: the batch cannot be stored as sent.
func CheckMember(name string, raw []byte) error { return check(raw, 1, name) }

// Check reports whether the stored form of an event holds anything a store
// or a reader refuses, as CheckMember does; tests and fuzzers use it.
func Check(raw []byte) error { return check(raw, 0, "") }

func check(raw []byte, base int, name string) error {
	in := inspect(raw, base, name)
	if in.bad != nil {
		return in.bad
	}
	if in.rewrite || !utf8.Valid(raw) {
		return &problem.ValidationError{Code: CodeInvalidText, Path: name,
			Reason: "holds invalid UTF-8, \\u0000 or an unpaired UTF-16 surrogate (\\ud800), which PostgreSQL cannot store"}
	}
	return nil
}
