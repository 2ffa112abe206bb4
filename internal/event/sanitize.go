package event

import (
	"bytes"
	"unicode/utf8"
)

// sanitize makes raw storable everywhere: invalid UTF-8 becomes U+FFFD, and
// so do the escapes PostgreSQL's jsonb refuses — the NUL character (\u0000)
// and UTF-16 surrogates that are not in a pair (\ud800 alone), which Go's
// decoder reads as U+FFFD anyway. escapes says whether inspect found such an
// escape; sanitize reports whether it changed anything.
func sanitize(raw []byte, escapes bool) ([]byte, bool) {
	changed := false
	if !utf8.Valid(raw) {
		raw = bytes.ToValidUTF8(raw, []byte("\uFFFD"))
		changed = true
	}
	if !escapes {
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
		if raw[i+1] != 'u' {
			out = append(out, c, raw[i+1])
			i++
			continue
		}
		r, ok := hex4(raw, i+2)
		switch {
		case !ok:
			out = append(out, c, raw[i+1])
			i++
			continue
		case 0xD800 <= r && r < 0xDC00:
			if lo, ok := escapedRune(raw, i+6); ok && 0xDC00 <= lo && lo < 0xE000 {
				out = append(out, raw[i:i+12]...) // a proper pair
				i += 11
				continue
			}
			r = 0 // a high surrogate alone
		case 0xDC00 <= r && r < 0xE000:
			r = 0 // a low surrogate alone
		}
		if r == 0 {
			out = append(out, `\ufffd`...)
			changed = true
		} else {
			out = append(out, raw[i:i+6]...)
		}
		i += 5
	}
	return out, changed
}
