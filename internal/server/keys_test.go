package server_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// keyed posts body to path with the admin key and an Idempotency-Key (none
// if key is ""); it returns the status, whether the answer was replayed,
// and the body.
func (h *harness) keyed(path, key, body string) (int, bool, map[string]any) {
	h.t.Helper()
	hdr := map[string]string{"Authorization": "Bearer " + h.admin}
	if key != "" {
		hdr["Idempotency-Key"] = key
	}
	code, header, out := h.do("POST", path, []byte(body), hdr)
	return code, header.Get("Idempotent-Replayed") == "true", out
}

// errorOf returns the code, message and details of an error answer.
func errorOf(out map[string]any) (string, string, map[string]any) {
	e, _ := out["error"].(map[string]any)
	code, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	d, _ := e["details"].(map[string]any)
	return code, msg, d
}

// forgetAnswers makes every request key claimed but unanswered: what a
// process stopped between creating and answering leaves behind.
const forgetAnswers = "UPDATE request_keys SET status = 0, response = NULL"

// TestIdempotencyKeysOnEveryCreatingPost: sources, enrolments and consent
// changes take an Idempotency-Key like reservations and orders: a retry
// with the same key and body gets the first answer (status, ids, write
// key), marked Idempotent-Replayed, and creates nothing, after a restart
// too, and after a crash between creating and answering (the retry finds
// what the first run created); the same key with another body is a 422
// naming the key and what it created; a malformed key is a 400; a refused
// request frees its key (issue 14.6).
func TestIdempotencyKeysOnEveryCreatingPost(t *testing.T) {
	onEngines(t, func(t *testing.T, h *harness, e engine) {
		ctx := context.Background()
		sources := func() int {
			list, err := h.st.ListSources(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return len(list)
		}

		// Sources.
		body := `{"name":"Lyon tills","channel":"pos","store_id":"lyon"}`
		code, replayed, first := h.keyed("/api/v1/sources", "src-1", body)
		if code != 201 || replayed || first["write_key"] == nil {
			t.Fatalf("source: %d %v %v", code, replayed, first)
		}
		code, replayed, again := h.keyed("/api/v1/sources", "src-1", ` {"store_id":"lyon","channel":"pos","name":"Lyon tills"}`)
		if code != 201 || !replayed || again["id"] != first["id"] || again["write_key"] != first["write_key"] {
			t.Fatalf("retry (same body, fields reordered): %d %v %v; want %v", code, replayed, again, first)
		}
		code, _, out := h.keyed("/api/v1/sources", "src-1", strings.Replace(body, "lyon", "paris", 1))
		if c, msg, d := errorOf(out); code != 422 || c != "idempotency_key_reused" || d["key"] != "src-1" || d["source_id"] != first["id"] || !strings.Contains(msg, "Idempotency-Key") {
			t.Fatalf("same key, other body: %d %v", code, out)
		}
		if code, _, out := h.keyed("/api/v1/sources", "", body); code != 409 {
			t.Fatalf("same name without a key: %d %v", code, out)
		}
		for _, bad := range []string{strings.Repeat("k", 256), "k\u0085", "k\u200b", "\xff"} {
			code, _, out := h.keyed("/api/v1/sources", bad, `{"name":"Other","channel":"web"}`)
			if _, msg, d := errorOf(out); code != 400 || d["field"] != "Idempotency-Key" || !strings.Contains(msg, "255 bytes of printable characters") {
				t.Fatalf("key %.12q: %d %v", bad, code, out)
			}
		}
		// A refused request created nothing: its key is free again.
		if code, _, out := h.keyed("/api/v1/sources", "src-2", `{"name":"App","channel":"fax"}`); code != 400 {
			t.Fatalf("bad channel: %d %v", code, out)
		}
		code, _, app := h.keyed("/api/v1/sources", "src-2", `{"name":"App","channel":"ios"}`)
		if code != 201 {
			t.Fatalf("corrected request with the same key: %d %v", code, app)
		}
		if n := sources(); n != 3 {
			t.Fatalf("%d sources, want 3", n)
		}

		// Enrolments and consent need a profile and a journey.
		if code, out := h.ingest("/v1/batch", `{"batch":[{"type":"identify","userId":"ana","traits":{"email":"ana@example.fr"}},
			{"type":"identify","userId":"ben","traits":{"email":"ben@example.fr"}}]}`); code != 200 {
			t.Fatalf("%d %v", code, out)
		}
		h.waitUnify()
		ana, ben := h.profileOf("ana"), h.profileOf("ben")
		if code, out := h.post("/api/v1/journeys", `{"id":"vip","name":"VIP","triggers":[{"api":true}],"re_entry":{"policy":"always"},"steps":[{"wait":{"for":"24h"}}]}`); code != 200 {
			t.Fatalf("journey: %d %v", code, out)
		}
		enrol := `{"profile_id":` + strconv.FormatInt(ana, 10) + `}`
		code, _, en := h.keyed("/api/v1/journeys/vip/enrol", "en-1", enrol)
		if code != 201 {
			t.Fatalf("enrol: %d %v", code, en)
		}
		code, replayed, en2 := h.keyed("/api/v1/journeys/vip/enrol", "en-1", enrol)
		if code != 201 || !replayed || en2["id"] != en["id"] {
			t.Fatalf("enrol retried: %d %v %v; want %v", code, replayed, en2, en["id"])
		}
		code, _, out = h.keyed("/api/v1/journeys/other/enrol", "en-1", enrol)
		if c, _, d := errorOf(out); code != 422 || c != "idempotency_key_reused" || d["enrolment_id"] != strconv.Itoa(int(en["id"].(float64))) {
			t.Fatalf("same key, other journey: %d %v", code, out)
		}

		consent := `{"profile_id":` + strconv.FormatInt(ana, 10) + `,"channel":"email","granted":true}`
		code, _, c1 := h.keyed("/api/v1/consent", "co-1", consent)
		if code != 201 || c1["id"] == nil {
			t.Fatalf("consent: %d %v", code, c1)
		}
		h.clock.Advance(time.Minute)
		code, replayed, c2 := h.keyed("/api/v1/consent", "co-1", consent)
		if code != 201 || !replayed || c2["id"] != c1["id"] || c2["at"] != c1["at"] {
			t.Fatalf("consent retried: %d %v %v; want %v", code, replayed, c2, c1)
		}
		code, _, out = h.keyed("/api/v1/consent", "co-1", strings.Replace(consent, "true", "false", 1))
		if c, _, _ := errorOf(out); code != 422 || c != "idempotency_key_reused" {
			t.Fatalf("same key, withdrawal: %d %v", code, out)
		}
		code, _, out = h.keyed("/api/v1/consent", "co-2", `{"key":"co-3",`+consent[1:])
		if _, _, d := errorOf(out); code != 400 || d["field"] != "key" {
			t.Fatalf("header and body keys differ: %d %v", code, out)
		}
		// The body's key, without the header, is the same key.
		code, replayed, c3 := h.keyed("/api/v1/consent", "", `{"key":"co-1",`+consent[1:])
		if code != 201 || !replayed || c3["id"] != c1["id"] {
			t.Fatalf("the same change with its key in the body: %d %v %v", code, replayed, c3)
		}

		// A restart: the keys are stored.
		h.restart(e, nil)
		if code, replayed, out := h.keyed("/api/v1/sources", "src-1", body); code != 201 || !replayed || out["write_key"] != first["write_key"] {
			t.Fatalf("source retried after a restart: %d %v %v", code, replayed, out)
		}
		if code, replayed, out := h.keyed("/api/v1/journeys/vip/enrol", "en-1", enrol); code != 201 || !replayed || out["id"] != en["id"] {
			t.Fatalf("enrolment retried after a restart: %d %v %v", code, replayed, out)
		}
		if code, replayed, out := h.keyed("/api/v1/consent", "co-1", consent); code != 201 || !replayed || out["id"] != c1["id"] {
			t.Fatalf("consent retried after a restart: %d %v %v", code, replayed, out)
		}

		// A crash between creating and answering: the keys are claimed,
		// their answers lost; the retries find what the first runs made.
		code, _, s4 := h.keyed("/api/v1/sources", "src-4", `{"name":"Call center","channel":"call_center"}`)
		benEnrol := `{"profile_id":` + strconv.FormatInt(ben, 10) + `}`
		code2, _, en4 := h.keyed("/api/v1/journeys/vip/enrol", "en-4", benEnrol)
		benConsent := `{"profile_id":` + strconv.FormatInt(ben, 10) + `,"channel":"sms","granted":false}`
		code3, _, c4 := h.keyed("/api/v1/consent", "co-4", benConsent)
		if code != 201 || code2 != 201 || code3 != 201 {
			t.Fatalf("before the crash: %d %v / %d %v / %d %v", code, s4, code2, en4, code3, c4)
		}
		h.clock.Advance(time.Minute)
		h.restart(e, func() { e.exec(forgetAnswers) })
		if code, _, out := h.keyed("/api/v1/sources", "src-4", `{"name":"Call center","channel":"call_center"}`); code != 201 || out["id"] != s4["id"] || out["write_key"] != s4["write_key"] {
			t.Fatalf("source retried after a crash: %d %v; want %v", code, out, s4)
		}
		if n := sources(); n != 4 {
			t.Fatalf("%d sources after the retries, want 4", n)
		}
		if code, _, out := h.keyed("/api/v1/journeys/vip/enrol", "en-4", benEnrol); code != 201 || out["id"] != en4["id"] {
			t.Fatalf("enrolment retried after a crash: %d %v; want %v", code, out, en4)
		}
		if list, err := h.st.ProfileEnrolments(ctx, []int64{ana, ben}); err != nil || len(list) != 2 {
			t.Fatalf("enrolments: %d, %v; want one each", len(list), err)
		}
		if code, _, out := h.keyed("/api/v1/consent", "co-4", benConsent); code != 201 || out["id"] != c4["id"] || out["at"] != c4["at"] {
			t.Fatalf("consent retried after a crash: %d %v; want %v", code, out, c4)
		}
		if ledger, err := h.st.ConsentLedger(ctx, []int64{ana, ben}, 0); err != nil || len(ledger) != 2 {
			t.Fatalf("ledger: %+v, %v; want one change each", ledger, err)
		}
		// Ten concurrent requests with one key: one source, one answer.
		var wg sync.WaitGroup
		ids := make(chan any, 10)
		for range 10 {
			wg.Go(func() {
				code, _, out := h.keyed("/api/v1/sources", "src-race", `{"name":"Race","channel":"app"}`)
				if code != 201 {
					t.Errorf("concurrent request: %d %v", code, out)
				}
				ids <- out["id"]
			})
		}
		wg.Wait()
		close(ids)
		one := <-ids
		for id := range ids {
			if id != one {
				t.Fatalf("concurrent requests with one key answered %v and %v", one, id)
			}
		}
		if n := sources(); n != 5 {
			t.Fatalf("%d sources after ten concurrent requests with one key, want 5", n)
		}
		// Answered now: the next retry is a replay.
		if code, replayed, out := h.keyed("/api/v1/sources", "src-4", `{"name":"Call center","channel":"call_center"}`); code != 201 || !replayed || out["id"] != s4["id"] {
			t.Fatalf("source retried again: %d %v %v", code, replayed, out)
		}
	})
}
