package event

import (
	"bytes"
	"unicode/utf8"
)

// sanitize makes raw storable everywhere: invalid UTF-8 becomes U+FFFD, and
// so does the escaped NUL character (\u0000), which PostgreSQL's jsonb
// refuses. It reports whether it changed anything.
func sanitize(raw []byte) ([]byte, bool) {
	changed := false
	if !utf8.Valid(raw) {
		raw = bytes.ToValidUTF8(raw, []byte("\uFFFD"))
		changed = true
	}
	if !bytes.Contains(raw, []byte(`\u0000`)) {
		return raw, changed
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			out = append(out, c)
			continue
		}
		// An escape: copy it whole, so that "\\u0000" (a backslash, then
		// the text u0000) is told apart from "\u0000".
		if bytes.HasPrefix(raw[i:], []byte(`\u0000`)) {
			out = append(out, `\ufffd`...)
			i += len(`\u0000`) - 1
			changed = true
			continue
		}
		out = append(out, c, raw[i+1])
		i++
	}
	return out, changed
}
