package collect_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlite"
)

func importStore(t *testing.T) (store.Store, *source.Source) {
	s, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	src, _ := source.New("CRM", "crm", "", time.Now())
	if err := s.CreateSource(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	return s, src
}

func runImport(t *testing.T, s store.Store, src *source.Source, format, data string, m *collect.Mapping) (collect.ImportSummary, []collect.RejectLine) {
	t.Helper()
	var rejects bytes.Buffer
	sum, err := collect.Import(context.Background(), strings.NewReader(data), collect.NewIngester(collect.Direct{Appender: s}, nil, nil),
		collect.ImportOptions{Source: src, Format: format, Mapping: m, BatchSize: 2, Rejects: &rejects,
			Clock: clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	var lines []collect.RejectLine
	sc := bufio.NewScanner(&rejects)
	for sc.Scan() {
		var l collect.RejectLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("reject file line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return sum, lines
}

func TestImportNDJSON(t *testing.T) {
	s, src := importStore(t)
	data := "\xef\xbb\xbf" + `{"type":"identify","userId":"c-1","traits":{"email":"a@b.fr"},"timestamp":"2025-01-01T10:00:00Z"}
{"type":"track","userId":"c-1","event":"Order Completed","properties":{"total":12}}

{"type":"track","userId":"c-1"}
not json
{"type":"track","userId":"c-1","event":"Order Completed","properties":{"total":12}}
{"type":"page","anonymousId":"a","messageId":"given-id","timestamp":"soon"}
`
	sum, rejects := runImport(t, s, src, "ndjson", data, nil)
	want := collect.ImportSummary{Lines: 6, Stored: 4, Duplicates: 0, Rejected: 2, Corrected: 1}
	if sum != want {
		t.Fatalf("summary %+v, want %+v", sum, want)
	}
	if len(rejects) != 3 || rejects[0].Line != 4 || rejects[0].Code != event.CodeMissingField ||
		rejects[1].Line != 5 || rejects[1].Code != event.CodeNotObject || rejects[1].Input != "not json" ||
		rejects[2].Line != 7 || rejects[2].Action != event.Corrected {
		t.Fatalf("rejects %+v", rejects)
	}
	// Running the same file again stores nothing: the two identical lines
	// without timestamp (2 and 6) are told apart by their line numbers.
	sum, _ = runImport(t, s, src, "ndjson", data, nil)
	if sum.Stored != 0 || sum.Duplicates != 4 {
		t.Fatalf("re-run summary %+v, want 0 stored and 4 duplicates", sum)
	}
	stored, _ := s.ReadAfter(context.Background(), 0, 100)
	if len(stored) != 4 || stored[3].MessageID != "given-id" || stored[0].Channel != "crm" {
		t.Fatalf("stored %d events: %+v", len(stored), stored)
	}
	// Every imported event is stored as history (journeys ignore it).
	for _, e := range stored {
		if !e.Imported {
			t.Fatalf("event %d (%s) stored without the imported mark", e.Seq, e.MessageID)
		}
	}
	// The rejections are in the store too, with their line numbers.
	list, _ := s.ListRejections(context.Background(), store.RejectionQuery{})
	if len(list) != 6 || list[len(list)-1].Index != 4 {
		t.Fatalf("stored rejections: %+v", list)
	}
}

func TestImportCSV(t *testing.T) {
	s, src := importStore(t)
	data := "customer_id,Email,postcode,points,vip,traits.city\n" +
		"c-1, Sophie@Example.fr ,01000,120,true,Lyon\n" +
		"c-2,,75011,many,false,Paris\n" +
		"\"c-3\",\"quoted, with comma\",69001,3.5,false,\n" +
		",nobody@example.fr,13001,1,false,Marseille\n"
	m := &collect.Mapping{
		Set:     map[string]string{"type": "identify"},
		Columns: map[string]string{"customer_id": "userId", "Email": "traits.email", "points": "traits.points:number", "vip": "traits.vip:bool"},
	}
	sum, rejects := runImport(t, s, src, "csv", data, m)
	if sum.Stored != 2 || sum.Rejected != 2 {
		t.Fatalf("summary %+v", sum)
	}
	if rejects[0].Line != 3 || !strings.Contains(rejects[0].Reason, `"many" is not a number`) || rejects[0].Input != "c-2,,75011,many,false,Paris" ||
		rejects[1].Line != 5 || rejects[1].Code != event.CodeMissingIdentity {
		t.Fatalf("rejects %+v", rejects)
	}
	stored, _ := s.ReadAfter(context.Background(), 0, 10)
	if !stored[0].Imported || !stored[1].Imported {
		t.Fatalf("CSV rows stored without the imported mark: %+v", stored)
	}
	var traits map[string]any
	json.Unmarshal(stored[0].Traits, &traits)
	if stored[0].Type != event.Identify || stored[0].UserID != "c-1" || traits["email"] != " Sophie@Example.fr " ||
		traits["postcode"] != "01000" || traits["points"] != 120.0 || traits["vip"] != true || traits["city"] != "Lyon" {
		t.Fatalf("first row became %s %s %v", stored[0].Type, stored[0].UserID, traits)
	}
	json.Unmarshal(stored[1].Traits, &traits)
	if traits["email"] != "quoted, with comma" {
		t.Fatalf("second row traits %v", traits)
	}
}

func TestImportCSVMappingErrors(t *testing.T) {
	s, src := importStore(t)
	for _, m := range []*collect.Mapping{
		{Columns: map[string]string{"missing": "userId"}},
		{Columns: map[string]string{"a": "nowhere.x"}},
		{Columns: map[string]string{"a": "traits.x:date"}},
	} {
		_, err := collect.Import(context.Background(), strings.NewReader("a,b\n1,2\n"), collect.NewIngester(collect.Direct{Appender: s}, nil, nil),
			collect.ImportOptions{Source: src, Format: "csv", Mapping: m})
		if err == nil {
			t.Errorf("mapping %+v accepted", m.Columns)
		}
	}
}
