package message

import (
	"strings"
	"unicode/utf8"
)

// maxReason bounds, in bytes, the reason recorded with a message or a
// suppression.
const maxReason = 2000

// reasonText makes outside text fit to be recorded as a reason. A
// provider's error, a bounce's Diagnostic-Code, are whatever was sent:
// bytes that are not UTF-8 (an error page in Latin-1, an answer cut inside
// a character), which PostgreSQL refuses, and pages of HTML. The text is
// made valid UTF-8 and cut, on a character boundary, at maxReason bytes.
func reasonText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
