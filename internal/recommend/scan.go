package recommend

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/parcours/parcours/internal/event"
)

// errScan is a body the fast scanner does not read; the caller decodes it
// with encoding/json instead.
var errScan = errors.New("recommend: unexpected JSON")

// scanSlim reads the top-level fields the model needs of a stored event
// without decoding (or validating) the rest: context, traits and the
// other fields are skipped by matching their brackets, and only the
// properties object is handed to encoding/json. The profile showed
// encoding/json's validation of whole bodies (context included) was most
// of a rebuild's CPU.
func scanSlim(b []byte, s *slim) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errScan
	}
	i++
	for {
		i = skipSpace(b, i)
		if i >= len(b) {
			return errScan
		}
		if b[i] == '}' {
			return nil
		}
		if b[i] == ',' {
			i++
			continue
		}
		if b[i] != '"' {
			return errScan
		}
		kEnd, esc := stringEnd(b, i)
		if kEnd < 0 || esc {
			return errScan
		}
		key := b[i+1 : kEnd-1]
		i = skipSpace(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return errScan
		}
		i = skipSpace(b, i+1)
		vEnd := valueEnd(b, i)
		if vEnd < 0 {
			return errScan
		}
		val := b[i:vEnd]
		var err error
		switch string(key) {
		case "type":
			var t string
			t, err = str(val)
			s.Type = event.Type(t)
		case "event":
			s.Event, err = str(val)
		case "userId":
			s.UserID, err = str(val)
		case "anonymousId":
			s.AnonymousID, err = str(val)
		case "channel":
			s.Channel, err = str(val)
		case "storeId":
			s.StoreID, err = str(val)
		case "timestamp":
			var t string
			if t, err = str(val); err == nil {
				s.Timestamp, err = time.Parse(time.RFC3339Nano, t)
			}
		case "properties":
			if val[0] == '{' {
				err = json.Unmarshal(val, &s.Properties)
			}
		}
		if err != nil {
			return errScan
		}
		i = vEnd
	}
}

// str reads a JSON string value (null reads as "").
func str(v []byte) (string, error) {
	if len(v) == 4 && string(v) == "null" {
		return "", nil
	}
	if len(v) < 2 || v[0] != '"' {
		return "", errScan
	}
	for _, c := range v[1 : len(v)-1] {
		if c == '\\' {
			var s string
			err := json.Unmarshal(v, &s)
			return s, err
		}
	}
	return string(v[1 : len(v)-1]), nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string starting at b[i] (a quote)
// and whether it holds escapes; -1 if it does not end.
func stringEnd(b []byte, i int) (int, bool) {
	esc := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			esc = true
			j++
		case '"':
			return j + 1, esc
		}
	}
	return -1, esc
}

// valueEnd returns the index after the JSON value starting at b[i]; -1
// if it does not end.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		e, _ := stringEnd(b, i)
		return e
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e, _ := stringEnd(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
