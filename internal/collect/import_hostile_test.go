package collect_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/store"
)

// TestImportKeepsGoodLinesOnBothEngines: one number PostgreSQL cannot hold
// used to fail the whole transaction, so an import stored none of the
// lines and wrote nothing to its reject file.
func TestImportKeepsGoodLinesOnBothEngines(t *testing.T) {
	onEngines(t, func(t *testing.T, st store.Store) {
		src, _ := source.New("CRM", "crm", "", time.Now())
		if err := st.CreateSource(context.Background(), src); err != nil {
			t.Fatal(err)
		}
		data := strings.Join([]string{
			`{"type":"identify","userId":"c-1","messageId":"l1","traits":{"email":"a@b.fr"}}`,
			`{"type":"track","userId":"c-1","messageId":"l2","event":"Order Completed","properties":{"total":1e131072}}`,
			`{"type":"track","userId":"c-1","messageId":"l3","event":"Order Completed","properties":{"total":12.5}}`,
			`{"type":"track","userId":"c-1","messageId":"l4","event":"Note","properties":{"text":"a\u0000b\ud800"}}`,
			`{"type":"track","userId":"c-1","messageId":"l5","event":"Old","timestamp":"0001-01-01T00:00:00Z"}`,
			`{"type":"track","userId":"c-1","messageId":"l6","event":"Deep","properties":` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `}`,
		}, "\n")
		var rejects bytes.Buffer
		sum, err := collect.Import(context.Background(), strings.NewReader(data), collect.NewIngester(collect.Direct{Appender: st}, nil, nil),
			collect.ImportOptions{Source: src, Format: "ndjson", Rejects: &rejects,
				Clock: clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))})
		if err != nil {
			t.Fatalf("import: %v", err)
		}
		if sum.Lines != 6 || sum.Stored != 4 || sum.Rejected != 2 || sum.Corrected != 2 {
			t.Fatalf("summary %+v; want 6 lines, 4 stored, 2 rejected, 2 corrected", sum)
		}
		got, err := st.ReadAfter(context.Background(), 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range got {
			ids = append(ids, e.MessageID)
		}
		if !slices.Equal(ids, []string{"l1", "l3", "l4", "l5"}) {
			t.Fatalf("stored %v", ids)
		}
		lines := strings.Split(strings.TrimSpace(rejects.String()), "\n")
		want := []string{
			`"line":2,"action":"dropped","code":"invalid_number","field":"properties.total","reason":"number 1e131072 is out of range`,
			`"line":4,"action":"corrected","code":"invalid_text"`,
			`"line":5,"action":"corrected","code":"invalid_timestamp","field":"timestamp"`,
			`"line":6,"action":"dropped","code":"too_deep","field":"properties` + strings.Repeat("[0]", 63) + `"`,
		}
		if len(lines) != len(want) {
			t.Fatalf("reject file:\n%s", rejects.String())
		}
		for i, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("reject line %d = %s\nwant it to contain %s", i+1, lines[i], w)
			}
		}
		if !strings.Contains(lines[0], `"input":"{\"type\":\"track\"`) {
			t.Errorf("the reject file keeps the line: %s", lines[0])
		}
	})
}
