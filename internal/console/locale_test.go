package console

import (
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestLocaleFormats(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone data")
	}
	fr, en := locale{Lang: "fr", zone: paris}, locale{Lang: "en", zone: paris}
	at := time.Date(2026, 12, 2, 13, 38, 0, 0, time.UTC)
	v := 16169.684
	for _, c := range []struct{ got, want string }{
		{fr.Money(v), "16\u202f169,68\u00a0€"},
		{en.Money(v), "€16,169.68"},
		{en.Money(-5), "-€5.00"},
		{fr.Number(-1234567, 0), "-1\u202f234\u202f567"},
		{en.Number(999, 1), "999.0"},
		{fr.Percent(0.123), "12,3\u00a0%"},
		{en.Percent(0.123), "12.3%"},
		{fr.Time(at), "2 déc. 2026 14:38 CET"},
		{en.Time(at), "Dec 2, 2026, 2:38 PM CET"},
		{fr.Day("2026-11-03"), "3 nov. 2026"},
		{en.ShortDay("2026-11-03"), "Nov 3"},
		{fr.Value([]any{"web", "pos"}), "web, pos"},
		{fr.Value("2026-12-02T13:38:00Z"), "2 déc. 2026 14:38 CET"},
		{fr.Value(nil), "—"},
		{en.Change(ptr(0.5)), "+50.0%"},
		{en.Change(ptr(-0.25)), "-25.0%"},
		{fr.KPI("ratio", ptr(0.29)), "29,0\u00a0%"},
		{en.KPI("currency", nil), "—"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func ptr(v float64) *float64 { return &v }

// TestLocaleOf: the switch's cookie first, then Accept-Language's first
// of French and English, then French.
func TestLocaleOf(t *testing.T) {
	c := New(Options{API: http.NotFoundHandler()})
	for _, tc := range []struct{ cookie, accept, want string }{
		{"", "", "fr"},
		{"", "en-GB,en;q=0.9,fr;q=0.8", "en"},
		{"", "de-DE,fr;q=0.5,en;q=0.4", "fr"},
		{"en", "fr-FR", "en"},
		{"xx", "en-US", "en"},
	} {
		r, _ := http.NewRequest("GET", "/console/", nil)
		r.Header.Set("Accept-Language", tc.accept)
		if tc.cookie != "" {
			r.AddCookie(&http.Cookie{Name: langCookie, Value: tc.cookie})
		}
		if got := c.localeOf(r).Lang; got != tc.want {
			t.Errorf("cookie %q, Accept-Language %q: %s, want %s", tc.cookie, tc.accept, got, tc.want)
		}
	}
}

func TestLookupQuery(t *testing.T) {
	for in, want := range map[string]url.Values{
		"sophie@example.fr":     {"email": {"sophie@example.fr"}},
		"+33 6 12 34 56 78":     {"phone": {"+33 6 12 34 56 78"}},
		"loyalty_id:2907431126": {"identifier": {"loyalty_id:2907431126"}},
		"cus_411ee20b":          {"user_id": {"cus_411ee20b"}},
		"  ":                    nil,
	} {
		if got := lookupQuery(in); got.Encode() != want.Encode() {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}

// TestMessagesComplete: every key the templates and the code translate
// has its French and English words, and no word is left empty.
func TestMessagesComplete(t *testing.T) {
	keyInTemplate := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	keyInCode := regexp.MustCompile(`\.T\("([a-z0-9_.]+)"\)|"(nav\.[a-z_]+)"`)
	used := map[string]string{}
	_ = fs.WalkDir(templatesFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(templatesFS, p)
		for _, m := range keyInTemplate.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = p
		}
		return nil
	})
	gos, _ := filepath.Glob("*.go")
	for _, p := range gos {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, _ := os.ReadFile(p)
		for _, m := range keyInCode.FindAllStringSubmatch(string(b), -1) {
			used[m[1]+m[2]] = p
		}
	}
	for _, prefix := range []string{"role.", "status.", "kpi.", "dim."} {
		for k := range messages {
			if strings.HasPrefix(k, prefix) {
				used[k] = "dynamic"
			}
		}
	}
	if len(used) < 50 {
		t.Fatalf("found only %d keys: is the pattern right?", len(used))
	}
	for k, where := range used {
		m, ok := messages[k]
		if !ok {
			t.Errorf("%s: no words for %q", where, k)
			continue
		}
		if m[0] == "" || m[1] == "" {
			t.Errorf("%q: an empty translation %q", k, m)
		}
	}
}

// TestPagesParse: every page's template parses with the layout (New
// panics otherwise) and names only pages that exist.
func TestPagesParse(t *testing.T) {
	pages := parsePages()
	for _, name := range []string{"login", "error", "dashboard", "customers", "customer", "store", "stores", "segments", "segment",
		"segment_edit", "journeys", "journey", "templates", "template", "outbox", "outbox_message", "orders", "conversations", "settings", "account"} {
		if pages[name] == nil {
			t.Errorf("no page %s", name)
		}
	}
}
