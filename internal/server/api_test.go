package server_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestEventsAPI(t *testing.T) {
	h := newHarness(t)
	var b strings.Builder
	b.WriteString(`{"batch":[`)
	for i := range 7 {
		if i > 0 {
			b.WriteByte(',')
		}
		id := `"userId":"alice"`
		if i%2 == 1 {
			id = `"anonymousId":"anon-1"`
		}
		fmt.Fprintf(&b, `{"type":"track","event":"E%d",%s,"messageId":"m%d","timestamp":"2026-11-2%dT10:00:00Z"}`, i%2, id, i, i)
	}
	b.WriteString(`,{"type":"identify","userId":"alice","messageId":"id"}]}`)
	if code, resp := h.ingest("/v1/batch", b.String()); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	ids := func(page map[string]any) string {
		var out []string
		for _, e := range page["events"].([]any) {
			out = append(out, e.(map[string]any)["messageId"].(string))
		}
		return strings.Join(out, ",")
	}
	cases := []struct{ query, want string }{
		{"", "id,m6,m5,m4,m3,m2,m1,m0"},
		{"?order=asc&limit=3", "m0,m1,m2"},
		{"?user_id=alice&type=track", "m6,m4,m2,m0"},
		{"?anonymous_id=anon-1", "m5,m3,m1"},
		{"?identifier=anon-1&event=E1&order=asc", "m1,m3,m5"},
		{"?type=identify", "id"},
		{"?source=" + h.src.ID + "&limit=1", "id"},
		{"?since=2026-11-22T00:00:00Z&until=2026-11-24T00:00:00Z", "id,m3,m2"},
		{"?source=src_other", ""},
	}
	for _, c := range cases {
		code, page := h.api("/api/v1/events" + c.query)
		if code != 200 {
			t.Fatalf("%s: %d %v", c.query, code, page)
		}
		if got := ids(page); got != c.want {
			t.Errorf("%s: got %s, want %s", c.query, got, c.want)
		}
	}

	// Paging walks the whole log without gaps or repeats.
	var all []string
	next := "/api/v1/events?limit=3&order=asc"
	for next != "" {
		code, page := h.api(next)
		if code != 200 {
			t.Fatalf("%s: %d %v", next, code, page)
		}
		if s := ids(page); s != "" {
			all = append(all, s)
		}
		next = ""
		if c, ok := page["next_cursor"].(string); ok {
			next = "/api/v1/events?limit=3&order=asc&cursor=" + c
		}
	}
	if got := strings.Join(all, ","); got != "m0,m1,m2,m3,m4,m5,m6,id" {
		t.Fatalf("paged: %s", got)
	}

	for _, bad := range []string{"?type=purchase", "?since=yesterday", "?limit=0", "?limit=5000", "?cursor=not-a-cursor", "?order=up"} {
		code, body := h.api("/api/v1/events" + bad)
		if code != 400 || body["error"].(map[string]any)["details"] == nil {
			t.Errorf("%s: %d %v, want 400 naming the parameter", bad, code, body)
		}
	}
}

func TestAPIRequiresTheAdminKey(t *testing.T) {
	h := newHarness(t)
	runScenarios(t, h, []apiScenario{
		{Name: "no key", Method: "GET", URL: "/api/v1/events", ExpectedStatus: 401, ExpectedCode: "unauthorized"},
		{Name: "a wrong key", Method: "GET", URL: "/api/v1/events", Headers: map[string]string{"Authorization": "Bearer wrong"},
			ExpectedStatus: 401, ExpectedCode: "unauthorized"},
		{Name: "a write key is never read as an admin key", Method: "GET", URL: "/api/v1/events", WriteKey: true,
			ExpectedStatus: 401, ExpectedCode: "unauthorized"},
		{Name: "nor as a bearer", Method: "GET", URL: "/api/v1/events", Headers: map[string]string{"Authorization": "Bearer " + h.src.WriteKey},
			ExpectedStatus: 401, ExpectedCode: "unauthorized"},
		{Name: "the admin key", Method: "GET", URL: "/api/v1/events", Admin: true, ExpectedStatus: 200},
		{Name: "an unknown API path", Method: "GET", URL: "/api/v1/nope", Admin: true, ExpectedStatus: 404, ExpectedCode: "not_found"},
	})
}

func TestSourcesAPI(t *testing.T) {
	h := newHarness(t)
	auth := map[string]string{"Authorization": "Bearer " + h.admin}
	code, _, created := h.do("POST", "/api/v1/sources", []byte(`{"name":"Lyon tills","channel":"pos","store_id":"lyon-01"}`), auth)
	if code != 201 || created["write_key"] == "" || created["store_id"] != "lyon-01" {
		t.Fatalf("create: %d %v", code, created)
	}
	runScenarios(t, h, []apiScenario{
		{Name: "a name taken", Method: "POST", URL: "/api/v1/sources", Admin: true, Body: `{"name":"Lyon tills","channel":"pos","store_id":"x"}`,
			ExpectedStatus: 409, ExpectedCode: "conflict", ExpectedMessage: "source Lyon tills: a source of this name exists already",
			ExpectedDetails: map[string]string{"kind": "source", "id": "Lyon tills"}},
		{Name: "a till without its store", Method: "POST", URL: "/api/v1/sources", Admin: true, Body: `{"name":"Tills","channel":"pos"}`,
			ExpectedStatus: 400, ExpectedCode: "invalid_request", ExpectedDetails: map[string]string{"field": "store_id"}},
		{Name: "an unknown channel", Method: "POST", URL: "/api/v1/sources", Admin: true, Body: `{"name":"X","channel":"fax"}`,
			ExpectedStatus: 400, ExpectedCode: "invalid_request", ExpectedDetails: map[string]string{"field": "channel"}, ExpectedMessage: `"fax" is not one of`},
		{Name: "an unknown field", Method: "POST", URL: "/api/v1/sources", Admin: true, Body: `{"name":"X","channel":"web","colour":"red"}`,
			ExpectedStatus: 400, ExpectedCode: "invalid_request", ExpectedDetails: map[string]string{"field": "body"}},
	})
	code, list := h.api("/api/v1/sources")
	if code != 200 || len(list["sources"].([]any)) != 2 {
		t.Fatalf("list: %d %v", code, list)
	}
	// Events sent with the new key carry its channel and store.
	code, _, _ = h.do("POST", "/v1/track", []byte(`{"userId":"u","event":"Order Completed"}`),
		map[string]string{"Authorization": basic(created["write_key"].(string))})
	if code != 200 {
		t.Fatal(code)
	}
	ev := h.events()[0]
	if ev.Channel != "pos" || ev.StoreID != "lyon-01" || ev.SourceID != created["id"] {
		t.Fatalf("POS event: channel %s store %s source %s", ev.Channel, ev.StoreID, ev.SourceID)
	}
	if code, _ := h.api("/api/v1/sources/Lyon%20tills"); code != 200 {
		t.Fatalf("get by name: %d", code)
	}
	runScenarios(t, h, []apiScenario{
		{Name: "an unknown source", Method: "GET", URL: "/api/v1/sources/src_nope", Admin: true,
			ExpectedStatus: 404, ExpectedMessage: "no source src_nope", ExpectedDetails: map[string]string{"kind": "source", "id": "src_nope"}},
	})
}

func TestHealthReadyMetrics(t *testing.T) {
	h := newHarness(t)
	h.ingest("/v1/batch", `{"batch":[{"type":"track","userId":"u","event":"A"},{"type":"track","event":"no id"}]}`)
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, _, body := h.do("GET", p, nil, nil); code != 200 {
			t.Fatalf("%s: %d %v", p, code, body)
		}
	}
	resp, err := http.Get(h.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	text := string(raw)
	for _, want := range []string{
		`parcours_events_accepted_total{source="` + h.src.ID + `"} 1`,
		`parcours_events_rejected_total{action="dropped",reason="missing_identity",source="` + h.src.ID + `"} 1`,
		`parcours_ingest_request_duration_seconds_count{code="200",endpoint="batch"} 1`,
		`parcours_ingest_commits_total`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
