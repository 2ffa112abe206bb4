package conversation_test

import (
	"testing"
	"unicode/utf8"

	"github.com/parcours/parcours/internal/conversation"
)

// FuzzParseEmail feeds the inbound email parser (it reads what anyone can
// send to the SMTP server): it must not panic, and what it keeps is
// bounded.
func FuzzParseEmail(f *testing.F) {
	f.Add([]byte("From: a@b.example\r\nSubject: =?utf-8?q?R=C3=A9ponse?=\r\nMessage-ID: <1@b>\r\nIn-Reply-To: <x@y>\r\n\r\nhello\r\n> quoted\r\n"))
	f.Add([]byte("From: a@b.example\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Type: multipart/alternative; boundary=y\r\n\r\n--y\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nh=C3=A9\r\n--y--\r\n--z--\r\n"))
	f.Add([]byte("From: a@b.example\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+aGk8L2I+\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := conversation.ParseEmail(raw)
		if err != nil {
			return
		}
		if len(e.Text) > 4*conversation.MaxBody || len(e.References) > 40 {
			t.Fatalf("kept %d bytes and %d references", len(e.Text), len(e.References))
		}
		_ = utf8.ValidString(e.Text)
	})
}
