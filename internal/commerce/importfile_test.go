package commerce_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/problem"
)

type scanned struct {
	line int
	sku  string
	bad  bool
}

func scan(t testing.TB, format, in string) []scanned {
	t.Helper()
	var out []scanned
	err := commerce.ScanFile(strings.NewReader(in), format, func(r commerce.Record) error {
		s := scanned{line: r.Line, bad: r.Err != nil}
		switch {
		case r.Err != nil:
		case r.Fields != nil:
			s.sku = r.Fields["sku"]
		default:
			var rec struct {
				SKU string `json:"sku"`
			}
			if err := commerce.DecodeJSON(r.Raw, &rec); err != nil {
				s.bad = true
			}
			s.sku = rec.SKU
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		t.Fatalf("ScanFile(%s): %v", format, err)
	}
	return out
}

// TestScanFileKeepsGoodRecords: an unclosed quote (which made the CSV
// imports panic in FieldPos), a JSON syntax error and an overlong NDJSON
// line cost their own record only, reported on its real line.
func TestScanFileKeepsGoodRecords(t *testing.T) {
	tests := []struct {
		format, in string
		want       []scanned
	}{
		{"csv", "sku,location_id,on_hand\nA,lyon,1\n\"B,lyon,2\nC,lyon,3\n",
			[]scanned{{2, "A", false}, {3, "", true}, {4, "C", false}}},
		{"csv", "\xef\xbb\xbfSKU , location_id\n\n\"A\",\"lyon\"\n\"x\"y,z\n\"multi\nline\",w\nD,v\n",
			[]scanned{{3, "A", false}, {4, "", true}, {5, "multi\nline", false}, {7, "D", false}}},
		{"ndjson", "{\"sku\":\"A\"}\n\n{\"sku\":\"B\"\n{\"sku\":\"" + strings.Repeat("x", 5<<20) + "\"}\n{\"sku\":\"C\"}",
			[]scanned{{1, "A", false}, {3, "", true}, {4, "", true}, {5, "C", false}}},
		{"json", "\xef\xbb\xbf\n[\n {\"sku\":\"A\"},\n\n {\"sku\":\n  \"B\"},\n {\"sku\": oops},\n {\"sku\":\"C\"}\n]",
			[]scanned{{3, "A", false}, {5, "B", false}, {7, "", true}}},
	}
	for i, tc := range tests {
		got := scan(t, tc.format, tc.in)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%d (%s): got %v, want %v", i, tc.format, got, tc.want)
		}
	}
}

// FuzzScanFile: no input makes a scan panic or fail (but a CSV file whose
// header cannot be read), and records come in line order.
func FuzzScanFile(f *testing.F) {
	for _, seed := range []string{
		"id,name,lat\n\"lyon,Lyon,45\n", // the crasher of issue 14.3
		"sku,location_id,on_hand\nA,lyon,1\n\"B,lyon,2\nC,lyon,3\n",
		"[{\"sku\":\"A\"},{\"sku\":",
		"{\"sku\":\"A\"}\n\"\n",
		"\xef\xbb\xbf  \n[\n1,\n\"x\"]",
	} {
		for _, format := range []string{"csv", "json"} {
			f.Add(format, seed)
		}
	}
	f.Fuzz(func(t *testing.T, format, in string) {
		if format != "csv" {
			format = "json"
		}
		last := 0
		err := commerce.ScanFile(strings.NewReader(in), format, func(r commerce.Record) error {
			if r.Line < last || r.Line < 1 {
				return fmt.Errorf("record at line %d after line %d", r.Line, last)
			}
			if r.Err != nil && !errors.As(r.Err, new(*problem.ValidationError)) {
				return fmt.Errorf("line %d: %T %v", r.Line, r.Err, r.Err)
			}
			last = r.Line
			return nil
		})
		if err != nil && !(format == "csv" && strings.Contains(err.Error(), "csv header")) {
			t.Fatal(err)
		}
	})
}
