package conversation

import (
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"
)

// newBase64Reader decodes a base64 body, whose lines break every 76
// characters.
func newBase64Reader(r io.Reader) io.Reader {
	return base64.NewDecoder(base64.StdEncoding, stripNewlines{r})
}

func newQPReader(r io.Reader) io.Reader { return quotedprintable.NewReader(r) }

// stripNewlines drops CR, LF and spaces from what it reads.
type stripNewlines struct{ r io.Reader }

func (s stripNewlines) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		kept := []byte(strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, string(p[:n])))
		copy(p, kept)
		if len(kept) > 0 || err != nil {
			return len(kept), err
		}
	}
}
