package template

import (
	"unicode/utf16"

	"github.com/parcours/parcours/internal/message/provider"
)

// SMS is the SMS variant.
type SMS struct {
	Body string `json:"body"`
}

func (s *SMS) fields(add func(name, src string, html bool)) { add("sms.body", s.Body, false) }

func (s *SMS) problems() []Problem {
	if s.Body == "" {
		return []Problem{{Field: "sms.body", Message: "empty"}}
	}
	return nil
}

func (s *SMS) render(rd *renderer, m *provider.Message) { m.Body = rd.field("sms.body", s.Body, false) }

// links tags the links of the text (which lengthens it: see Rules.Limit).
func (s *SMS) links(m *provider.Message, l Links) { m.Body = RewriteTextLinks(m.Body, l.Tag) }

// gsm7 is the GSM 03.38 basic character set; gsm7ext the extension table,
// whose characters take two septets (an escape, then the character).
var gsm7, gsm7ext = func() (basic, ext map[rune]bool) {
	basic, ext = map[rune]bool{}, map[rune]bool{}
	for _, r := range "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà" {
		basic[r] = true
	}
	for _, r := range "\f^{}\\[~]|€" {
		ext[r] = true
	}
	return basic, ext
}()

// SMSInfo is how an SMS body is encoded and how many segments it takes.
type SMSInfo struct {
	Encoding string `json:"encoding"` // "GSM-7" or "UCS-2"
	// Chars counts septets (GSM-7, extension characters twice) or UTF-16
	// code units (UCS-2, characters outside the BMP twice).
	Chars int `json:"chars"`
	Count int `json:"segments"`
}

// Segments returns the encoding of body and its segment count: GSM-7
// holds 160 septets in one segment, 153 per segment when concatenated;
// UCS-2 holds 70 code units, 67 when concatenated.
func Segments(body string) SMSInfo {
	septets, gsm := 0, true
	for _, r := range body {
		switch {
		case gsm7[r]:
			septets++
		case gsm7ext[r]:
			septets += 2
		default:
			gsm = false
		}
	}
	if gsm {
		info := SMSInfo{Encoding: "GSM-7", Chars: septets, Count: segments(septets, 160, 153)}
		if septets > 160 {
			// An escape and its character never straddle two segments.
			info.Count = packed(body, 153, func(r rune) int {
				if gsm7ext[r] {
					return 2
				}
				return 1
			})
		}
		return info
	}
	units := len(utf16.Encode([]rune(body)))
	info := SMSInfo{Encoding: "UCS-2", Chars: units, Count: segments(units, 70, 67)}
	if units > 70 {
		// Nor do the two halves of a surrogate pair.
		info.Count = packed(body, 67, func(r rune) int { return utf16.RuneLen(r) })
	}
	return info
}

// packed counts the segments of size units that body fills when no
// character is split between two of them.
func packed(body string, size int, width func(rune) int) int {
	n, used := 1, 0
	for _, r := range body {
		w := width(r)
		if used+w > size {
			n, used = n+1, 0
		}
		used += w
	}
	return n
}

func segments(n, single, multi int) int {
	switch {
	case n == 0:
		return 0
	case n <= single:
		return 1
	}
	return (n + multi - 1) / multi
}
