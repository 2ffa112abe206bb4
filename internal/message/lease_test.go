package message_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/store"
)

// idempotentRecorder is a recording provider whose receiving end drops
// repeated keys, as the webhook contract asks.
type idempotentRecorder struct{ *messagetest.Recorder }

func (idempotentRecorder) HonoursIdempotencyKey() bool { return true }

// leaseHarness is a harness whose pipeline runs as node "node-1", with an
// SMS provider that honours no idempotency key and a webhook one that does.
func leaseHarness(t *testing.T) *harness {
	h := newHarness(t, nil)
	h.p = message.New(h.st, nil, message.ProviderSet{
		provider.SMS:     {Provider: h.sms},
		provider.Webhook: {Provider: idempotentRecorder{h.hook}},
	}, message.Options{Clock: h.clock, Workers: 4, Poll: 10 * time.Millisecond, Lease: 2 * time.Minute, Node: "node-1",
		Secret: []byte("test-secret")})
	return h
}

// crashedRun leases the messages of keys to node under token, as a run
// killed mid-send leaves them, and marks those of called as handed to the
// provider.
func crashedRun(t *testing.T, h *harness, node, token string, keys []string, called map[string]bool) {
	t.Helper()
	ctx := context.Background()
	claimed, err := h.st.ClaimMessages(ctx, node, token, h.clock.Now(), 2*time.Minute, 100)
	if err != nil || len(claimed) != len(keys) {
		t.Fatalf("claim by %s: %d messages, %v; want %d", node, len(claimed), err, len(keys))
	}
	var marks []store.MessageUpdate
	for _, m := range claimed {
		if called[strings.TrimPrefix(m.SendKey, "api:")] {
			marks = append(marks, store.MessageUpdate{ID: m.ID, LeaseToken: token, Calling: true, At: h.clock.Now()})
		}
	}
	if n, err := h.st.FinishMessages(ctx, marks); err != nil || n != len(marks) {
		t.Fatalf("calling marks: %d applied, %v", n, err)
	}
}

// TestRestartedNodeTakesBackItsLeasesAtOnce: a node killed mid-send left
// messages leased for 2 minutes. Restarted, it does not wait for them: a
// message its provider never saw goes at once; one whose call was in
// flight goes again if the provider drops repeats or the message is
// transactional, and fails as "outcome unknown" if it is marketing on a
// provider that would deliver it twice. Another node's leases are not
// touched until they expire. The fake clock never moves until the last
// step: without the take-back nothing would be sent.
func TestRestartedNodeTakesBackItsLeasesAtOnce(t *testing.T) {
	h := leaseHarness(t)
	for id := int64(1); id <= 5; id++ {
		h.customer(id, nil)
	}
	send := func(profile int64, key string, ch provider.Channel, topic string) {
		r := smsHello
		r.ProfileID, r.Key, r.Channel, r.Topic = profile, key, ch, topic
		if ch == provider.Webhook {
			r.Content = &template.Template{Webhook: &template.Webhook{Payload: `{"order":"A-1"}`}}
		}
		if m := h.send(r); m.Status != store.MessageQueued {
			t.Fatalf("%s: %s (%s)", key, m.Status, m.Reason)
		}
	}
	send(1, "never-called", provider.SMS, "offers")
	send(2, "in-flight-idempotent", provider.Webhook, "offers")
	send(3, "in-flight-receipt", provider.SMS, "order_updates")
	send(4, "in-flight-promo", provider.SMS, "offers")
	crashedRun(t, h, "node-1", "dead-run", []string{"never-called", "in-flight-idempotent", "in-flight-receipt", "in-flight-promo"},
		map[string]bool{"in-flight-idempotent": true, "in-flight-receipt": true, "in-flight-promo": true})
	send(5, "other-node", provider.SMS, "offers")
	crashedRun(t, h, "node-2", "live-run", []string{"other-node"}, nil)

	h.start()
	m := h.wait("api:never-called", store.MessageSent)
	if m.Attempts != 1 {
		t.Fatalf("never-called: attempts %d, want 1 (the dead run's attempt never reached the provider)", m.Attempts)
	}
	for _, k := range []string{"in-flight-idempotent", "in-flight-receipt"} {
		if m := h.wait("api:"+k, store.MessageSent); m.Attempts != 2 {
			t.Fatalf("%s: attempts %d, want 2 (the dead run's call, then this one)", k, m.Attempts)
		}
	}
	promo := h.wait("api:in-flight-promo", store.MessageFailed)
	if !strings.HasPrefix(promo.Reason, "outcome unknown: ") || !strings.Contains(promo.Reason, "fake-sms") {
		t.Fatalf("in-flight-promo: reason %q, want outcome unknown naming fake-sms", promo.Reason)
	}
	if h.sms.Tries("api:in-flight-promo") != 0 {
		t.Fatal("a marketing message in doubt was sent again on a provider without idempotency key")
	}
	// node-2 is alive as far as this node knows: its lease holds.
	time.Sleep(50 * time.Millisecond)
	if other, _ := h.st.MessageByKey(context.Background(), "api:other-node"); other.Status != store.MessageSending || h.sms.Tries("api:other-node") != 0 {
		t.Fatalf("another node's lease was taken: %s, %d tries", other.Status, h.sms.Tries("api:other-node"))
	}
	h.clock.Advance(3 * time.Minute)
	h.wait("api:other-node", store.MessageSent)
	if left, _ := h.st.LeasedBy(context.Background(), "node-1"); len(left) != 0 {
		t.Fatalf("node-1 still holds %d leases", len(left))
	}
}

// TestCallMarkedDurablyBeforeTheProvider: when the provider is called,
// the outbox already says that this attempt's call began (what a restart
// reads to tell "never sent" from "in doubt"); once the outcome is
// recorded the mark is gone.
func TestCallMarkedDurablyBeforeTheProvider(t *testing.T) {
	h := leaseHarness(t)
	h.customer(1, nil)
	seen := make(chan *store.OutboxMessage, 1)
	h.sms.Fail = func(m *provider.Message, attempt int) error {
		row, err := h.st.MessageByKey(context.Background(), m.Key)
		if err != nil {
			return err
		}
		seen <- row
		return nil
	}
	r := smsHello
	r.ProfileID, r.Key = 1, "marked"
	h.send(r)
	h.start()
	sent := h.wait("api:marked", store.MessageSent)
	var during *store.OutboxMessage
	select {
	case during = <-seen:
	default:
		t.Fatal("the provider was not called")
	}
	if during.Status != store.MessageSending || during.CalledAt.IsZero() || during.LeaseNode != "node-1" {
		t.Fatalf("during the call the row says %s, node %q, called at %v; want sending, node-1, a call time",
			during.Status, during.LeaseNode, during.CalledAt)
	}
	if !sent.CalledAt.IsZero() || sent.LeaseNode != "" {
		t.Fatalf("after the outcome: node %q, called at %v; want both cleared", sent.LeaseNode, sent.CalledAt)
	}
}

// TestLeasesOnPostgres runs the take-back scenarios on PostgreSQL.
func TestLeasesOnPostgres(t *testing.T) {
	if os.Getenv("PARCOURS_TEST_POSTGRES_URL") == "" {
		t.Skip("PARCOURS_TEST_POSTGRES_URL not set")
	}
	onPostgres = true
	defer func() { onPostgres = false }()
	t.Run("TakeBack", TestRestartedNodeTakesBackItsLeasesAtOnce)
	t.Run("CallMarked", TestCallMarkedDurablyBeforeTheProvider)
}
