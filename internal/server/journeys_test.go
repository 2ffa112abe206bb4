package server_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store"
)

// waitEnrolment waits until the profile's first enrolment has status.
func (h *harness) waitEnrolment(profile int64, status string) *store.Enrolment {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		all, err := h.st.ProfileEnrolments(context.Background(), []int64{profile})
		if err != nil {
			h.t.Fatal(err)
		}
		if len(all) > 0 && all[0].Status == status {
			return all[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("profile %d never reached %s", profile, status)
	return nil
}

func TestJourneysAPI(t *testing.T) {
	rec := &journey.Recorder{}
	h := newHarness(t, func(o *server.Options) { o.JourneySender = rec })
	code, resp := h.post("/api/v1/journeys", `{"id":"cart","name":"Cart","triggers":[{"event":"Product Added"}],
		"steps":[{"wait":{"until":"25:00"}}]}`)
	details, _ := resp["error"].(map[string]any)["details"].(map[string]any)
	if code != 400 || details["path"] != "steps[0].wait.until" {
		t.Fatalf("invalid journey: %d %v", code, resp)
	}
	def := `{"id":"cart","name":"Cart","triggers":[{"event":"Product Added"},{"api":true}],
		"exit_on":[{"event":"Order Completed"}],"goal":{"event":"Order Completed","within":"7d"},"steps":[{"send":{"channel":"email","template":"offer"}},{"wait":{"for":"1h"}},
		{"send":{"channel":"sms","template":"nudge"}}]}`
	if code, resp := h.post("/api/v1/journeys?dry_run=true", `{"journeys":[`+def+`]}`); code != 200 || resp["valid"] != true {
		t.Fatalf("dry run: %d %v", code, resp)
	}
	if code, resp := h.api("/api/v1/journeys"); code != 200 || len(resp["journeys"].([]any)) != 0 {
		t.Fatalf("a dry run saved: %v", resp)
	}
	seg := `{"id":"vip-entry","name":"VIP entry","triggers":[{"segment_entered":"vip"}],"steps":[{"exit":{}}]}`
	if code, resp := h.post("/api/v1/journeys?dry_run=true", seg); code != 400 {
		t.Fatalf("dry run naming an unknown segment: %d %v", code, resp)
	}
	if code, resp := h.post("/api/v1/journeys?dry_run=true&with_segments=vip", seg); code != 200 {
		t.Fatalf("dry run with the segment applied alongside: %d %v", code, resp)
	}
	code, resp = h.post("/api/v1/journeys", `{"journeys":[`+def+`]}`)
	if code != 200 || resp["journeys"].([]any)[0].(map[string]any)["version"] != float64(1) {
		t.Fatalf("save: %d %v", code, resp)
	}
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/track", `{"userId":"lea","event":"Product Added","timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	profile := h.profileOf("lea")
	en := h.waitEnrolment(profile, "active")
	deadline := time.Now().Add(10 * time.Second)
	for len(rec.Sent()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s := rec.Sent(); len(s) != 1 || s[0].Template != "offer" || s[0].Profile != profile || s[0].Enrolment != en.ID {
		t.Fatalf("sent %+v", s)
	}
	h.clock.Advance(time.Hour)
	h.waitEnrolment(profile, "completed")
	if s := rec.Sent(); len(s) != 2 || s[1].Template != "nudge" {
		t.Fatalf("after the hour: %+v", s)
	}
	// Through the API: again refused (re-entry once), unknown profile 404.
	code, resp = h.post("/api/v1/journeys/cart/enrol", `{"profile_id":`+strconv.FormatInt(profile, 10)+`}`)
	if code != 409 || resp["error"].(map[string]any)["code"] != "not_enrolled" {
		t.Fatalf("re-enrol: %d %v", code, resp)
	}
	if code, _ := h.post("/api/v1/journeys/cart/enrol", `{"profile_id":424242}`); code != 404 {
		t.Fatalf("unknown profile: %d", code)
	}
	// An order two days later, after the journey ended: a conversion.
	h.clock.Advance(48 * time.Hour)
	ts = h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/track", `{"userId":"lea","event":"Order Completed","timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		code, resp = h.api("/api/v1/journeys/cart/stats")
		if resp["converted"] == float64(1) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code != 200 || resp["entered"] != float64(1) || resp["handed"].(map[string]any)["email"] != float64(1) ||
		resp["converted"] != float64(1) || resp["conversion_rate"] != float64(1) {
		t.Fatalf("stats: %d %v", code, resp)
	}
	if code, _ := h.api("/api/v1/journeys/nope/stats"); code != 404 {
		t.Fatalf("stats of an unknown journey: %d", code)
	}
	code, resp = h.api("/api/v1/journeys/cart")
	if code != 200 || resp["enrolments"].(map[string]any)["completed"] != float64(1) || resp["status"] != "live" {
		t.Fatalf("get: %d %v", code, resp)
	}
	code, resp = h.post("/api/v1/journeys/cart/migrate", `{"from_version":1}`)
	if d, _ := resp["error"].(map[string]any)["details"].(map[string]any); code != 400 || d["path"] != "from_version" {
		t.Fatalf("migrate from the latest version: %d %v", code, resp)
	}
	if code, resp := h.post("/api/v1/journeys", strings.Replace(def, `"nudge"`, `"nudge-2"`, 1)); code != 200 {
		t.Fatalf("v2: %d %v", code, resp)
	}
	code, resp = h.post("/api/v1/journeys/cart/migrate", `{"from_version":1}`)
	if code != 200 || resp["to_version"] != float64(2) || resp["moved"] != float64(0) {
		t.Fatalf("migrate: %d %v", code, resp)
	}
	for _, action := range []string{"pause", "resume", "archive"} {
		if code, resp := h.post("/api/v1/journeys/cart/"+action, ``); code != 200 {
			t.Fatalf("%s: %d %v", action, code, resp)
		}
	}
	if code, resp := h.api("/api/v1/journeys"); code != 200 || len(resp["journeys"].([]any)) != 0 {
		t.Fatalf("archived journeys are listed: %v", resp)
	}
	if code, _ := h.post("/api/v1/journeys/nope/pause", ``); code != 404 {
		t.Fatalf("pause unknown: %d", code)
	}
}

func TestJourneyWithoutSenderGoesOn(t *testing.T) {
	h := newHarness(t)
	if code, resp := h.post("/api/v1/journeys", `{"id":"hello","name":"Hello","triggers":[{"event":"Signed Up"}],
		"steps":[{"send":{"channel":"email","template":"welcome"}}]}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/track", `{"userId":"max","event":"Signed Up","timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	h.waitEnrolment(h.profileOf("max"), "completed")
}

// profileOf waits for the profile of a user id.
func (h *harness) profileOf(user string) int64 {
	h.t.Helper()
	id := identity.Identifier{Kind: identity.UserID, Value: user}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		got, err := h.st.Holders(context.Background(), []identity.Identifier{id})
		if err != nil {
			h.t.Fatal(err)
		}
		if got[id] != 0 {
			return got[id]
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("no profile for %s", user)
	return 0
}

// TestJourneySendsThroughThePipeline: a sign-up enrols the customer, the
// journey's send step goes through the message pipeline (template,
// consent) to the email provider, with the journey's send key.
func TestJourneySendsThroughThePipeline(t *testing.T) {
	rec := messagetest.NewRecorder("smtp-test", provider.Email)
	h := newHarness(t, func(o *server.Options) {
		o.Providers = message.ProviderSet{provider.Email: {Provider: rec}}
		o.Messages.BaseURL = "https://shop.example"
	})
	if code, resp := h.post("/api/v1/templates", `{"id":"welcome","topic":"newsletter",
		"body":{"email":{"subject":"Bienvenue {{ profile.first_name }}","html":"<p>Bonjour {{ profile.first_name }}</p>"}}}`); code != 201 {
		t.Fatalf("template: %d %v", code, resp)
	}
	if code, resp := h.post("/api/v1/journeys", `{"id":"hello","name":"Hello","triggers":[{"event":"Signed Up"}],
		"steps":[{"send":{"channel":"email","template":"welcome"}}]}`); code != 200 {
		t.Fatalf("journey: %d %v", code, resp)
	}
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/batch", `{"batch":[
		{"type":"identify","userId":"max","traits":{"email":"max@example.fr","first_name":"Max","emailOptIn":true},"timestamp":"`+ts+`"},
		{"type":"track","userId":"max","event":"Signed Up","timestamp":"`+ts+`"}]}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(rec.Sent()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(rec.Sent()) == 0 {
		_, p := h.api("/api/v1/profiles?user_id=max")
		_, msgs := h.api("/api/v1/profiles/" + jsonNumber(p["id"]) + "/messages")
		_, st := h.api("/api/v1/journeys/hello/stats")
		t.Fatalf("nothing sent; messages %v; stats %v", msgs, st)
	}
	m := rec.Sent()[0]
	if m.To != "max@example.fr" || m.Subject != "Bienvenue Max" || !strings.HasPrefix(m.Key, "journey:hello:v1:") {
		t.Fatalf("sent %+v", m)
	}
}
