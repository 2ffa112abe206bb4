package collect

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/parcours/parcours/internal/event"
)

// A batch is split into its events in one pass: decoding it with
// encoding/json would validate and copy every event twice before each is
// decoded on its own. The scanner only finds where values start and end;
// each event is then validated by its own decoding, so a malformed event is
// rejected alone, and the other top-level values are decoded normally.

var errTruncated = errors.New("unexpected end of JSON")

// eachMember calls fn for each member of the JSON object at the start of b
// with the key (unquoted) and the raw value.
func eachMember(b []byte, fn func(key string, value []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errors.New("expected a JSON object")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return trailing(b, i+1)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errors.New("expected a quoted key")
		}
		end, err := skipString(b, i)
		if err != nil {
			return err
		}
		key, err := unquote(b[i:end])
		if err != nil {
			return err
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return errors.New("expected ':' after key " + key)
		}
		start := skipSpace(b, i+1)
		end, err = skipValue(b, start)
		if err != nil {
			return err
		}
		if err := fn(key, b[start:end]); err != nil {
			return err
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return errTruncated
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return trailing(b, i+1)
		default:
			return errors.New("expected ',' or '}' after the value of " + key)
		}
	}
}

// eachElement calls fn with each raw element of the JSON array b. An object
// is inspected as it is skipped (event.ScanObject): the events of a batch
// are walked once, not once to split them and once more to validate them.
func eachElement(b []byte, fn func(elem []byte, s event.Scanned)) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return errors.New("expected a JSON array")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return nil
	}
	events := event.NewBatchScanner(b)
	for {
		var end int
		var err error
		var scan event.Scanned
		if i < len(b) && b[i] == '{' {
			end, scan, err = events.Object(i)
		} else {
			end, err = skipValue(b, i)
		}
		if err != nil {
			return err
		}
		fn(b[i:end], scan)
		i = skipSpace(b, end)
		if i >= len(b) {
			return errTruncated
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return nil
		default:
			return errors.New("expected ',' or ']' in array")
		}
	}
}

// skipValue returns the end of the value starting at b[i]. Objects and
// arrays are matched by depth, with strings skipped whole so that brackets
// inside them do not count.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errTruncated
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errTruncated
	}
	j := i
	for j < len(b) && !isDelimiter(b[j]) {
		j++
	}
	if j == i {
		return 0, errors.New("expected a value")
	}
	return j, nil
}

// skipString returns the end of the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, errTruncated
		}
		j += k
		// The quote is escaped if an odd number of backslashes precede it.
		n := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return j + 1, nil
		}
		j++
	}
}

func unquote(q []byte) (string, error) {
	if bytes.IndexByte(q, '\\') < 0 {
		return string(q[1 : len(q)-1]), nil
	}
	var s string
	err := json.Unmarshal(q, &s)
	return s, err
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

func isDelimiter(c byte) bool {
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == ':'
}

func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return errors.New("data after the JSON object")
	}
	return nil
}
