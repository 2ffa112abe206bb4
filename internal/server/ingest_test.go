package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
)

const track = `{"userId":"u-1","event":"Product Viewed","messageId":"%s","properties":{"sku":"SHOE-42"}}`

func TestAuthVariants(t *testing.T) {
	h := newHarness(t)
	key := h.src.WriteKey
	cases := []struct {
		name   string
		header string
		body   string
		want   int
	}{
		{"basic with colon", basic(key + ":"), fmt.Sprintf(track, "m1"), 200},
		{"basic without colon", basic(key), fmt.Sprintf(track, "m2"), 200},
		{"writeKey in body", "", `{"writeKey":"` + key + `","userId":"u","event":"X","messageId":"m3"}`, 200},
		{"no key", "", fmt.Sprintf(track, "m4"), 401},
		{"unknown key", basic("wk_nope:"), fmt.Sprintf(track, "m5"), 401},
		{"bearer is not basic", "Bearer " + key, fmt.Sprintf(track, "m6"), 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{}
			if c.header != "" {
				hdr["Authorization"] = c.header
			}
			code, _, body := h.do("POST", "/v1/track", []byte(c.body), hdr)
			if code != c.want {
				t.Fatalf("status %d, want %d (%v)", code, c.want, body)
			}
			if code == 401 {
				if e, ok := body["error"].(map[string]any); !ok || e["code"] != "unauthorized" || e["message"] == "" {
					t.Fatalf("401 body = %v, want a JSON error", body)
				}
			}
		})
	}
	if got := h.messageIDs(); !slices.Equal(got, []string{"m1", "m2", "m3"}) {
		t.Fatalf("stored %v", got)
	}

	// A disabled source is refused (the API forgets the cached key at once).
	code, _, _ := h.do("POST", "/api/v1/sources/"+h.src.ID+"/disable", nil, map[string]string{"Authorization": "Bearer " + h.admin})
	if code != 200 {
		t.Fatalf("disable: %d", code)
	}
	if code, body := h.ingest("/v1/track", fmt.Sprintf(track, "m7")); code != 401 || !strings.Contains(fmt.Sprint(body), "disabled") {
		t.Fatalf("disabled source: %d %v", code, body)
	}
}

func TestContentTypesAndEncodings(t *testing.T) {
	h := newHarness(t)
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	auth := basic(h.src.WriteKey + ":")
	cases := []struct {
		name string
		body []byte
		hdr  map[string]string
		want int
	}{
		{"application/json", []byte(fmt.Sprintf(track, "a")), map[string]string{"Content-Type": "application/json"}, 200},
		{"text/plain", []byte(fmt.Sprintf(track, "b")), map[string]string{"Content-Type": "text/plain"}, 200},
		{"no content type", []byte(fmt.Sprintf(track, "c")), map[string]string{}, 200},
		{"form-urlencoded gzip", gz(fmt.Sprintf(track, "d")), map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"}, 200},
		{"gzip without header", gz(fmt.Sprintf(track, "e")), map[string]string{}, 200},
		{"BOM", append([]byte("\xef\xbb\xbf"), fmt.Sprintf(track, "f")...), map[string]string{}, 200},
		{"corrupt gzip", gz(fmt.Sprintf(track, "g"))[:15], map[string]string{"Content-Encoding": "gzip"}, 400},
		{"gzip bomb", gz(`{"batch":[` + strings.Repeat(" ", 5<<20) + `]}`), map[string]string{"Content-Encoding": "gzip"}, 400},
		{"not an object", []byte(`[1,2]`), map[string]string{}, 400},
		{"not JSON", []byte(`userId=u&event=x`), map[string]string{}, 400},
		{"too large", []byte(`{"batch":[` + strings.Repeat(" ", 5<<20) + `]}`), map[string]string{}, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.hdr["Authorization"] = auth
			code, _, body := h.do("POST", "/v1/track", c.body, c.hdr)
			if code != c.want {
				t.Fatalf("status %d, want %d: %v", code, c.want, body)
			}
			if code == 400 {
				if e, ok := body["error"].(map[string]any); !ok || e["message"] == "" {
					t.Fatalf("400 body %v, want a JSON error with a message", body)
				}
			}
		})
	}
	if got := h.messageIDs(); !slices.Equal(got, []string{"a", "b", "c", "d", "e", "f"}) {
		t.Fatalf("stored %v", got)
	}
}

func TestBatchWithBadEventsStoresTheRest(t *testing.T) {
	h := newHarness(t)
	big := `{"type":"track","userId":"u","event":"Big","messageId":"big","properties":{"x":"` + strings.Repeat("x", 33*1024) + `"}}`
	body := `{"batch":[
		{"type":"track","userId":"u","event":"A","messageId":"ok-1"},
		{"type":"track","userId":"u","messageId":"no-event"},
		{"type":"track","event":"X","messageId":"no-identity"},
		{"type":"purchase","userId":"u","messageId":"bad-type"},
		` + big + `,
		"not an object",
		{"type":"identify","userId":"u","messageId":"bad-ts","timestamp":"tomorrow"},
		{"type":"page","anonymousId":"a","name":"Home","messageId":"ok-2"}
	]}`
	code, resp := h.ingest("/v1/batch", body)
	if code != 200 || resp["success"] != true {
		t.Fatalf("status %d %v; want 200 as Segment answers", code, resp)
	}
	if got := h.messageIDs(); !slices.Equal(got, []string{"ok-1", "bad-ts", "ok-2"}) {
		t.Fatalf("stored %v; want the valid events and the corrected one", got)
	}
	if ts := h.events()[1].Timestamp; !ts.Equal(now) {
		t.Fatalf("unparseable timestamp replaced by %v, want receivedAt %v", ts, now)
	}
	rejected := resp["rejected"].([]any)
	codes := map[string]string{}
	for _, r := range rejected {
		m := r.(map[string]any)
		codes[fmt.Sprint(m["index"])] = m["code"].(string)
	}
	want := map[string]string{"1": event.CodeMissingField, "2": event.CodeMissingIdentity, "3": event.CodeUnknownType,
		"4": event.CodeTooLarge, "5": event.CodeNotObject, "6": event.CodeInvalidTimestamp}
	if fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Fatalf("rejections in response %v, want %v", codes, want)
	}
	// The rejections are visible through the API too.
	code, list := h.api("/api/v1/rejections?limit=10")
	if code != 200 || len(list["rejections"].([]any)) != 6 {
		t.Fatalf("GET /api/v1/rejections: %d %v", code, list)
	}
	first := list["rejections"].([]any)[5].(map[string]any)
	if first["messageId"] != "no-event" || first["field"] != "event" || first["action"] != "dropped" || first["sourceId"] != h.src.ID {
		t.Fatalf("oldest rejection = %v", first)
	}
}

func TestDedup(t *testing.T) {
	h := newHarness(t)
	batch := `{"batch":[{"type":"track","userId":"u","event":"A","messageId":"x"},{"type":"track","userId":"u","event":"A","messageId":"x"},{"type":"track","userId":"u","event":"B","messageId":"y"}]}`
	code, resp := h.ingest("/v1/batch", batch)
	if code != 200 || resp["stored"] != 2.0 || resp["duplicates"] != 1.0 {
		t.Fatalf("first send: %d %v", code, resp)
	}
	// The client resends after a timeout: nothing new is stored.
	code, resp = h.ingest("/v1/batch", batch)
	if code != 200 || resp["stored"] != 0.0 || resp["duplicates"] != 3.0 {
		t.Fatalf("resend: %d %v", code, resp)
	}
	if got := h.messageIDs(); !slices.Equal(got, []string{"x", "y"}) {
		t.Fatalf("stored %v", got)
	}
	// Without a messageId each event gets its own.
	h.ingest("/v1/track", `{"userId":"u","event":"No id"}`)
	h.ingest("/v1/track", `{"userId":"u","event":"No id"}`)
	if got := h.events(); len(got) != 4 || got[2].MessageID == "" || got[2].MessageID == got[3].MessageID {
		t.Fatalf("filled message ids: %v", h.messageIDs())
	}
}

func TestSkewCorrectionAndTimestamps(t *testing.T) {
	h := newHarness(t)
	body := `{"batch":[
		{"type":"track","userId":"u","event":"A","messageId":"a","timestamp":"2026-11-23T12:00:00.123456+02:00"},
		{"type":"track","userId":"u","event":"B","messageId":"b","timestamp":"2026-11-23T11:59:00Z","sentAt":"2026-11-23T11:59:30Z"},
		{"type":"track","userId":"u","event":"C","messageId":"c"}
	],"sentAt":"2026-11-23T10:00:05.5Z"}`
	if code, resp := h.ingest("/v1/batch", body); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	got := h.events()
	// a: the batch sentAt says the client clock is 5.5s ahead of ours.
	wantA := now.Add(-(time.Date(2026, 11, 23, 10, 0, 5, 500_000_000, time.UTC).Sub(time.Date(2026, 11, 23, 10, 0, 0, 123_456_000, time.UTC))))
	// b: its own sentAt wins: sent 30s after it happened.
	wantB := now.Add(-30 * time.Second)
	for i, want := range []time.Time{wantA, wantB, now} {
		if !got[i].Timestamp.Equal(want) {
			t.Errorf("%s: timestamp %v, want %v", got[i].MessageID, got[i].Timestamp, want)
		}
		if !got[i].ReceivedAt.Equal(now) {
			t.Errorf("%s: receivedAt %v", got[i].MessageID, got[i].ReceivedAt)
		}
	}
	if !got[0].OriginalTimestamp.Equal(time.Date(2026, 11, 23, 10, 0, 0, 123_456_000, time.UTC)) || got[0].SentAt.IsZero() {
		t.Errorf("a keeps originalTimestamp %v and sentAt %v", got[0].OriginalTimestamp, got[0].SentAt)
	}
}

func TestEmptyBatchAndEndpoints(t *testing.T) {
	h := newHarness(t)
	if code, resp := h.ingest("/v1/batch", `{"batch":[]}`); code != 200 || resp["stored"] != 0.0 {
		t.Fatalf("empty batch: %d %v", code, resp)
	}
	calls := []struct{ path, body, typ string }{
		{"/v1/identify", `{"userId":"u","traits":{"email":"a@b.fr"},"messageId":"1"}`, "identify"},
		{"/v1/page", `{"anonymousId":"a","name":"Home","messageId":"2"}`, "page"},
		{"/v1/screen", `{"anonymousId":"a","name":"Cart","messageId":"3"}`, "screen"},
		{"/v1/group", `{"userId":"u","groupId":"g","messageId":"4"}`, "group"},
		{"/v1/alias", `{"userId":"u","previousId":"a","messageId":"5"}`, "alias"},
		{"/v1/track/", `{"userId":"u","event":"Trailing slash","messageId":"6"}`, "track"},
		{"//v1/t", `{"userId":"u","event":"Double slash","messageId":"7","type":"identify"}`, "track"},
		{"/v1/b", `{"batch":[{"type":"track","userId":"u","event":"Short","messageId":"8"}]}`, "track"},
		{"/v1/import", `{"batch":[{"type":"screen","userId":"u","name":"S","messageId":"9"}]}`, "screen"},
	}
	for _, c := range calls {
		code, resp := h.ingest(c.path, c.body)
		if code != 200 {
			t.Fatalf("%s: %d %v (never a redirect)", c.path, code, resp)
		}
	}
	got := h.events()
	if len(got) != len(calls) {
		t.Fatalf("stored %d events, want %d", len(got), len(calls))
	}
	for i, c := range calls {
		if string(got[i].Type) != c.typ || got[i].Channel != "web" || got[i].SourceID != h.src.ID {
			t.Errorf("%s: stored type %s channel %s source %s; want %s", c.path, got[i].Type, got[i].Channel, got[i].SourceID, c.typ)
		}
	}
	for _, m := range []string{"GET", "PUT"} {
		if code, _, _ := h.do(m, "/v1/track", nil, nil); code != 405 {
			t.Errorf("%s /v1/track: %d, want 405", m, code)
		}
	}
	if code, hdr, _ := h.do("OPTIONS", "/v1/batch", nil, map[string]string{"Origin": "https://shop.example"}); code != 204 ||
		hdr.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("CORS preflight: %d %v", code, hdr)
	}
	if code, _, _ := h.do("POST", "/v1/nope", []byte(`{}`), nil); code != 404 {
		t.Errorf("unknown endpoint: %d", code)
	}
}

func TestBatchContextMerge(t *testing.T) {
	h := newHarness(t)
	body := `{"batch":[
		{"type":"track","userId":"u","event":"A","messageId":"a","context":{"locale":"en-GB"}},
		{"type":"track","userId":"u","event":"B","messageId":"b","integrations":{"all":false}}
	],"context":{"locale":"fr-FR","library":{"name":"analytics-go"}},"integrations":{"All":true,"Braze":false}}`
	if code, resp := h.ingest("/v1/batch", body); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	got := h.events()
	var ctxA, ctxB, intA, intB map[string]any
	json.Unmarshal(got[0].Context, &ctxA)
	json.Unmarshal(got[1].Context, &ctxB)
	json.Unmarshal(got[0].Integrations, &intA)
	json.Unmarshal(got[1].Integrations, &intB)
	if ctxA["locale"] != "en-GB" || ctxB["locale"] != "fr-FR" || ctxA["library"] == nil || ctxB["ip"] != "127.0.0.1" {
		t.Errorf("contexts: %v / %v", ctxA, ctxB)
	}
	if intA["All"] != true || intB["All"] != false || intB["Braze"] != false || intB["all"] != nil {
		t.Errorf("integrations: %v / %v", intA, intB)
	}
}

func TestRequestsAreDurableBeforeTheResponse(t *testing.T) {
	h := newHarness(t)
	for i := range 20 {
		code, resp := h.ingest("/v1/track", fmt.Sprintf(track, fmt.Sprint("d-", i)))
		if code != 200 {
			t.Fatalf("%d %v", code, resp)
		}
		// The 200 means committed: a reader sees the event at once.
		if n, _ := h.st.LastSeq(context.Background()); n != int64(i+1) {
			t.Fatalf("after %d acknowledgements the log holds %d events", i+1, n)
		}
	}
}
