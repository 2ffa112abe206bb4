package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// The person the erasure tests write everywhere and then look for: values
// distinctive enough that a hit is theirs.
const (
	erasedEmail = "albertine.vandermolen@example.fr"
	erasedPhone = "+33698765431"
	erasedFirst = "Albertine"
	erasedLast  = "Vandermolen"
	erasedUser  = "cust-7f3a9q"
	erasedAnon  = "anon-b71c2ezz"
)

// needles are what must not be found anywhere once the person is erased,
// in every form they were sent in.
var needles = []string{erasedEmail, "Albertine.Vandermolen@Example.fr", erasedPhone, "06 98 76 54 31", "0698765431",
	erasedFirst, erasedLast, erasedUser, erasedAnon}

// writePerson writes the person (and a second, control customer) through
// every path: tracking calls (identify with consent, page, track, a cart,
// a location near a store), a historical import, consent, a segment, a
// journey that gives a store task, a message, an order and a reservation.
// It returns the person's profile id.
func writePerson(t *testing.T, h *harness) int64 {
	t.Helper()
	h.commerceBasics()
	if code, resp := h.post("/api/v1/segments?wait=true", `{"id":"with-email","name":"Has an email","where":{"reachable":"email"}}`); code != 200 {
		t.Fatalf("segment: %d %v", code, resp)
	}
	if code, resp := h.post("/api/v1/journeys", `{"id":"near","name":"Near a store","triggers":[{"event":"Location Updated","near":{"km":0.5}}],
		"steps":[{"task":{"store":"nearest","title":"{{ trait.first_name }} {{ trait.last_name }} is near","note":"Call {{ trait.phone }}"}}]}`); code != 200 {
		t.Fatalf("journey: %d %v", code, resp)
	}
	ts := h.clock.Now().Format(time.RFC3339)
	batch := `{"batch":[
		{"type":"page","anonymousId":"` + erasedAnon + `","name":"Shoes","properties":{"search":"` + erasedLast + `"},"timestamp":"` + ts + `"},
		{"type":"identify","anonymousId":"` + erasedAnon + `","userId":"` + erasedUser + `","traits":{"email":"Albertine.Vandermolen@Example.fr","phone":"06 98 76 54 31","first_name":"` + erasedFirst + `","last_name":"` + erasedLast + `","email_opt_in":true},"timestamp":"` + ts + `"},
		{"type":"track","userId":"` + erasedUser + `","event":"Product Added","properties":{"sku":"SHOE-42","quantity":1,"price":89.9,"gift_note":"pour ` + erasedFirst + `"},"timestamp":"` + ts + `"},
		{"type":"track","userId":"` + erasedUser + `","event":"Location Updated","properties":{"latitude":45.7601,"longitude":4.8301},"timestamp":"` + ts + `"},
		{"type":"identify","userId":"bob-control","traits":{"email":"bob@example.com","first_name":"Bob","email_opt_in":true},"timestamp":"` + ts + `"}
	]}`
	if code, resp := h.ingest("/v1/batch", batch); code != 200 {
		t.Fatalf("batch: %d %v", code, resp)
	}
	if code, resp := h.ingest("/v1/import", `{"batch":[{"type":"track","userId":"`+erasedUser+`","event":"Order Completed","properties":{"order_id":"crm-1","revenue":120,"email":"`+erasedEmail+`"},"timestamp":"2025-06-01T10:00:00Z"}]}`); code != 200 {
		t.Fatalf("import: %d %v", code, resp)
	}
	id := h.profileOf(erasedUser)
	h.settle()
	if code, resp := h.adminJSON("POST", "/api/v1/consent", `{"profile_id":`+strconv.FormatInt(id, 10)+`,"channel":"sms","granted":true}`); code != 201 {
		t.Fatalf("consent: %d %v", code, resp)
	}
	if code, resp := h.adminJSON("POST", "/api/v1/messages", `{"identifier":"user_id:`+erasedUser+`","channel":"email","topic":"offers",
		"content":{"email":{"subject":"Bonjour `+erasedFirst+`","html":"<p>Bonjour `+erasedFirst+` `+erasedLast+`</p>"}},"idempotency_key":"hello-1"}`); code != 202 && code != 200 {
		t.Fatalf("message: %d %v", code, resp)
	}
	for _, o := range []string{
		`{"id":"web-9001","channel":"web","fulfilment":"click_collect","location_id":"lyon","currency":"EUR","customer":{"user_id":"` + erasedUser + `","email":"` + erasedEmail + `"},"lines":[{"sku":"SHOE-42","quantity":1,"price":89.9}]}`,
		`{"id":"web-9002","channel":"web","fulfilment":"click_collect","location_id":"lyon","currency":"EUR","customer":{"user_id":"bob-control"},"lines":[{"sku":"SHOE-42","quantity":1,"price":89.9}]}`,
	} {
		if code, resp := h.adminJSON("POST", "/api/v1/orders", o); code != 201 {
			t.Fatalf("order: %d %v", code, resp)
		}
	}
	if code, resp := h.adminJSON("POST", "/api/v1/reservations", `{"sku":"SHOE-42","location_id":"lyon","quantity":1,"customer":{"email":"`+erasedEmail+`"}}`); code != 201 {
		t.Fatalf("reservation: %d %v", code, resp)
	}
	h.settle()
	waitFor(t, "the store task about the person", func() bool {
		_, resp := h.api("/api/v1/tasks?store_id=lyon")
		return strings.Contains(toJSON(resp), erasedFirst)
	})
	return id
}

// withIndexIn keeps the behaviour index in dir.
func withIndexIn(dir string) func(*server.Options) {
	return func(o *server.Options) {
		o.BehaviourIndex = segment.IndexFile(dir)
		o.Messages.BaseURL = "https://parcours.example.fr"
		o.Stores = []place.Location{{ID: "lyon", Name: "Lyon Bellecour", Lat: 45.7578, Lon: 4.8320}}
	}
}

// TestErasureLeavesNothing is the erasure's key test (issue 19.6): a
// customer written through every path is erased by email; then every
// table of the database (every byte of the SQLite files; every column of
// every table of the PostgreSQL schema) and every file of the data
// directory (the behaviour index) is scanned for their email, phone,
// names and ids, and every profile-id column for their profile ids: zero
// hits. The control customer and the order totals stay.
func TestErasureLeavesNothing(t *testing.T) {
	indexDir := t.TempDir()
	onEngines(t, func(t *testing.T, h *harness, e engine) {
		id := writePerson(t, h)
		// The export holds them, before.
		_, zipped := h.raw("GET", "/api/v1/profiles/"+strconv.FormatInt(id, 10)+"/export", "", map[string]string{"Authorization": "Bearer " + h.admin})
		if !strings.Contains(unzipAll(t, []byte(zipped)), erasedFirst) {
			t.Fatal("the export before erasure does not hold the person")
		}

		code, resp := h.adminJSON("DELETE", "/api/v1/profiles?email="+erasedEmail+"&reason=dsar-42", "")
		if code != 200 {
			t.Fatalf("erase: %d %v", code, resp)
		}
		h.settle()
		if got, _ := h.st.Holders(context.Background(), []identity.Identifier{{Kind: identity.Email, Value: erasedEmail}}); len(got) != 0 && got[identity.Identifier{Kind: identity.Email, Value: erasedEmail}] != 0 {
			t.Fatalf("the email still has a holder: %v", got)
		}
		if code, _ := h.api("/api/v1/profiles/" + strconv.FormatInt(id, 10)); code != 404 {
			t.Errorf("the erased profile answers %d, want 404", code)
		}
		if h.profileOf("bob-control") == 0 {
			t.Fatal("the control customer is gone")
		}
		if _, o := h.api("/api/v1/orders/web-9001"); o["order"].(map[string]any)["total"] != 89.9 || strings.Contains(toJSON(o), erasedUser) {
			t.Errorf("the erased person's order should keep its total without them: %v", o)
		}

		hits := scanDatabase(t, h, e, indexDir)
		if len(hits) > 0 {
			t.Fatalf("after erasure, found:\n%s", strings.Join(hits, "\n"))
		}
		// And the profile ids in every profile column.
		if ids := profileColumnsHolding(t, h, e, id); len(ids) > 0 {
			t.Fatalf("after erasure, profile %d is still in: %v", id, ids)
		}
	}, withIndexIn(indexDir))
}

// TestLateEventDoesNotRecreateTheErased: after an erasure, an event with
// the person's email and no consent creates nobody and does not stay in
// the log; one that grants consent brings them back (issue 19.6).
func TestLateEventDoesNotRecreateTheErased(t *testing.T) {
	onEngines(t, func(t *testing.T, h *harness, e engine) {
		ts := h.clock.Now().Format(time.RFC3339)
		if code, resp := h.ingest("/v1/identify", `{"userId":"late-1","traits":{"email":"late@example.fr","phone":"0611223344"},"timestamp":"`+ts+`"}`); code != 200 {
			t.Fatalf("%d %v", code, resp)
		}
		id := h.profileOf("late-1")
		h.settle()
		if code, resp := h.adminJSON("DELETE", "/api/v1/profiles/"+strconv.FormatInt(id, 10), ""); code != 200 {
			t.Fatalf("erase: %d %v", code, resp)
		}
		email := identity.Identifier{Kind: identity.Email, Value: "late@example.fr"}
		if code, resp := h.ingest("/v1/identify", `{"anonymousId":"new-visitor","traits":{"email":"LATE@example.fr"},"timestamp":"`+ts+`"}`); code != 200 {
			t.Fatalf("%d %v", code, resp)
		}
		h.settle()
		if got, _ := h.st.Holders(context.Background(), []identity.Identifier{email}); got[email] != 0 {
			t.Fatalf("a late event without consent linked the erased email to profile %d", got[email])
		}
		for _, ev := range h.events() {
			if strings.Contains(strings.ToLower(string(ev.Traits)), "late@example.fr") {
				t.Fatalf("the late event stays in the log: %s", ev.Traits)
			}
		}
		if code, resp := h.ingest("/v1/identify", `{"userId":"late-2","traits":{"email":"late@example.fr","email_opt_in":true},"timestamp":"`+ts+`"}`); code != 200 {
			t.Fatalf("%d %v", code, resp)
		}
		h.settle()
		if got, _ := h.st.Holders(context.Background(), []identity.Identifier{email}); got[email] == 0 {
			t.Fatal("an event granting consent did not bring the person back")
		}
	})
}

func unzipAll(t *testing.T, b []byte) string {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v (%q)", err, b[:min(200, len(b))])
	}
	var all strings.Builder
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		r.Close()
		all.Write(data)
	}
	return all.String()
}

// scanDatabase returns where the needles are found: in the bytes of every
// file of the SQLite data directory and of indexDir, or in any column of
// any table of the PostgreSQL schema (bytea searched as bytes).
func scanDatabase(t *testing.T, h *harness, e engine, indexDir string) []string {
	t.Helper()
	var hits []string
	dirs := []string{indexDir}
	if st, ok := h.st.(*sqlite.Store); ok {
		dirs = append(dirs, filepath.Dir(st.Path()))
		hits = append(hits, scanSQLiteTables(t, st.Path())...)
	} else {
		hits = append(hits, scanPostgres(t, e)...)
	}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range entries {
			data, err := os.ReadFile(filepath.Join(dir, f.Name()))
			if err != nil {
				continue
			}
			lower := bytes.ToLower(data)
			for _, n := range needles {
				if bytes.Contains(lower, []byte(strings.ToLower(n))) {
					hits = append(hits, f.Name()+": "+n+" "+around(data, lower, n))
				}
			}
		}
	}
	return hits
}

func around(data, lower []byte, n string) string {
	i := bytes.Index(lower, []byte(strings.ToLower(n)))
	from, to := max(0, i-80), min(len(data), i+len(n)+80)
	return strconv.Quote(string(data[from:to]))
}

// scanPostgres searches every column of every table of the test's schema
// and fails naming the table and column that hold a needle.
func scanPostgres(t *testing.T, e engine) []string {
	t.Helper()
	var list []string
	for _, n := range needles {
		list = append(list, "'"+n+"'", "'"+strings.ToLower(n)+"'")
	}
	var hits []string
	if err := e.try(`DO $$
DECLARE c record; n text; found bigint; out text := '';
BEGIN
  FOR c IN SELECT table_name, column_name, data_type FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' LOOP
    FOREACH n IN ARRAY ARRAY[` + strings.Join(list, ",") + `] LOOP
      IF c.data_type = 'bytea' THEN
        EXECUTE format('SELECT count(*) FROM %I WHERE position(convert_to(%L, ''UTF8'') in %I) > 0', c.table_name, n, c.column_name) INTO found;
      ELSE
        EXECUTE format('SELECT count(*) FROM %I WHERE lower(%I::text) LIKE %L', c.table_name, c.column_name, '%' || lower(n) || '%') INTO found;
      END IF;
      IF found > 0 THEN out := out || c.table_name || '.' || c.column_name || ' holds ' || n || '; '; END IF;
    END LOOP;
  END LOOP;
  IF out <> '' THEN RAISE EXCEPTION 'personal data left: %', out; END IF;
END $$`); err != nil {
		hits = append(hits, err.Error())
	}
	return hits
}

// profileColumnsHolding lists the table.column pairs that still name the
// profile id, among the columns that hold profile ids.
func profileColumnsHolding(t *testing.T, h *harness, e engine, id int64) []string {
	t.Helper()
	cols := []string{"profile_id", "merged_id", "merged_into", "holder"}
	var out []string
	if st, ok := h.st.(*sqlite.Store); ok {
		db, err := sql.Open("sqlite", "file:"+st.Path()+"?_pragma=busy_timeout(10000)&mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.Query(`SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'`)
		if err != nil {
			t.Fatal(err)
		}
		var pairs [][2]string
		for rows.Next() {
			var tb, c string
			_ = rows.Scan(&tb, &c)
			if slices.Contains(cols, c) || tb == "profiles" && c == "id" {
				pairs = append(pairs, [2]string{tb, c})
			}
		}
		rows.Close()
		for _, p := range pairs {
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM "`+p[0]+`" WHERE "`+p[1]+`" = ?`, id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				out = append(out, p[0]+"."+p[1])
			}
		}
		return out
	}
	if err := e.try(`DO $$
DECLARE c record; found bigint; msg text := '';
BEGIN
  FOR c IN SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = current_schema() AND (column_name IN ('profile_id','merged_id','merged_into','holder') OR table_name = 'profiles' AND column_name = 'id') LOOP
    EXECUTE format('SELECT count(*) FROM %I WHERE %I = ` + strconv.FormatInt(id, 10) + `', c.table_name, c.column_name) INTO found;
    IF found > 0 THEN msg := msg || c.table_name || '.' || c.column_name || '; '; END IF;
  END LOOP;
  IF msg <> '' THEN RAISE EXCEPTION 'profile left in: %', msg; END IF;
END $$`); err != nil {
		out = append(out, err.Error())
	}
	return out
}

// scanSQLiteTables searches every column of every table, naming where a
// needle is (the byte scan of the files says only that it is somewhere).
func scanSQLiteTables(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var pairs [][2]string
	for rows.Next() {
		var tb, c string
		_ = rows.Scan(&tb, &c)
		pairs = append(pairs, [2]string{tb, c})
	}
	rows.Close()
	var hits []string
	for _, p := range pairs {
		for _, n := range needles {
			var k int
			if err := db.QueryRow(`SELECT count(*) FROM "`+p[0]+`" WHERE instr(lower(CAST("`+p[1]+`" AS TEXT)), ?) > 0`, strings.ToLower(n)).Scan(&k); err != nil {
				t.Fatal(err)
			}
			if k > 0 {
				hits = append(hits, p[0]+"."+p[1]+" holds "+n)
			}
		}
	}
	return hits
}
