package message_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
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
	"github.com/parcours/parcours/internal/store/postgres"
	"github.com/parcours/parcours/internal/store/sqlite"

	"github.com/jackc/pgx/v5"
)

// t0 is a Tuesday, 10:00 in Paris.
var t0 = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

type harness struct {
	t          *testing.T
	st         store.Store
	clock      *clock.Fake
	p          *message.Pipeline
	email, sms *messagetest.Recorder
	push, hook *messagetest.Recorder
}

func newHarness(t *testing.T, configure func(*message.Options)) *harness {
	t.Helper()
	st := openStore(t)
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

// onPostgres makes newHarness use PostgreSQL (see TestPipelineOnPostgres).
var onPostgres bool

// openStore opens a fresh migrated store: SQLite, or PostgreSQL on a
// schema of its own when onPostgres.
func openStore(t *testing.T) store.Store {
	t.Helper()
	ctx := context.Background()
	var st store.Store
	if onPostgres {
		pg, err := postgres.Open(ctx, pgDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		st = pg
	} else {
		lite, err := sqlite.Open(ctx, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		st = lite
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// pgDSN creates a schema of its own, dropped when t ends, and returns a
// connection string that uses it.
func pgDSN(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	base := os.Getenv("PARCOURS_TEST_POSTGRES_URL")
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	schema := "t_" + strings.ToLower(rand.Text())
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestPipelineOnPostgres runs the pipeline's scenarios on PostgreSQL.
func TestPipelineOnPostgres(t *testing.T) {
	if os.Getenv("PARCOURS_TEST_POSTGRES_URL") == "" {
		t.Skip("PARCOURS_TEST_POSTGRES_URL not set")
	}
	onPostgres = true
	defer func() { onPostgres = false }()
	for name, fn := range map[string]func(*testing.T){
		"SendOnceByKey": TestSendOnceByKey, "Retries": TestRetriesWithBackoffThenFails, "Bounce": TestBounceSuppressesAddress,
		"CrashedClaims": TestCrashedWorkersClaimsComeBack, "TrackingAndUnsubscribe": TestEmailTrackingAndOneClickUnsubscribe,
		"Receipts": TestReceiptsAndSuppression, "StopAndTraits": TestStopKeywordsAndConsentFromTraits, "Caps": TestFrequencyCaps,
		"QuietHours": TestQuietHoursAcrossDST, "Best": TestBestChannel, "DoubleOptIn": TestDoubleOptIn,
		"Stop": TestStopMeansStopOnItsChannel, "NoUnsubscribeURL": TestNoMarketingEmailWithoutUnsubscribeLink,
		"OrderAndStore": TestTemplatesGetTheOrderAndItsStore, "ProviderErrorText": TestProviderErrorTextIsRecorded, "BounceReason": TestBounceReasonIsRecorded,
		"Batch": TestSendBatchDecidesAsSendOneByOne, "ClaimedBatchChecks": TestClaimedBatchCheckedAtDelivery,
	} {
		t.Run(name, fn)
	}
}
