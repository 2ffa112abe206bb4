package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// importFile writes content to a file in work and imports it with
// `parcours CMD import`; it returns the summary and the reject file's
// lines.
func importFile(t *testing.T, dir, work, cmd, name, content string) (map[string]any, []map[string]any) {
	t.Helper()
	path := filepath.Join(work, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "--data-dir", dir, "--json", cmd, "import", path)
	var sum map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &sum) != nil {
		t.Fatalf("%s import %s: exit %d %s %s", cmd, name, code, out, errOut)
	}
	var rejects []map[string]any
	if f, _ := sum["rejects_file"].(string); f != "" {
		rf, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		defer rf.Close()
		for sc := bufio.NewScanner(rf); sc.Scan(); {
			var rej map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rej); err != nil {
				t.Fatalf("reject line %q: %v", sc.Text(), err)
			}
			rejects = append(rejects, rej)
		}
	}
	return sum, rejects
}

// TestCommerceImportsSurviveAnUnclosedQuote: a row starting with an
// unclosed quote made all three imports panic in csv.Reader.FieldPos and
// lose the rows before it (issue 14.3). Now that row alone is rejected,
// on its own line, and the rows before and after it are stored.
func TestCommerceImportsSurviveAnUnclosedQuote(t *testing.T) {
	dir, work := t.TempDir(), t.TempDir()
	files := []struct{ cmd, name, content string }{
		{"locations", "stores.csv", "id,name,lat,lon,time_zone\n" +
			"lyon,Lyon,45.76,4.83,Europe/Paris\n" +
			"\"paris,Paris,48.85,2.35,Europe/Paris\n" +
			"nice,Nice,43.7,7.26,Europe/Paris\n"},
		{"catalog", "products.csv", "product_id,name,sku,price,currency\n" +
			"shoe,Trail shoe,SHOE-42,89.90,EUR\n" +
			"\"sock,Sock,SOCK-1,9.50,EUR\n" +
			"cap,Cap,CAP-1,19,EUR\n"},
		{"stock", "stock.csv", "sku,location_id,on_hand\n" +
			"SHOE-42,lyon,3\n" +
			"\"CAP-1,lyon,2\n" +
			"CAP-1,nice,4\n"},
	}
	for _, f := range files {
		sum, rejects := importFile(t, dir, work, f.cmd, f.name, f.content)
		if sum["stored"] != 2.0 || sum["rejected"] != 1.0 || len(rejects) != 1 || rejects[0]["line"] != 3.0 {
			t.Fatalf("%s import: %v, rejects %v; want 2 stored and line 3 rejected", f.cmd, sum, rejects)
		}
		if r := fmt.Sprint(rejects[0]["reason"]); r == "" || rejects[0]["record"] == nil {
			t.Fatalf("%s reject without reason or record: %v", f.cmd, rejects[0])
		}
	}
}

// TestStockImportRejectsUnknownRefs: stock rows of a SKU the catalog
// lacks or at a location that does not exist are rejected, each on its
// line with which one is unknown; the other rows of the batch are stored
// (issue 13.6).
func TestStockImportRejectsUnknownRefs(t *testing.T) {
	dir, work := t.TempDir(), t.TempDir()
	importFile(t, dir, work, "locations", "stores.csv", "id,name,lat,lon,time_zone\nlyon,Lyon,45.76,4.83,Europe/Paris\n")
	importFile(t, dir, work, "catalog", "products.csv", "product_id,name,sku,price,currency\nshoe,Trail shoe,SHOE-42,89.90,EUR\n")
	sum, rejects := importFile(t, dir, work, "stock", "stock.csv", "sku,location_id,on_hand\n"+
		"SHOE-42,lyon,3\n"+
		"GHOST-1,lyon,2\n"+
		"SHOE-42,nowhere,4\n"+
		"SHOE-42 ,lyon,5\n")
	if sum["stored"] != 2.0 || sum["rejected"] != 2.0 || len(rejects) != 2 {
		t.Fatalf("stock import: %v, rejects %v; want 2 stored (values are trimmed), 2 rejected", sum, rejects)
	}
	for i, want := range []struct {
		line float64
		says string
	}{{3, `no SKU "GHOST-1" in the catalog`}, {4, `no location "nowhere"`}} {
		if rejects[i]["line"] != want.line || !strings.Contains(fmt.Sprint(rejects[i]["reason"]), want.says) {
			t.Errorf("reject %d: %v, want line %v saying %q", i, rejects[i], want.line, want.says)
		}
	}
}
