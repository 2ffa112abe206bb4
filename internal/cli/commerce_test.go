package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/store/sqlite"
)

func TestCommerceImports(t *testing.T) {
	dir, work := t.TempDir(), t.TempDir()
	for _, f := range []string{"products.csv", "locations.json", "stock.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", "commerce", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		cmd, file       string
		stored, rejects int
		reason          string
	}{
		{"catalog", "products.csv", 2, 2, "price"},
		{"locations", "locations.json", 2, 1, "time_zone"},
		{"stock", "stock.csv", 3, 1, "on_hand"},
	}
	for _, tc := range tests {
		path := filepath.Join(work, tc.file)
		code, out, errOut := run(t, "--data-dir", dir, "--json", tc.cmd, "import", path)
		var sum map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &sum) != nil {
			t.Fatalf("%s import: %d %s %s", tc.cmd, code, out, errOut)
		}
		if sum["stored"] != float64(tc.stored) || sum["rejected"] != float64(tc.rejects) {
			t.Fatalf("%s import: %v, want %d stored, %d rejected", tc.cmd, sum, tc.stored, tc.rejects)
		}
		rf, err := os.Open(sum["rejects_file"].(string))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(rf)
		sc.Scan()
		var rej map[string]any
		if json.Unmarshal(sc.Bytes(), &rej) != nil || rej["line"] == nil || !strings.Contains(rej["reason"].(string), tc.reason) {
			t.Fatalf("%s reject: %s", tc.cmd, sc.Text())
		}
		rf.Close()
	}
	st, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.Product(context.Background(), "shoe")
	if err != nil || len(p.Variants) != 2 || p.Variants[1].Attributes["size"] != "42" || p.Category() != "Trail" {
		t.Fatalf("imported product %+v, %v", p, err)
	}
	rows, _ := st.StockOf(context.Background(), "SHOE-42")
	if len(rows) != 1 || rows[0].OnHand != 12 || rows[0].Safety != 2 {
		t.Fatalf("imported stock %+v", rows)
	}
	// Stock events reached the log: SHOE-42 is back in stock at Lyon.
	evs, _ := st.ReadAfter(context.Background(), 0, 100)
	if len(evs) == 0 || evs[0].Event != "Back In Stock" {
		t.Fatalf("events after the stock import: %v", evs)
	}
	if es, err := st.Outbox(context.Background(), 10); err != nil || len(es) != 0 {
		t.Fatalf("the import left %d events in the outbox: %v", len(es), err)
	}
}

// TestServeCommerceFlags checks that the commerce options of serve are
// read from flags and from the environment, and refused when out of range.
func TestServeCommerceFlags(t *testing.T) {
	dir := t.TempDir()
	code, out, _ := run(t, "serve", "--help")
	if code != 0 || !strings.Contains(out, "--reservation-sweep=30s") || !strings.Contains(out, "$PARCOURS_LOW_STOCK") {
		t.Fatalf("serve --help: %d\n%s", code, out)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--low-stock", "0"}, nil, "--low-stock 0: must be at least 1"},
		{nil, map[string]string{"PARCOURS_LOW_STOCK": "-2"}, "--low-stock -2: must be at least 1"},
		{[]string{"--reservation-sweep", "10ms"}, nil, "--reservation-sweep 10ms: must be at least 1s"},
		{nil, map[string]string{"PARCOURS_RESERVATION_SWEEP": "0s"}, "--reservation-sweep 0s: must be at least 1s"},
		// The flag wins over the environment: the sweep is fine, the threshold is not.
		{[]string{"--reservation-sweep", "1m", "--low-stock", "0"}, map[string]string{"PARCOURS_RESERVATION_SWEEP": "0s"}, "--low-stock 0: must"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, _, errOut := run(t, append([]string{"--data-dir", dir, "serve", "--addr", "127.0.0.1:0"}, tc.args...)...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("serve %v with %v: exit %d, %s", tc.args, tc.env, code, errOut)
			}
		})
	}
}

func TestCommerceImportHelp(t *testing.T) {
	for _, cmd := range []string{"catalog", "locations", "stock"} {
		code, out, _ := run(t, cmd, "import", "--help")
		if code != 0 || !strings.Contains(out, "Usage: parcours "+cmd+" import") || !strings.Contains(out, "--rejects") {
			t.Errorf("parcours %s import --help: exit %d\n%s", cmd, code, out)
		}
	}
}
