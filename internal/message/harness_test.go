package message_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// t0 is a Tuesday, 10:00 in Paris.
var t0 = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

type harness struct {
	t          *testing.T
	st         *sqlite.Store
	clock      *clock.Fake
	p          *message.Pipeline
	email, sms *messagetest.Recorder
	push, hook *messagetest.Recorder
}

func newHarness(t *testing.T, configure func(*message.Options)) *harness {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, clock: clock.NewFake(t0),
		email: messagetest.NewRecorder("fake-email", provider.Email), sms: messagetest.NewRecorder("fake-sms", provider.SMS),
		push: messagetest.NewRecorder("fake-push", provider.Push), hook: messagetest.NewRecorder("fake-hook", provider.Webhook)}
	o := message.Options{Clock: h.clock, Workers: 4, Poll: 20 * time.Millisecond, BaseURL: "https://crm.example",
		Secret: []byte("test-secret"), UnsubscribeMailto: "unsubscribe@crm.example", Backoff: time.Minute}
	if configure != nil {
		configure(&o)
	}
	providers := message.ProviderSet{
		provider.Email: {Provider: h.email}, provider.SMS: {Provider: h.sms},
		provider.Push: {Provider: h.push}, provider.Webhook: {Provider: h.hook},
	}
	h.p = message.New(st, collect.Direct{Appender: st}, providers, o)
	return h
}

// start runs the workers until the test ends.
func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.p.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("Run: %v", err)
		}
	})
}

// profile creates a profile with identifiers and traits.
func (h *harness) profile(id int64, traits map[string]any, ids ...identity.Identifier) {
	h.t.Helper()
	p := profile.New(id)
	p.Identifiers = ids
	for k, v := range traits {
		b, _ := json.Marshal(v)
		p.SetTrait(k, profile.Trait{Value: b, At: t0, SourceID: "web", MessageID: "m"})
	}
	b := &store.UnifyBatch{Consumer: "test", Checkpoint: 0, Profiles: []*profile.Profile{p}}
	for _, x := range ids {
		b.Links = append(b.Links, store.Link{Identifier: x, Profile: id})
	}
	if err := h.st.ApplyUnify(context.Background(), b); err != nil {
		h.t.Fatal(err)
	}
}

// customer creates profile id with a user id, an email and a phone, and
// marketing consent on email and sms.
func (h *harness) customer(id int64, traits map[string]any) {
	h.t.Helper()
	h.profile(id, traits, ident(identity.UserID, fmt.Sprint("u", id)), ident(identity.Email, fmt.Sprintf("c%d@example.com", id)),
		ident(identity.Phone, fmt.Sprintf("+336000000%02d", id)))
	h.consent(id, provider.Email, "", true)
	h.consent(id, provider.SMS, "", true)
}

func ident(k identity.Kind, v string) identity.Identifier {
	return identity.Identifier{Kind: k, Value: v}
}

func (h *harness) consent(id int64, ch provider.Channel, topic string, granted bool) {
	h.t.Helper()
	if _, err := h.p.RecordConsent(context.Background(), message.ConsentChange{ProfileID: id, Channel: ch, Topic: topic,
		Granted: granted, Source: "test"}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) send(r message.Request) *store.OutboxMessage {
	h.t.Helper()
	m, err := h.p.Send(context.Background(), r)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// wait polls the outbox until the message with key reaches status.
func (h *harness) wait(key, status string) *store.OutboxMessage {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := h.st.MessageByKey(context.Background(), key)
		if err == nil && m.Status == status {
			return m
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("message %s: %+v (err %v), want status %s", key, m, err, status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// events waits a moment for the announcer, then lists the events named.
func (h *harness) events(name string, want int) []*event.Event {
	h.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		es, err := h.st.ListEvents(context.Background(), store.EventQuery{Event: name, Limit: 1000, Ascending: true})
		if err != nil {
			h.t.Fatal(err)
		}
		if len(es) >= want || time.Now().After(deadline) {
			return es
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var smsHello = message.Request{Channel: provider.SMS, Topic: "offers",
	Content: &template.Template{SMS: &template.SMS{Body: "Bonjour {{ profile.first_name }} https://shop.example/soldes"}}}
