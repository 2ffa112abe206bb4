package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImportRejectsFileName: the reject file is the imported file's name
// with .rejects.ndjson added, as the docs say (customers.csv ->
// customers.csv.rejects.ndjson), for events and commerce records alike.
func TestImportRejectsFileName(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	if code, _, errOut := run(t, "--data-dir", data, "sources", "create", "--name", "CRM", "--channel", "crm"); code != 0 {
		t.Fatal(errOut)
	}
	csv := filepath.Join(dir, "customers.csv")
	os.WriteFile(csv, []byte("customer_id,email\n42,ana@example.fr\n,\n"), 0o600)
	code, out, errOut := run(t, "--data-dir", data, "import", csv, "--source", "CRM", "--set", "type=identify", "--map", "customer_id=userId")
	want := csv + ".rejects.ndjson"
	if code != 0 || !strings.Contains(out, "reasons, line by line: "+want) {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(want); err != nil {
		t.Fatalf("reject file: %v", err)
	}
	stores := filepath.Join(dir, "stores.csv")
	os.WriteFile(stores, []byte("id,name,kind\nstore-lyon-01,Lyon,store\nBAD ID,x,store\n"), 0o600)
	code, out, errOut = run(t, "--data-dir", data, "locations", "import", stores)
	if code != 0 || !strings.Contains(out, stores+".rejects.ndjson") {
		t.Fatalf("locations import: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestImportProgressRate: the progress shows records committed per
// second, not the bytes the reader ran ahead with.
func TestImportProgressRate(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	p := newImportProgressTo(&out, true, 10<<20, "importing", "lines", func() time.Time { return now }, 0)
	// The reader takes a megabyte at once, in no time.
	buf := make([]byte, 1<<20)
	r := p.reader(bytes.NewReader(make([]byte, 10<<20)))
	r.Read(buf)
	p.committed("importing", 0)
	now = now.Add(2 * time.Second)
	p.committed("importing", 1000)
	got := out.String()
	if !strings.Contains(got, "1000 lines, 500 lines/s") || strings.Contains(got, "B/s") {
		t.Fatalf("progress: %q", got)
	}
}
