// Package importfile reads import files record by record, with bounded
// memory, so that a malformed record costs only itself: every record
// carries the line it starts on, and reading carries on after a bad one.
//
// encoding/csv alone cannot do this: an unclosed quote makes it read the
// rest of the file as one quoted field and fail at the end, so every valid
// line after the quote is lost with it (and csv.Reader.FieldPos panics
// after such an error). Here the file is cut into physical lines first; a
// record spans several lines only while a quote is open, and only if the
// whole span then parses. Otherwise its first line alone is rejected and
// reading resumes on the next line.
package importfile

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits of a CSV record. A quoted value may hold line breaks, but not
// more than MaxRecordLines of them: a quote still open after that is taken
// for a mistake.
const (
	MaxRecordLines = 100
	MaxRecordBytes = 1 << 20
)

// Record is one record of a file: its fields, or why it could not be read.
type Record struct {
	Line   int      // where the record starts, from 1
	Fields []string // nil when Err is set
	Text   string   // the record as written (its first line when malformed), for reject files
	Err    error    // why the record could not be read; the reader carries on after it
}

// CSV reads a CSV file (RFC 4180, as encoding/csv reads it) record by
// record. Every record must have as many fields as the first (the
// header); one that does not comes back with Err set.
type CSV struct {
	lines   *Lines
	pending []line // lines read ahead by a failed multi-line record
	width   int    // the fields of the first record (the header); 0 before it
}

type line struct {
	n    int
	text string
	err  error
}

// NewCSV returns a reader of r. A UTF-8 byte order mark is skipped.
func NewCSV(r io.Reader) *CSV { return &CSV{lines: NewLines(r, MaxRecordBytes)} }

// Next returns the next record, or io.EOF after the last. A record that
// cannot be read comes back with Err set, and the next call goes on after
// it; any other error is the reader's.
func (c *CSV) Next() (Record, error) {
	first, err := c.take()
	for err == nil && first.err == nil && strings.TrimSuffix(first.text, "\r") == "" {
		first, err = c.take() // blank lines are no records, as in encoding/csv
	}
	if err != nil {
		return Record{}, err
	}
	if first.err != nil {
		return Record{Line: first.n, Text: first.text, Err: first.err}, nil
	}
	text, span := first.text, []line{first}
	for quoteOpen(text) && len(span) < MaxRecordLines && len(text) < MaxRecordBytes {
		next, err := c.take()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Record{}, err
		}
		span = append(span, next)
		if next.err != nil {
			break
		}
		text += "\n" + next.text
	}
	fields, perr := parseRecord(text)
	if perr == nil && !quoteOpen(text) && span[len(span)-1].err == nil {
		if c.width == 0 {
			c.width = len(fields)
		}
		if len(fields) != c.width {
			// A row with more or fewer values than the header has them
			// shifted (an unquoted comma in a value, a lost one): taking
			// it would put values under the wrong columns.
			return Record{Line: first.n, Text: strings.TrimSuffix(text, "\r"),
				Err: fmt.Errorf("has %d fields where the header has %d: quote a value that holds a comma, and keep empty values as empty fields", len(fields), c.width)}, nil
		}
		return Record{Line: first.n, Fields: fields, Text: strings.TrimSuffix(text, "\r")}, nil
	}
	if len(span) > 1 {
		// The quote that opened on the first line never closed into a
		// record: only that line is at fault. The lines after it are read
		// again as records of their own.
		c.pending = append(span[1:len(span):len(span)], c.pending...)
	}
	if quoteOpen(first.text) {
		perr = errors.New(`a quote opens a value that does not close: write "" for a quote inside a quoted value`)
	}
	return Record{Line: first.n, Text: strings.TrimSuffix(first.text, "\r"), Err: perr}, nil
}

func (c *CSV) take() (line, error) {
	if len(c.pending) > 0 {
		l := c.pending[0]
		c.pending = c.pending[1:]
		return l, nil
	}
	text, n, err := c.lines.Next()
	var long *LongLineError
	if errors.As(err, &long) {
		return line{n: n, text: text, err: err}, nil
	}
	if err != nil {
		return line{}, err
	}
	return line{n: n, text: text}, nil
}

// quoteOpen reports whether text ends inside a quoted value: an odd
// number of quotes (an escaped quote counts two).
func quoteOpen(text string) bool { return strings.Count(text, `"`)%2 == 1 }

// parseRecord reads exactly one record from text with encoding/csv. The
// line feed that ended the text in the file is given back, so that
// encoding/csv sees the same bytes as in the whole file (a carriage return
// before it is dropped, one inside a value kept).
func parseRecord(text string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(text + "\n"))
	r.FieldsPerRecord = -1
	fields, err := r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("column %d: %w", pe.Column, pe.Err)
		}
		return nil, err
	}
	if _, err := r.Read(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one record on the line")
	}
	return fields, nil
}
