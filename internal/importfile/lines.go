package importfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// LongLineError is a line longer than a reader accepts. Its text is cut to
// the limit; the rest of the line is skipped.
type LongLineError struct {
	Max int
}

func (e *LongLineError) Error() string {
	return fmt.Sprintf("the line is longer than %d bytes: split the record or shorten its values", e.Max)
}

// Lines reads a file line by line, counting lines from 1, with a bounded
// line length. A UTF-8 byte order mark at the start is skipped.
type Lines struct {
	br  *bufio.Reader
	max int
	n   int
}

// NewLines returns a reader of r's lines of at most max bytes.
func NewLines(r io.Reader, max int) *Lines {
	return &Lines{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

var bom = []byte("\xef\xbb\xbf")

// Next returns the next line without its line feed, and its number. A
// line over the limit comes back cut, with a *LongLineError; the next call
// reads the line after it. After the last line it returns io.EOF.
func (l *Lines) Next() (string, int, error) {
	var buf []byte
	total, feed := 0, false
	for {
		chunk, err := l.br.ReadSlice('\n')
		total += len(chunk)
		// Keep up to max bytes and the line feed; count the rest only.
		if room := l.max + 1 - len(buf); room > 0 {
			buf = append(buf, chunk[:min(len(chunk), room)]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return "", l.n, err
		}
		if total == 0 {
			return "", l.n, io.EOF
		}
		feed = err == nil
		break
	}
	l.n++
	if feed {
		total--
		buf = bytes.TrimSuffix(buf, []byte{'\n'})
	}
	if l.n == 1 {
		buf = bytes.TrimPrefix(buf, bom)
	}
	if total > l.max {
		return string(buf[:min(len(buf), l.max)]), l.n, &LongLineError{Max: l.max}
	}
	return string(buf), l.n, nil
}
