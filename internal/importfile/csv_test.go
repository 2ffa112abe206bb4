package importfile_test

import (
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/importfile"
)

func readAll(t testing.TB, in string) []importfile.Record {
	t.Helper()
	r := importfile.NewCSV(strings.NewReader(in))
	var out []importfile.Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, rec)
	}
}

// TestUnclosedQuoteCostsOnlyItsLine is the file: a row starting
// with an unclosed quote made encoding/csv swallow every line after it
// (and FieldPos panic); now that row alone is refused, on its own line.
func TestUnclosedQuoteCostsOnlyItsLine(t *testing.T) {
	in := "sku,location_id,on_hand\n" +
		"A,lyon,1\n" +
		"\"B,lyon,2\n" +
		"C,lyon,3\n" +
		"\n" +
		"\"D, with comma\",\"paris\",4\n" +
		"E,\"multi\nline\",5\n" +
		"F,lyon,6"
	got := readAll(t, in)
	type row struct {
		line   int
		fields string
		bad    bool
	}
	var rows []row
	for _, r := range got {
		rows = append(rows, row{r.Line, strings.Join(r.Fields, "|"), r.Err != nil})
	}
	want := []row{
		{1, "sku|location_id|on_hand", false},
		{2, "A|lyon|1", false},
		{3, "", true},
		{4, "C|lyon|3", false},
		{6, "D, with comma|paris|4", false},
		{7, "E|multi\nline|5", false},
		{9, "F|lyon|6", false},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("records\n got %v\nwant %v", rows, want)
	}
	if got[2].Text != `"B,lyon,2` || !strings.Contains(got[2].Err.Error(), "does not close") {
		t.Fatalf("the bad record: %q, %v", got[2].Text, got[2].Err)
	}
}

func TestBadQuotesAndLongLines(t *testing.T) {
	long := strings.Repeat("x", importfile.MaxRecordBytes+10)
	in := "a,b\n" + `x"y,1` + "\n" + `"a"b,2` + "\n" + long + ",3\n" + "ok,4\n" + `"never closed,5` + "\n"
	got := readAll(t, in)
	if len(got) != 6 {
		t.Fatalf("%d records: %+v", len(got), got)
	}
	for i, bad := range []bool{false, true, true, true, false, true} {
		if (got[i].Err != nil) != bad || got[i].Line != i+1 {
			t.Errorf("record %d: line %d, err %v", i, got[i].Line, got[i].Err)
		}
	}
	var long2 *importfile.LongLineError
	if !errors.As(got[3].Err, &long2) || len(got[3].Text) != importfile.MaxRecordBytes {
		t.Errorf("long line: %v, %d bytes kept", got[3].Err, len(got[3].Text))
	}
}

// FuzzCSV: the reader never panics, its line numbers increase, and on a
// file encoding/csv reads without error it returns exactly encoding/csv's
// records at encoding/csv's lines.
func FuzzCSV(f *testing.F) {
	f.Add("sku,location_id,on_hand\nA,lyon,1\n\"B,lyon,2\nC,lyon,3\n")
	f.Add("\"\n")
	f.Add("a,\"b\r\nc\"\r\n\r\nd\r\n")
	f.Add("\xef\xbb\xbfid,name\n\"x\"\"y\",z\n")
	f.Add("a\n\"b\nc\"d\ne\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		got := readAll(t, in)
		last := 0
		for _, r := range got {
			if r.Line <= last {
				t.Fatalf("line %d after line %d", r.Line, last)
			}
			last = r.Line
			if (r.Err == nil) == (r.Fields == nil) {
				t.Fatalf("record at line %d: fields %q and error %v", r.Line, r.Fields, r.Err)
			}
		}
		cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(in, "\xef\xbb\xbf")))
		cr.FieldsPerRecord = 0 // as many fields as the first record
		var want [][]string
		var lines []int
		var ragged []bool
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			short := errors.Is(err, csv.ErrFieldCount)
			if err != nil && !short {
				return // a malformed file: nothing to compare with
			}
			ragged = append(ragged, short)
			l, _ := cr.FieldPos(0)
			if n := strings.Count(strings.Join(rec, ""), "\n"); n >= importfile.MaxRecordLines {
				return // beyond the reader's limits
			}
			want, lines = append(want, rec), append(lines, l)
		}
		if len(got) != len(want) {
			t.Fatalf("%d records, encoding/csv reads %d:\n got %+v\nwant %q", len(got), len(want), got, want)
		}
		for i := range got {
			if ragged[i] {
				if got[i].Err == nil || got[i].Line != lines[i] {
					t.Fatalf("record %d: line %d %q (%v); encoding/csv: line %d has %d fields, not the header's", i, got[i].Line, got[i].Fields, got[i].Err, lines[i], len(want[i]))
				}
				continue
			}
			if got[i].Err != nil || !reflect.DeepEqual(got[i].Fields, want[i]) || got[i].Line != lines[i] {
				t.Fatalf("record %d: line %d %q (%v), encoding/csv: line %d %q", i, got[i].Line, got[i].Fields, got[i].Err, lines[i], want[i])
			}
		}
	})
}
