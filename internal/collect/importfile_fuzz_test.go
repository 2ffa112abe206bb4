package collect

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzImportRows: reading an event file never panics nor stops before the
// end on a malformed row, and rows come in line order. The seeds hold the
// unclosed quote of issue 14.3.
func FuzzImportRows(f *testing.F) {
	for _, seed := range []string{
		"userId,event\nc-1,Viewed\n\"c-2,Viewed\nc-3,Viewed\n",
		"userId\n\"",
		"userId,event\n\"a\"b,c\n\"x\ny\",z\n",
		"{\"type\":\"track\"}\n\n\"\n{}",
	} {
		f.Add(true, seed)
		f.Add(false, seed)
	}
	f.Fuzz(func(t *testing.T, csv bool, in string) {
		next := ndjsonLines(strings.NewReader(in))
		if csv {
			var err error
			if next, err = csvRows(strings.NewReader(in), &Mapping{Set: map[string]string{"type": "track"}}); err != nil {
				return // no header: the import refuses the file as a whole
			}
		}
		last := 0
		for {
			_, line, err := next()
			if errors.Is(err, io.EOF) {
				return
			}
			var re *rowError
			if err != nil && !errors.As(err, &re) {
				t.Fatalf("line %d: %v", line, err)
			}
			if line <= last {
				t.Fatalf("row at line %d after line %d", line, last)
			}
			last = line
		}
	})
}
