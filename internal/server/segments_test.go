package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/segment"
)

func (h *harness) post(path, body string) (int, map[string]any) {
	h.t.Helper()
	code, _, out := h.do("POST", path, []byte(body), map[string]string{"Authorization": "Bearer " + h.admin})
	return code, out
}

// waitSegments waits until the segment stage has caught up with unify.
func (h *harness) waitSegments() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		last, _ := h.st.LastSeq(context.Background())
		u, _ := h.st.Checkpoint(context.Background(), "unify")
		s, _ := h.st.Checkpoint(context.Background(), segment.Consumer)
		if u >= last && s >= last && last > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatal("segments did not catch up with the log")
}

func TestSegmentsAPI(t *testing.T) {
	h := newHarness(t)
	// A refused definition says where and why.
	code, resp := h.post("/api/v1/segments", `{"id":"bad","name":"Bad","where":{"all":[{"performed":{"event":"Product Viewed","count":{}}}]}}`)
	details, _ := resp["error"].(map[string]any)["details"].(map[string]any)
	if code != 400 || details["path"] != "where.all[0].performed.count" {
		t.Fatalf("invalid definition: %d %v", code, resp)
	}

	ts := h.clock.Now().Format(time.RFC3339)
	body := `{"batch":[
		{"type":"identify","userId":"sophie","traits":{"email":"sophie@example.fr","emailOptIn":true},"timestamp":"` + ts + `"},
		{"type":"track","userId":"sophie","event":"Product Viewed","properties":{"category":"shoes"},"timestamp":"` + ts + `"},
		{"type":"track","userId":"marc","event":"Product Viewed","properties":{"category":"bags"},"timestamp":"` + ts + `"}
	]}`
	if code, resp := h.ingest("/v1/batch", body); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	// reachable: email reads the consent ledger, which the consent
	// consumer writes behind unify.
	h.waitConsumer(message.Consumer)
	def := `{"id":"shoe-viewers","name":"Shoe viewers reachable by email","where":{"all":[
		{"performed":{"event":"Product Viewed","where":{"category":"shoes"},"within":"7d"}},{"reachable":"email"}]}}`
	// Preview first, then save (backfill) and wait.
	if code, p := h.post("/api/v1/segments/preview", def); code != 200 || p["size"].(float64) != 1 || p["profiles_evaluated"].(float64) != 2 {
		t.Fatalf("preview: %d %v", code, p)
	}
	if code, resp := h.post("/api/v1/segments?wait=true", def); code != 200 {
		t.Fatalf("save: %d %v", code, resp)
	}
	_, seg := h.api("/api/v1/segments/shoe-viewers")
	if seg["status"] != "live" || seg["size"].(float64) != 1 || seg["version"].(float64) != 1 {
		t.Fatalf("segment after backfill: %v", seg)
	}
	// Live: Marc views shoes and gives his email with consent.
	if code, resp := h.ingest("/v1/batch", `{"batch":[
		{"type":"identify","userId":"marc","traits":{"email":"marc@example.fr","emailOptIn":true}},
		{"type":"track","userId":"marc","event":"Product Viewed","properties":{"category":"shoes"}}]}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitSegments()
	_, m := h.api("/api/v1/segments/shoe-viewers/members")
	if n := len(m["members"].([]any)); n != 2 {
		t.Fatalf("members: %v", m)
	}
	req, _ := http.NewRequest("GET", h.http.URL+"/api/v1/segments/shoe-viewers/members?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+h.admin)
	res, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	csv, _ := io.ReadAll(res.Body)
	res.Body.Close()
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "profile_id,since,user_id,email") || !bytes.Contains(csv, []byte("marc@example.fr")) {
		t.Fatalf("csv export:\n%s", csv)
	}
	// The entry is announced on Marc's timeline.
	h.waitSegments()
	_, prof := h.api("/api/v1/profiles?user_id=marc")
	_, tl := h.api("/api/v1/profiles/" + jsonNumber(prof["id"]) + "/timeline")
	if !strings.Contains(toJSON(tl), "Segment Entered") {
		t.Fatalf("timeline has no Segment Entered: %v", tl)
	}
	if _, c := h.api("/api/v1/segments/shoe-viewers/counts"); len(c["counts"].([]any)) != 1 {
		t.Fatalf("counts: %v", c)
	}
	if _, hist := h.api("/api/v1/segments/shoe-viewers/history"); len(hist["changes"].([]any)) != 2 {
		t.Fatalf("history: %v", hist)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func jsonNumber(v any) string { return strconv.FormatInt(int64(v.(float64)), 10) }
