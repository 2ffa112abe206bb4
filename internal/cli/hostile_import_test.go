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

// hostileImport is one row of the imports' hostile-input table: a file
// given to `parcours import` (events) or `parcours locations|catalog|stock
// import`, and what the command must do with it.
type hostileImport struct {
	name    string
	cmd     string // "events", "locations", "catalog" or "stock"
	file    string // its extension tells the format
	content string
	args    []string
	exit    int
	// stored and rejected are the summary's counts; rejects maps a line
	// of the file to what its reject must say (code or reason).
	stored, rejected int
	rejects          map[int]string
	says             string // for a failing command: what stderr says
}

// TestHostileImports throws hostile files at every import, on both
// engines: unclosed quotes, ragged rows, NUL bytes, bytes that are not
// UTF-8, a byte-order mark, CRLF, lines of a megabyte, 5,000 levels of
// nesting, numbers no engine holds, ids of 100,000 bytes, binary garbage,
// missing columns and files. No row panics; each keeps its good lines and
// rejects the bad ones on their real line with a reason (issue 14.9).
func TestHostileImports(t *testing.T) {
	long := strings.Repeat("x", 100000)
	ev := func(id, extra string) string {
		return `{"type":"track","event":"Order Completed","userId":"c-1","messageId":"` + id + `"` + extra + `}`
	}
	rows := []hostileImport{
		{name: "garbage between events", cmd: "events", file: "a.ndjson", content: ev("a1", "") + "\n{not json\n" + ev("a2", "") + "\n",
			stored: 2, rejected: 1, rejects: map[int]string{2: "invalid_json"}},
		{name: "raw NUL byte in a line", cmd: "events", file: "b.ndjson", content: ev("b1", "") + "\n{\"type\":\"track\",\x00}\n" + ev("b2", "") + "\n",
			stored: 2, rejected: 1, rejects: map[int]string{2: "invalid_json"}},
		{name: "1e131072, NUL and bad UTF-8", cmd: "events", file: "c.ndjson",
			content: ev("c1", `,"properties":{"total":1e131072}`) + "\n" + ev("c2", `,"properties":{"note":"a\u0000b"}`) + "\n" + ev("c3", ",\"properties\":{\"note\":\"caf\xe9\"}") + "\n",
			stored:  2, rejected: 1, rejects: map[int]string{1: "invalid_number", 2: "invalid_text", 3: "invalid_text"}},
		{name: "5,000 levels deep", cmd: "events", file: "d.ndjson", content: ev("d1", `,"properties":{"x":`+strings.Repeat("[", 5000)+strings.Repeat("]", 5000)+`}`) + "\n" + ev("d2", "") + "\n",
			stored: 1, rejected: 1, rejects: map[int]string{1: "too_deep"}},
		{name: "a line of a megabyte", cmd: "events", file: "e.ndjson", content: ev("e1", `,"properties":{"x":"`+strings.Repeat("y", 1<<20)+`"}`) + "\n" + ev("e2", "") + "\n",
			stored: 1, rejected: 1, rejects: map[int]string{1: "too_large"}},
		{name: "a 100,000-byte user id", cmd: "events", file: "f.ndjson", content: `{"type":"identify","userId":"` + long + `"}` + "\n" + ev("f2", "") + "\n",
			stored: 1, rejected: 1, rejects: map[int]string{1: "too_large"}},
		{name: "CRLF and a byte-order mark", cmd: "events", file: "g.ndjson", content: "\uFEFF" + ev("g1", "") + "\r\n" + ev("g2", "") + "\r\n",
			stored: 2},
		{name: "an empty file", cmd: "events", file: "h.ndjson", content: ""},
		{name: "binary garbage", cmd: "events", file: "i.ndjson", content: "\x00\x01\x02\xff\xfe\n\x89PNG\r\n\x1a\n" + ev("i1", "") + "\n",
			stored: 1, rejected: 3, rejects: map[int]string{1: "JSON object", 2: "JSON object", 3: "JSON object"}},
		{name: "CSV: an unclosed quote", cmd: "events", file: "j.csv", args: []string{"--set", "type=identify", "--map", "id=userId"},
			content: "id,email\nj1,a@b.fr\n\"j2,c@d.fr\nj3,e@f.fr\n",
			stored:  2, rejected: 1, rejects: map[int]string{3: "quote"}},
		{name: "CSV: ragged rows", cmd: "events", file: "k.csv", args: []string{"--set", "type=identify", "--map", "id=userId"},
			content: "id,email\nk1,a@b.fr,extra\nk2\nk3,e@f.fr\n",
			stored:  1, rejected: 2, rejects: map[int]string{2: "3 fields where the header has 2", 3: "1 fields where the header has 2"}},
		{name: "CSV: NUL and bad UTF-8 in fields", cmd: "events", file: "l.csv", args: []string{"--set", "type=identify", "--map", "id=userId", "--map", "name=traits.name"},
			content: "id,name\nl1,An\x00a\nl2,Caf\xe9\n",
			stored:  2, rejects: map[int]string{2: "invalid_text"}},
		{name: "CSV: a number no engine holds", cmd: "events", file: "m.csv", args: []string{"--set", "type=track", "--set", "event=Order Completed", "--map", "id=userId", "--map", "total=properties.total:number"},
			content: "id,total\nm1,1e131072\nm2,12.5\n",
			stored:  1, rejected: 1, rejects: map[int]string{2: "total"}},
		{name: "CSV: header only", cmd: "events", file: "n.csv", args: []string{"--set", "type=identify", "--map", "id=userId"}, content: "id,email\n"},
		{name: "a file that is not there", cmd: "events", file: "missing.ndjson", exit: 1, says: "missing.ndjson"},
		{name: "locations: NUL, 100,000 bytes, 1e131072", cmd: "locations", file: "stores.csv",
			content: "id,name,lat,lon,time_zone\nparis,Paris,48.85,2.35,Europe/Paris\nly\x00on,Lyon,45.76,4.83,Europe/Paris\n" + long + ",Long,1,1,UTC\nfar,Far,1e131072,0,UTC\nnice,Nice,43.7,7.26,Europe/Paris\n",
			stored:  2, rejected: 3, rejects: map[int]string{3: "id", 4: "128 bytes", 5: "lat"}},
		{name: "catalog: a price no engine holds, ragged rows", cmd: "catalog", file: "products.csv",
			content: "product_id,name,sku,price,currency\nshoe,Trail shoe,SHOE-42,89.90,EUR\ncap,Cap,CAP-1,1e131072,EUR\nsock,Sock\nbelt,Belt,BELT-1,19,EUR\n",
			stored:  2, rejected: 2, rejects: map[int]string{3: "price", 4: "2 fields where the header has 5"}},
		{name: "stock: out of range, negative, unknown", cmd: "stock", file: "stock.csv",
			content: "sku,location_id,on_hand\nSHOE-42,paris,3\nSHOE-42,nice,99999999999999999999\nBELT-1,paris,-1\nGHOST,paris,1\nBELT-1,nice,2\n",
			stored:  2, rejected: 3, rejects: map[int]string{3: "on_hand", 4: "on_hand", 5: "GHOST"}},
		{name: "stock: a missing column", cmd: "stock", file: "nocol.csv", content: "sku,on_hand\nSHOE-42,3\n",
			rejected: 1, rejects: map[int]string{2: "location_id"}},
	}
	for _, e := range crashEngines() {
		t.Run(e.name, func(t *testing.T) {
			e := e.prepare(t)
			dir, work := t.TempDir(), t.TempDir()
			global := []string{"--data-dir", dir}
			if e.database != "" {
				global = append(global, "--database", e.database)
			}
			if code, _, errOut := run(t, append(global, "sources", "create", "--name", "CRM", "--channel", "crm")...); code != 0 {
				t.Fatalf("source: %s", errOut)
			}
			for _, row := range rows {
				t.Run(row.name, func(t *testing.T) { row.check(t, global, work) })
			}
		})
	}
}

// check runs the row's import and checks its exit, counts and rejects.
func (row hostileImport) check(t *testing.T, global []string, work string) {
	path := filepath.Join(work, row.file)
	if row.exit == 0 || row.content != "" {
		if err := os.WriteFile(path, []byte(row.content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := append(append([]string{}, global...), "--json")
	if row.cmd == "events" {
		args = append(args, "import", path, "--source", "CRM")
	} else {
		args = append(args, row.cmd, "import", path)
	}
	code, out, errOut := run(t, append(args, row.args...)...)
	if code != row.exit {
		t.Fatalf("exit %d, want %d\n%.2000s\n%.2000s", code, row.exit, out, errOut)
	}
	if row.exit != 0 {
		if !strings.Contains(errOut, row.says) {
			t.Fatalf("stderr %.2000q does not say %q", errOut, row.says)
		}
		return
	}
	var sum struct {
		Stored   int    `json:"stored"`
		Rejected int    `json:"rejected"`
		Rejects  string `json:"rejects_file"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("summary %.2000q: %v", out, err)
	}
	got := map[int]string{}
	if sum.Rejects != "" {
		f, err := os.Open(sum.Rejects)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			var rej struct {
				Line   int    `json:"line"`
				Code   string `json:"code"`
				Field  string `json:"field"`
				Reason string `json:"reason"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rej); err != nil {
				t.Fatalf("reject line %.200q: %v", sc.Text(), err)
			}
			if rej.Reason == "" {
				t.Errorf("line %d rejected without a reason: %.200q", rej.Line, sc.Text())
			}
			got[rej.Line] = fmt.Sprint(rej.Code, " ", rej.Field, " ", rej.Reason)
		}
		if len(sc.Bytes()) > 64<<10 {
			t.Errorf("a reject line of %d bytes: a reject must not copy a hostile line whole", len(sc.Bytes()))
		}
	}
	if sum.Stored != row.stored || sum.Rejected != row.rejected {
		t.Errorf("stored %d, rejected %d; want %d and %d; rejects %v", sum.Stored, sum.Rejected, row.stored, row.rejected, got)
	}
	for line, says := range row.rejects {
		if !strings.Contains(got[line], says) {
			t.Errorf("line %d: reject %q does not say %q (rejects %v)", line, got[line], says, got)
		}
	}
	if len(got) != len(row.rejects) {
		t.Errorf("rejects on lines %v; want lines %v", got, row.rejects)
	}
}
