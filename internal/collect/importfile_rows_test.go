package collect_test

import (
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/collect"
)

// TestImportCSVUnclosedQuote: an unclosed quote used to swallow the valid
// lines after it into one reject, numbered with the last line of the
// file (issue 14.3). Now the row alone is rejected, on its own line.
func TestImportCSVUnclosedQuote(t *testing.T) {
	s, src := importStore(t)
	data := "userId,event,timestamp\n" +
		"c-1,Viewed,2025-01-01T10:00:00Z\n" +
		"\"c-2,Viewed,2025-01-01T10:01:00Z\n" +
		"c-3,Viewed,2025-01-01T10:02:00Z\n" +
		"c-4,Viewed,2025-01-01T10:03:00Z\n"
	m := &collect.Mapping{Set: map[string]string{"type": "track"}}
	sum, rejects := runImport(t, s, src, "csv", data, m)
	if sum.Lines != 4 || sum.Stored != 3 || sum.Rejected != 1 {
		t.Fatalf("summary %+v, want 4 lines, 3 stored, 1 rejected", sum)
	}
	if len(rejects) != 1 || rejects[0].Line != 3 || rejects[0].Input != `"c-2,Viewed,2025-01-01T10:01:00Z` ||
		!strings.Contains(rejects[0].Reason, "does not close") {
		t.Fatalf("rejects %+v", rejects)
	}
}

// TestImportNDJSONLongLine: a line over the limit is rejected alone
// instead of being read whole into memory.
func TestImportNDJSONLongLine(t *testing.T) {
	s, src := importStore(t)
	data := `{"type":"track","userId":"c-1","event":"A","timestamp":"2025-01-01T10:00:00Z"}` + "\n" +
		`{"type":"track","userId":"c-1","event":"` + strings.Repeat("x", 5<<20) + `"}` + "\n" +
		`{"type":"track","userId":"c-1","event":"B","timestamp":"2025-01-01T10:00:00Z"}`
	sum, rejects := runImport(t, s, src, "ndjson", data, nil)
	if sum.Stored != 2 || sum.Rejected != 1 || len(rejects) != 1 {
		t.Fatalf("summary %+v, %d rejects", sum, len(rejects))
	}
	if rejects[0].Line != 2 || len(rejects[0].Input) > 1024 || !strings.Contains(rejects[0].Reason, "longer than") {
		t.Fatalf("reject at line %d, %d bytes of input: %s", rejects[0].Line, len(rejects[0].Input), rejects[0].Reason)
	}
}
