package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/source"
)

// settle waits until the journey engine has handled the whole log, and
// the log has stopped growing (stages announce what they did into it). It
// fails when neither moves for 30 s (or after 5 minutes), not after a
// fixed time: under the race detector on a loaded machine, the backfill
// below takes longer than 30 s to go through.
func (h *harness) settle() {
	h.t.Helper()
	ctx := context.Background()
	const stall = 30 * time.Second
	deadline, giveUp := time.Now().Add(stall), time.Now().Add(5*time.Minute)
	var prev, moved int64 = -1, -1
	for time.Now().Before(deadline) && time.Now().Before(giveUp) {
		last, _ := h.st.LastSeq(ctx)
		cp, _ := h.st.Checkpoint(ctx, journey.Consumer)
		if cp >= last && last == prev {
			return
		}
		if cp >= last {
			prev = last
		}
		if last+cp != moved {
			moved, deadline = last+cp, time.Now().Add(stall)
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatal("the pipeline did not settle (no progress for 30 s, or still busy after 5 minutes)")
}

// TestBackfillSendsNothing: a CRM import of thousands of events (recent
// ones too: imported is history), and
// thousands of 2025 events sent through the tracking API, go through the
// whole pipeline (unify, segments, journeys, messages): profiles and
// segments are updated, nobody is enrolled, nothing is sent. A live event
// a second later sends one email.
func TestBackfillSendsNothing(t *testing.T) {
	rec := messagetest.NewRecorder("smtp-test", provider.Email)
	h := newHarness(t, func(o *server.Options) {
		o.Providers = message.ProviderSet{provider.Email: {Provider: rec}}
		o.Messages.BaseURL = "https://shop.example"
	})
	if code, resp := h.post("/api/v1/templates", `{"id":"browse","topic":"offers",
		"body":{"email":{"subject":"Toujours tenté ?","html":"<p>Ils vous attendent.</p>"}}}`); code != 201 {
		t.Fatalf("template: %d %v", code, resp)
	}
	if code, resp := h.post("/api/v1/segments?wait=true", `{"id":"viewers","name":"Viewers","where":{"performed":{"event":"Product Viewed"}}}`); code != 200 {
		t.Fatalf("segment: %d %v", code, resp)
	}
	if code, resp := h.post("/api/v1/journeys", `{"journeys":[
		{"id":"browse","name":"Browse","triggers":[{"event":"Product Viewed"}],"re_entry":{"policy":"always"},
		 "steps":[{"send":{"channel":"email","template":"browse"}}]},
		{"id":"viewers","name":"New viewers","triggers":[{"segment_entered":"viewers"}],
		 "steps":[{"send":{"channel":"email","template":"browse"}}]}]}`); code != 200 {
		t.Fatalf("journeys: %d %v", code, resp)
	}

	// A CRM export: 1,000 customers who opted in, and their views of this
	// morning (hours old: only the import says they are history).
	var file strings.Builder
	morning := h.clock.Now().Add(-3 * time.Hour)
	for i := range 1000 {
		fmt.Fprintf(&file, `{"type":"identify","userId":"c%d","traits":{"email":"c%d@example.fr","emailOptIn":true},"timestamp":"2025-03-01T10:00:00Z"}`+"\n", i, i)
		for j := range 2 {
			fmt.Fprintf(&file, `{"type":"track","userId":"c%d","event":"Product Viewed","properties":{"sku":"SHOE-%d"},"timestamp":"%s"}`+"\n",
				i, j, morning.Add(time.Duration(j)*time.Minute).Format(time.RFC3339))
		}
	}
	crm, _ := source.New("CRM export", "crm", "", h.clock.Now())
	if err := h.st.CreateSource(context.Background(), crm); err != nil {
		t.Fatal(err)
	}
	sum, err := collect.Import(context.Background(), strings.NewReader(file.String()), collect.NewIngester(collect.Direct{Appender: h.st}, nil, nil),
		collect.ImportOptions{Source: crm, Format: "ndjson", Clock: h.clock})
	if err != nil || sum.Stored != 3000 {
		t.Fatalf("import: %+v, %v", sum, err)
	}
	// The same shop's 2025 views replayed through the tracking API, with
	// their timestamps: 2,000 more.
	for b := range 8 {
		var batch []string
		for i := range 250 {
			n := b*250 + i
			batch = append(batch, fmt.Sprintf(`{"type":"track","userId":"c%d","event":"Product Viewed","properties":{"sku":"BAG-1"},"timestamp":"2025-06-%02dT10:00:00Z"}`, n%1000, 1+n%28))
		}
		// As a tracking library does: a 503 (the log is busy, as under
		// the race detector on a loaded machine) is sent again after its
		// Retry-After; nothing of a refused batch was stored.
		body := `{"batch":[` + strings.Join(batch, ",") + `]}`
		code, resp := h.ingest("/v1/batch", body)
		for try := 1; code == http.StatusServiceUnavailable && try < 30; try++ {
			time.Sleep(time.Second)
			code, resp = h.ingest("/v1/batch", body)
		}
		if code != 200 {
			t.Fatalf("batch %d: %d %v", b, code, resp)
		}
	}
	h.settle()
	h.clock.Advance(time.Minute) // any timer due by now runs
	h.settle()
	if code, resp := h.api("/api/v1/segments/viewers"); code != 200 || resp["size"] != float64(1000) {
		t.Fatalf("the history did not reach the segment: %d %v", code, resp)
	}
	for _, id := range []string{"browse", "viewers"} {
		if counts, err := h.st.EnrolmentCounts(context.Background(), id); err != nil || len(counts) != 0 {
			t.Fatalf("journey %s: enrolments %v, %v", id, counts, err)
		}
	}
	if n := len(rec.Sent()); n != 0 {
		t.Fatalf("the backfill sent %d messages", n)
	}

	// A second later, a live view: one email.
	h.clock.Advance(time.Second)
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/track", `{"userId":"c1","event":"Product Viewed","properties":{"sku":"SHOE-0"},"timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(rec.Sent()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	h.settle()
	if s := rec.Sent(); len(s) != 1 || s[0].To != "c1@example.fr" || !strings.HasPrefix(s[0].Key, "journey:browse:v1:") {
		t.Fatalf("the live view sent %d messages: %+v", len(s), s)
	}
}
