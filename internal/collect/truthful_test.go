package collect_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store"
)

// gatedStore holds every Append until its gate opens: the event log is as
// slow as the test wants.
type gatedStore struct {
	store.Store
	gate chan struct{}
}

func (g *gatedStore) Append(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error {
	<-g.gate
	return g.Store.Append(ctx, events, rejects)
}

// TestOverloadIsAnsweredWithinTheBound: a request whose events no commit
// takes within --max-wait is answered 503 with Retry-After instead of being
// held (9 s were measured at 256 concurrent batches), and its events are
// then never stored, so that the answer is true.
func TestOverloadIsAnsweredWithinTheBound(t *testing.T) {
	g := &gatedStore{Store: sqliteStore(t), gate: make(chan struct{})}
	r := newRig(t, g, collect.HandlerOptions{MaxWait: 100 * time.Millisecond})
	first := make(chan int, 1)
	go func() {
		code, _, _ := r.post("/v1/track", fmt.Sprintf(oneTrack, "first"))
		first <- code
	}()
	// The first request's commit holds the log; the next waits behind it.
	waitFor(t, "the first commit to start", func() bool { return r.h.Saturation().InFlight == 1 && len(first) == 0 })
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	code, retry, body := r.post("/v1/track", fmt.Sprintf(oneTrack, "second"))
	waited := time.Since(start)
	if code != 503 || retry != "1" || errorCode(body) != "overloaded" {
		t.Fatalf("second request: %d Retry-After %q %v", code, retry, body)
	}
	if waited > 5*time.Second {
		t.Fatalf("answered after %v; want about the 100 ms bound", waited)
	}
	if s := r.h.Saturation(); !s.Saturated {
		t.Fatalf("saturation %+v after a refusal", s)
	}
	close(g.gate)
	if code := <-first; code != 200 {
		t.Fatalf("first request: %d", code)
	}
	got, _ := g.ReadAfter(context.Background(), 0, 10)
	if len(got) != 1 || got[0].MessageID != "first" {
		t.Fatalf("stored %d events; the refused request's event must not be stored", len(got))
	}
}

// TestSingleEventsThatAreDroppedAnswer400: the SDKs take a 200 for
// "stored"; a single call whose event was dropped must say it was not.
func TestSingleEventsThatAreDroppedAnswer400(t *testing.T) {
	r := newRig(t, sqliteStore(t), collect.HandlerOptions{})
	big := `{"userId":"u","event":"Big","messageId":"big","properties":{"x":"` + strings.Repeat("x", 33*1024) + `"}}`
	deep := `{"userId":"u","event":"Deep","properties":{"a":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}}`
	cases := []struct {
		name, path, body string
		code, field      string
		message          string
	}{
		{"over 32 KB", "/v1/track", big, event.CodeTooLarge, "", "bytes, the limit is 32768"},
		{"5,000 levels", "/v1/track", deep, event.CodeTooDeep, "properties.a" + strings.Repeat("[0]", 62), "nested more than 64 levels"},
		{"1e131072", "/v1/identify", `{"userId":"u","traits":{"n":1e131072}}`, event.CodeInvalidNumber, "traits.n", "out of range"},
		{"no event name", "/v1/track", `{"userId":"u"}`, event.CodeMissingField, "event", "track needs an event name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, body := r.post(c.path, c.body)
			details, _ := body["error"].(map[string]any)["details"].(map[string]any)
			if code != 400 || errorCode(body) != c.code || !strings.Contains(errorMessage(body), c.message) || details["field"] != c.field {
				t.Fatalf("%d %v; want 400 %s on %q", code, body, c.code, c.field)
			}
		})
	}
	// Corrected events are stored: 200, with the correction reported.
	code, _, body := r.post("/v1/track", `{"userId":"u","event":"Zero","messageId":"zero","timestamp":"0001-01-01T00:00:00Z"}`)
	rejected, _ := body["rejected"].([]any)
	if code != 200 || body["stored"] != 1.0 || len(rejected) != 1 || rejected[0].(map[string]any)["action"] != "corrected" {
		t.Fatalf("zero timestamp: %d %v", code, body)
	}
	// Every drop is on record too.
	list, err := r.st.ListRejections(context.Background(), store.RejectionQuery{Limit: 10})
	if err != nil || len(list) != len(cases)+1 {
		t.Fatalf("rejections stored: %d, %v", len(list), err)
	}
}

// TestBatchWithValuesOneEngineRefuses: one number PostgreSQL cannot hold
// used to make it refuse the whole batch, at every retry.
func TestBatchWithValuesOneEngineRefuses(t *testing.T) {
	onEngines(t, func(t *testing.T, st store.Store) {
		r := newRig(t, st, collect.HandlerOptions{})
		var events []string
		for i := range 98 {
			events = append(events, fmt.Sprintf(`{"type":"track","userId":"u","event":"E","messageId":"ok-%d","properties":{"price":%d.99}}`, i, i))
		}
		events = append(events,
			`{"type":"track","userId":"u","event":"E","messageId":"huge","properties":{"amount":1e131072}}`,
			`{"type":"track","userId":"u","event":"E","messageId":"nul","properties":{"note":"a\u0000b"}}`,
			`{"type":"track","userId":"u","event":"E","messageId":"old","timestamp":"0001-01-01"}`)
		code, _, body := r.post("/v1/batch", `{"batch":[`+strings.Join(events, ",")+`]}`)
		if code != 200 || body["stored"] != 100.0 {
			t.Fatalf("%d %v; want 200 with 100 stored", code, body)
		}
		want := map[string]string{"huge": "dropped invalid_number properties.amount", "nul": "corrected invalid_text ", "old": "corrected invalid_timestamp timestamp"}
		got := map[string]string{}
		for _, x := range body["rejected"].([]any) {
			m := x.(map[string]any)
			f, _ := m["field"].(string)
			got[m["messageId"].(string)] = fmt.Sprint(m["action"], " ", m["code"], " ", f)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("rejections %v\nwant %v", got, want)
		}
		stored, _ := st.ReadAfter(context.Background(), 0, 1000)
		if len(stored) != 100 {
			t.Fatalf("the log holds %d events", len(stored))
		}
		// A batch-level context is merged into every event: it is checked
		// before, and refused whole.
		code, _, body = r.post("/v1/batch", `{"batch":[{"type":"track","userId":"u","event":"E"}],"context":{"screen":{"density":1e400}}}`)
		if code != 400 || !strings.Contains(errorMessage(body), "context.screen.density") {
			t.Fatalf("batch-level context with 1e400: %d %v", code, body)
		}
	})
}
