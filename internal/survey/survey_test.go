package survey_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlite"
	"github.com/parcours/parcours/internal/survey"
)

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

// sink keeps the events announced.
type sink struct {
	mu     sync.Mutex
	events []*event.Event
	fail   int // how many submissions to refuse
}

func (s *sink) Submit(_ context.Context, evs []*event.Event, _ []*event.Rejection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return errors.New("the log is closing")
	}
	s.events = append(s.events, evs...)
	return nil
}

// distinct counts the events named name by message id, as the log keeps
// them (it drops a message id it has).
func (s *sink) distinct(name string) int {
	ids := map[string]bool{}
	for _, e := range s.named(name) {
		ids[e.MessageID] = true
	}
	return len(ids)
}

func (s *sink) named(name string) []*event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*event.Event
	for _, e := range s.events {
		if e.Event == name {
			out = append(out, e)
		}
	}
	return out
}

type harness struct {
	st    *sqlite.Store
	clk   *clock.Fake
	msgs  *message.Pipeline
	sink  *sink
	svc   *survey.Service
	other *message.Pipeline // signs with another secret
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	h := &harness{st: st, clk: clock.NewFake(t0), sink: &sink{}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h.msgs = message.New(st, h.sink, nil, message.Options{Clock: h.clk, Logger: log, Secret: []byte("link-secret"), BaseURL: "https://crm.example"})
	h.other = message.New(st, h.sink, nil, message.Options{Clock: h.clk, Logger: log, Secret: []byte("another"), BaseURL: "https://crm.example"})
	h.svc = survey.New(st, h.msgs, survey.Options{Clock: h.clk, Logger: log, Emit: h.sink})
	defs, err := survey.ParseYAML("surveys.yaml", strings.NewReader(surveysYAML))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Save(ctx, defs); err != nil {
		t.Fatal(err)
	}
	return h
}

const surveysYAML = `
kind: survey
id: post-purchase-nps
type: nps
template: nps-invitation
language: fr
question:
  fr: "Recommanderiez-vous Maison Lumière à un proche ?"
  en: "How likely are you to recommend Maison Lumière to a friend?"
comment: {fr: "Pourquoi ?", en: "Why?"}
channels:
  sms: {fr: "De 0 à 10, recommanderiez-vous Maison Lumière ? Répondez par un chiffre."}
valid_for: 7d
detractor: {at_most: 6, store: store-paris-01, title: "NPS {{score}}/10 : rappeler"}
---
kind: survey
id: contact-csat
type: csat
question: {fr: "Êtes-vous satisfait(e) de notre réponse ?"}
detractor: {follow_up: none}
`

func (h *harness) prepare(t *testing.T, id string, profile int64, key string, c survey.Context) *survey.Invitation {
	t.Helper()
	inv, _, err := h.svc.Prepare(context.Background(), id, profile, key, c)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestDefinitionsValidate(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"id: x\ntype: ces\nquestion: {fr: q}", "type"},
		{"id: x\ntype: nps", "question"},
		{"id: X!\ntype: nps\nquestion: {fr: q}", "id"},
		{"id: x\ntype: nps\nquestion: {fr: q, en: q}", "language"},
		{"id: x\ntype: csat\nquestion: {fr: q}\ndetractor: {at_most: 5}", "detractor.at_most"},
		{"id: x\ntype: nps\nquestion: {fr: q}\nchannels: {fax: {fr: q}}", "channels.fax"},
		{"id: x\ntype: nps\nquestion: {fr: q}\nchannels: {sms: {de: q}}", "channels.sms.de"},
		{"id: x\ntype: nps\nquestion: {fr: q}\nvalid_for: -1h", "duration"}, {"id: x\ntype: nps\nquestion: {fr: q}\nvalid_for: 400d", "valid_for"},
		{"id: x\ntype: nps\nquestion: {fr: q}\nunknown: 1", "unknown"},
	} {
		_, err := survey.ParseYAML("f.yaml", strings.NewReader(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one naming %s", tc.yaml, err, tc.want)
		}
	}
	defs, err := survey.ParseYAML("f.yaml", strings.NewReader(surveysYAML))
	if err != nil || len(defs) != 2 || defs[1].Language != "fr" || defs[1].Threshold() != 2 || defs[0].Threshold() != 6 ||
		defs[0].Validity() != 7*24*time.Hour || defs[1].Validity() != survey.DefaultValidFor {
		t.Fatalf("defaults: %+v, %v", defs, err)
	}
}

func TestSaveKeepsVersions(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	defs, _ := survey.ParseYAML("f.yaml", strings.NewReader(surveysYAML))
	saved, err := h.svc.Save(ctx, defs)
	if err != nil || saved[0].Changed || saved[0].Version != 1 {
		t.Fatalf("saving the same again = %+v, %v; want unchanged, version 1", saved, err)
	}
	defs[0].Name = "NPS"
	if saved, err = h.svc.Save(ctx, defs[:1]); err != nil || !saved[0].Changed || saved[0].Version != 2 {
		t.Fatalf("saving a change = %+v, %v; want version 2", saved, err)
	}
	list, err := h.svc.List(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "contact-csat" || list[1].Name != "NPS" {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

// TestLinkTokens: one answer per token, expiry, forgery refused.
func TestLinkTokens(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	inv := h.prepare(t, "post-purchase-nps", 7, "k1", survey.Context{Store: "store-lyon-01", Channel: "email", Journey: "post-purchase-nps"})
	if !strings.HasPrefix(inv.URL, "https://crm.example/s/") || inv.Data["question"] != "Recommanderiez-vous Maison Lumière à un proche ?" {
		t.Fatalf("invitation = %+v", inv)
	}
	// The same key prepares the same send: the same link.
	if again := h.prepare(t, "post-purchase-nps", 7, "k1", survey.Context{}); again.Token != inv.Token || again.Send.StoreID != "store-lyon-01" {
		t.Fatalf("preparing again = %+v, want the first send's link", again)
	}
	page, err := h.svc.Open(ctx, inv.Token)
	if err != nil || page.Min != 0 || page.Max != 10 || page.Comment != "Pourquoi ?" {
		t.Fatalf("Open = %+v, %v", page, err)
	}

	t.Run("forged", func(t *testing.T) {
		forged := []string{
			h.other.SignSurvey("k1", t0.Add(time.Hour)),             // another secret
			inv.Token[:len(inv.Token)-2] + "AA",                     // altered signature
			strings.Replace(inv.Token, inv.Token[:4], "czE6", 1),    // altered payload
			h.msgs.SignSurvey("no-such-send", t0.Add(24*time.Hour)), // names no send
			"", "x", "a.b",
		}
		for _, tok := range forged {
			if _, err := h.svc.Open(ctx, tok); !errors.Is(err, survey.ErrBadLink) {
				t.Errorf("Open(%q) = %v, want ErrBadLink", tok, err)
			}
			if _, err := h.svc.AnswerLink(ctx, tok, 10, ""); !errors.Is(err, survey.ErrBadLink) {
				t.Errorf("AnswerLink(%q) = %v, want ErrBadLink", tok, err)
			}
		}
		// A token of another kind of link (unsubscribe, click) does not
		// verify as a survey's: kinds are signed.
		if _, _, err := h.msgs.VerifySurvey(inv.Token[:0] + "dWsxAA.AAAAAAAAAAAAAAAAAAAAAA"); err == nil {
			t.Error("an unsubscribe-shaped token verified as a survey's")
		}
	})

	t.Run("out of range", func(t *testing.T) {
		if _, err := h.svc.AnswerLink(ctx, inv.Token, 11, ""); err == nil || !strings.Contains(err.Error(), "score") {
			t.Fatalf("score 11 = %v, want refused", err)
		}
	})

	t.Run("one answer per token", func(t *testing.T) {
		x, err := h.svc.AnswerLink(ctx, inv.Token, 4, "  Livraison en retard  ")
		if err != nil || *x.Score != 4 || x.Comment != "Livraison en retard" || x.AnsweredVia != survey.ViaLink {
			t.Fatalf("AnswerLink = %+v, %v", x, err)
		}
		_, err = h.svc.AnswerLink(ctx, inv.Token, 10, "changed my mind")
		var done *survey.AlreadyAnswered
		if !errors.As(err, &done) || *done.Send.Score != 4 {
			t.Fatalf("a second answer = %v, want AlreadyAnswered keeping 4", err)
		}
		if _, err := h.svc.Open(ctx, inv.Token); !errors.As(err, &done) {
			t.Fatalf("Open after the answer = %v, want AlreadyAnswered", err)
		}
		if n := h.sink.distinct(survey.EventSurveyAnswered); n != 1 {
			t.Fatalf("%d Survey Answered events, want 1", n)
		}
	})

	t.Run("expired", func(t *testing.T) {
		inv := h.prepare(t, "post-purchase-nps", 8, "k2", survey.Context{})
		h.clk.Advance(7*24*time.Hour - time.Second)
		if _, err := h.svc.Open(ctx, inv.Token); err != nil {
			t.Fatalf("Open a second before expiry = %v", err)
		}
		h.clk.Advance(time.Second)
		if _, err := h.svc.Open(ctx, inv.Token); !errors.Is(err, survey.ErrExpired) {
			t.Fatalf("Open at expiry = %v, want ErrExpired", err)
		}
		if _, err := h.svc.AnswerLink(ctx, inv.Token, 9, ""); !errors.Is(err, survey.ErrExpired) {
			t.Fatalf("AnswerLink at expiry = %v, want ErrExpired", err)
		}
		// A token signed with a longer life than the send's is held to
		// the send's.
		long := h.msgs.SignSurvey(inv.Send.Key, t0.Add(365*24*time.Hour))
		if _, err := h.svc.Open(ctx, long); !errors.Is(err, survey.ErrExpired) {
			t.Fatalf("a token stretched past the send's expiry = %v, want ErrExpired", err)
		}
	})
}

func TestAnswerAnnouncesAndFollowsUp(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	inv := h.prepare(t, "post-purchase-nps", 7, "k1", survey.Context{Store: "store-lyon-01", Channel: "email", Journey: "post-purchase-nps", Agent: "ana"})
	h.clk.Advance(time.Hour)
	if _, err := h.svc.AnswerLink(ctx, inv.Token, 3, "trop long"); err != nil {
		t.Fatal(err)
	}
	evs := h.sink.named(survey.EventSurveyAnswered)
	if len(evs) != 1 {
		t.Fatalf("%d Survey Answered events", len(evs))
	}
	var p map[string]any
	_ = json.Unmarshal(evs[0].Properties, &p)
	if p["score"] != 3.0 || p["survey_type"] != "nps" || p["store_id"] != "store-lyon-01" || p["channel"] != "email" ||
		p["journey_id"] != "post-purchase-nps" || p["agent"] != "ana" || p["detractor"] != true || p["profileId"] != 7.0 ||
		!evs[0].Timestamp.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Survey Answered = %s at %s", evs[0].Properties, evs[0].Timestamp)
	}
	tasks, err := h.st.ListTasks(ctx, store.TaskQuery{StoreID: "store-lyon-01"})
	if err != nil || len(tasks) != 1 || tasks[0].Title != "NPS 3/10 : rappeler" || tasks[0].Note != "trop long" || tasks[0].ProfileID != 7 {
		t.Fatalf("follow-up tasks = %+v, %v", tasks, err)
	}
	if n := len(h.sink.named(survey.EventTaskCreated)); n != 1 {
		t.Fatalf("%d Task Created events", n)
	}
	// Announcing again (after a failure) makes nothing twice: the same
	// event ids, the same task.
	if err := h.svc.Reannounce(ctx, inv.Send.Key); err != nil {
		t.Fatal(err)
	}
	all := h.sink.named(survey.EventSurveyAnswered)
	if len(all) != 2 || all[0].MessageID != all[1].MessageID {
		t.Fatalf("announced again with another id: %v", all)
	}
	if tasks, _ := h.st.ListTasks(ctx, store.TaskQuery{}); len(tasks) != 1 {
		t.Fatalf("%d tasks after announcing again, want 1", len(tasks))
	}

	// A promoter opens nothing; a send that names no store falls back on
	// the survey's detractor.store; a survey with follow_up: none opens
	// nothing.
	h.answer(t, h.prepare(t, "post-purchase-nps", 8, "k2", survey.Context{Store: "store-lyon-01"}), 10)
	h.answer(t, h.prepare(t, "post-purchase-nps", 9, "k3", survey.Context{}), 0)
	h.answer(t, h.prepare(t, "contact-csat", 10, "k4", survey.Context{Store: "store-lyon-01"}), 1)
	tasks, _ = h.st.ListTasks(ctx, store.TaskQuery{})
	if len(tasks) != 2 || tasks[1].StoreID != "store-paris-01" || tasks[1].ProfileID != 9 {
		t.Fatalf("tasks = %+v; want the first and profile 9's at the fallback store", tasks)
	}
}

func (h *harness) answer(t *testing.T, inv *survey.Invitation, score int) {
	t.Helper()
	if _, err := h.svc.AnswerLink(context.Background(), inv.Token, score, ""); err != nil {
		t.Fatal(err)
	}
}

// hook is a follow-up that takes every detractor (a conversation).
type hook struct{ got []survey.Detraction }

func (k *hook) FollowUpDetractor(_ context.Context, a survey.Detraction) (bool, error) {
	k.got = append(k.got, a)
	return true, nil
}

func TestFollowUpHook(t *testing.T) {
	h := newHarness(t)
	k := &hook{}
	h.svc.OnDetractor(k)
	h.answer(t, h.prepare(t, "post-purchase-nps", 7, "k1", survey.Context{Store: "store-lyon-01", Conversation: "c-42"}), 2)
	if len(k.got) != 1 || k.got[0].Store != "store-lyon-01" || k.got[0].Send.ConversationID != "c-42" {
		t.Fatalf("hook got %+v", k.got)
	}
	if tasks, _ := h.st.ListTasks(context.Background(), store.TaskQuery{}); len(tasks) != 0 {
		t.Fatalf("a task was opened although the hook took the answer: %+v", tasks)
	}
}

func TestParseReply(t *testing.T) {
	for _, tc := range []struct {
		in      string
		score   int
		comment string
		ok      bool
	}{
		{"9", 9, "", true},
		{" 10 ", 10, "", true},
		{"9 !", 9, "", true},
		{"note: 8", 8, "", true},
		{"Note : 8", 8, "", true},
		{"10/10 parfait", 10, "parfait", true},
		{"7. Bien mais cher", 7, "Bien mais cher", true},
		{"0", 0, "", true},
		{"« 6 »", 6, "", true},
		{"12", 0, "", false},
		{"100", 0, "", false},
		{"bonjour", 0, "", false},
		{"", 0, "", false},
		{"je passe à 3h", 0, "", false},
		{"3 paires commandées le 12", 0, "", false},
		{"06 12 34 56 78", 0, "", false},
		{"9,5", 0, "", false},
	} {
		score, comment, ok := survey.ParseReply(tc.in)
		if ok != tc.ok || (ok && (score != tc.score || comment != tc.comment)) {
			t.Errorf("ParseReply(%q) = %d, %q, %v; want %d, %q, %v", tc.in, score, comment, ok, tc.score, tc.comment, tc.ok)
		}
	}
}

func TestTakeInbound(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	sms := h.prepare(t, "post-purchase-nps", 7, "k1", survey.Context{Channel: "sms", Store: "store-lyon-01"})
	if sms.Data["question"] != "De 0 à 10, recommanderiez-vous Maison Lumière ? Répondez par un chiffre." {
		t.Fatalf("the SMS variant of the question: %v", sms.Data["question"])
	}
	in := func(ch provider.Channel, body, reply string) message.Inbound {
		return message.Inbound{Channel: ch, From: "+33611223344", Body: body, ReplyID: reply, ID: "m-" + body, At: h.clk.Now()}
	}
	for _, tc := range []struct {
		name     string
		in       message.Inbound
		profiles []int64
	}{
		{"not a score", in(provider.SMS, "Bonjour, ma commande ?", ""), []int64{7}},
		{"unknown sender", in(provider.SMS, "9", ""), nil},
		{"no survey pending on WhatsApp", in(provider.WhatsApp, "9", ""), []int64{7}},
		{"someone else", in(provider.SMS, "9", ""), []int64{8}},
	} {
		if took, err := h.svc.TakeInbound(ctx, tc.in, tc.profiles); took || err != nil {
			t.Errorf("%s: took %v, %v; want it left to the next handler", tc.name, took, err)
		}
	}
	if took, err := h.svc.TakeInbound(ctx, in(provider.SMS, "note: 9 !", ""), []int64{3, 7}); !took || err != nil {
		t.Fatalf("a score reply: took %v, %v", took, err)
	}
	x, err := h.st.SurveySend(ctx, sms.Send.Key)
	if err != nil || x.Score == nil || *x.Score != 9 || x.AnsweredVia != survey.ViaSMS {
		t.Fatalf("after the reply: %+v, %v", x, err)
	}
	// The provider delivers the callback again: taken, not answered twice,
	// not passed on to customer service.
	if took, err := h.svc.TakeInbound(ctx, in(provider.SMS, "note: 9 !", ""), []int64{7}); !took || err != nil {
		t.Fatalf("the same reply again: took %v, %v", took, err)
	}
	if n := h.sink.distinct(survey.EventSurveyAnswered); n != 1 {
		t.Fatalf("%d answers announced, want 1", n)
	}
	// Another number later, with nothing pending: for customer service.
	h.clk.Advance(time.Hour)
	if took, _ := h.svc.TakeInbound(ctx, in(provider.SMS, "8", ""), []int64{7}); took {
		t.Fatal("a score with no survey pending was taken")
	}

	// A CSAT survey by WhatsApp answered by a quick reply button.
	wa := h.prepare(t, "contact-csat", 7, "k2", survey.Context{Channel: "whatsapp"})
	if took, _ := h.svc.TakeInbound(ctx, in(provider.WhatsApp, "0", ""), []int64{7}); took {
		t.Fatal("0 taken as a CSAT answer (1 to 5)")
	}
	if took, err := h.svc.TakeInbound(ctx, in(provider.WhatsApp, "Très satisfait", survey.ReplyPrefix+"5"), []int64{7}); !took || err != nil {
		t.Fatalf("a quick reply: took %v, %v", took, err)
	}
	if x, _ := h.st.SurveySend(ctx, wa.Send.Key); x.Score == nil || *x.Score != 5 || x.AnsweredVia != survey.ViaWhatsApp {
		t.Fatalf("after the quick reply: %+v", x)
	}
	// Expired: left to customer service.
	h.prepare(t, "post-purchase-nps", 7, "k3", survey.Context{Channel: "sms"})
	h.clk.Advance(8 * 24 * time.Hour)
	if took, _ := h.svc.TakeInbound(ctx, message.Inbound{Channel: provider.SMS, Body: "9", At: h.clk.Now()}, []int64{7}); took {
		t.Fatal("a reply to an expired survey was taken")
	}
}

// TestAnnounceFailureIsRetried: an answer stored whose announcement
// failed is announced by the repeat that follows (the customer sending
// the page again, the provider retrying its callback), once.
func TestAnnounceFailureIsRetried(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	link := h.prepare(t, "post-purchase-nps", 7, "k1", survey.Context{Store: "store-lyon-01"})
	h.sink.fail = 1
	if x, err := h.svc.AnswerLink(ctx, link.Token, 2, ""); err == nil || x == nil || *x.Score != 2 {
		t.Fatalf("AnswerLink with the log refusing = %+v, %v; want the answer stored and the error", x, err)
	}
	if n := h.sink.distinct(survey.EventSurveyAnswered); n != 0 {
		t.Fatalf("%d announced", n)
	}
	var done *survey.AlreadyAnswered
	if _, err := h.svc.AnswerLink(ctx, link.Token, 2, ""); !errors.As(err, &done) {
		t.Fatalf("sending again = %v, want AlreadyAnswered", err)
	}
	if n := h.sink.distinct(survey.EventSurveyAnswered); n != 1 {
		t.Fatalf("after the repeat: %d announced, want 1", n)
	}
	if tasks, _ := h.st.ListTasks(ctx, store.TaskQuery{}); len(tasks) != 1 {
		t.Fatalf("%d tasks, want 1", len(tasks))
	}

	// By SMS: the callback fails (503), the provider's retry announces.
	h.prepare(t, "post-purchase-nps", 8, "k2", survey.Context{Channel: "sms"})
	in := message.Inbound{Channel: provider.SMS, From: "+33611223344", Body: "10", ID: "SM-9", At: h.clk.Now()}
	h.sink.fail = 1
	if took, err := h.svc.TakeInbound(ctx, in, []int64{8}); err == nil {
		t.Fatalf("TakeInbound with the log refusing: took %v, no error", took)
	}
	h.clk.Advance(time.Minute)
	if took, err := h.svc.TakeInbound(ctx, in, []int64{8}); !took || err != nil {
		t.Fatalf("the retry: took %v, %v", took, err)
	}
	if n := h.sink.distinct(survey.EventSurveyAnswered); n != 2 {
		t.Fatalf("after the retry: %d announced, want 2", n)
	}
}

// FuzzParseReply: whatever a customer texts, a reply read as a score is
// one from 0 to 10 and its comment holds no digit.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"9", "note: 8", "10/10 parfait", "je passe à 3h", "« 6 »", "06 12 34 56 78", "9,5", "\x00 9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		score, comment, ok := survey.ParseReply(s)
		if ok && (score < 0 || score > 10 || strings.ContainsAny(comment, "0123456789")) {
			t.Fatalf("ParseReply(%q) = %d, %q", s, score, comment)
		}
	})
}
