package conversation_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/conversation"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlite"
)

var t0 = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

// testStore is a real SQLite store whose identity holders are set by the
// test (unify is not running).
type testStore struct {
	*sqlite.Store
	holders map[identity.Identifier]int64
}

func (s *testStore) Holders(_ context.Context, ids []identity.Identifier) (map[identity.Identifier]int64, error) {
	out := map[identity.Identifier]int64{}
	for _, id := range ids {
		if p, ok := s.holders[id]; ok {
			out[id] = p
		}
	}
	return out, nil
}

// fakeSender records the replies, as the message pipeline would queue
// them.
type fakeSender struct {
	mu   sync.Mutex
	sent []sent
	// status is what the pipeline decides (queued; skipped for a STOP).
	status, reason string
}

type sent struct {
	r       message.Request
	to      string
	headers map[string]string
}

func (f *fakeSender) SendService(_ context.Context, r message.Request, to string, headers map[string]string) (*store.OutboxMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key, _ := r.SendKey()
	for i, s := range f.sent {
		if k, _ := s.r.SendKey(); k == key {
			return &store.OutboxMessage{ID: int64(i + 1), SendKey: key, Status: f.status}, nil
		}
	}
	f.sent = append(f.sent, sent{r, to, headers})
	st := f.status
	if st == "" {
		st = store.MessageQueued
	}
	return &store.OutboxMessage{ID: int64(len(f.sent)), SendKey: key, Status: st, Reason: f.reason, Channel: string(r.Channel)}, nil
}

// sink keeps the events.
type sink struct {
	mu  sync.Mutex
	evs []*event.Event
}

func (s *sink) Submit(_ context.Context, evs []*event.Event, _ []*event.Rejection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evs = append(s.evs, evs...)
	return nil
}

func (s *sink) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The log drops a repeated message id: so do the names.
	var out []string
	seen := map[string]bool{}
	for _, e := range s.evs {
		if !seen[e.MessageID] {
			seen[e.MessageID] = true
			out = append(out, e.Event)
		}
	}
	return out
}

func (s *sink) ids() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, e := range s.evs {
		out[e.MessageID]++
	}
	return out
}

type world struct {
	t    testing.TB
	st   *testStore
	clk  *clock.Fake
	send *fakeSender
	sink *sink
	svc  *conversation.Service
	n    int
}

func newWorld(t testing.TB) *world {
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
	w := &world{t: t, st: &testStore{Store: st, holders: map[identity.Identifier]int64{}}, clk: clock.NewFake(t0), send: &fakeSender{}, sink: &sink{}}
	w.svc = conversation.New(w.st, w.send, w.sink, conversation.Options{Clock: w.clk, Secret: []byte("test-secret"),
		ReplyDomain: "reply.shop.example", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return w
}

// customer makes profile id hold an email and a phone number.
func (w *world) customer(id int64, email, phone string) {
	w.st.holders[identity.Identifier{Kind: identity.Email, Value: email}] = id
	w.st.holders[identity.Identifier{Kind: identity.Phone, Value: phone}] = id
}

func (w *world) text(ch, from, body string, profiles ...int64) {
	w.t.Helper()
	w.n++
	in := message.Inbound{Channel: providerChannel(ch), From: from, Body: body, ID: "SM" + strconv.Itoa(w.n), Provider: "twilio", At: w.clk.Now()}
	took, err := w.svc.TakeInbound(context.Background(), in, profiles)
	if err != nil || !took {
		w.t.Fatalf("TakeInbound(%s %q) = %v, %v", ch, body, took, err)
	}
}

func (w *world) show(id int64) *conversation.View {
	w.t.Helper()
	v, err := w.svc.Show(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return v
}

func (w *world) only(profile int64) *store.Conversation {
	w.t.Helper()
	cs, err := w.svc.List(context.Background(), store.ConversationQuery{ProfileID: profile})
	if err != nil || len(cs) != 1 {
		w.t.Fatalf("conversations of profile %d = %+v, %v; want one", profile, cs, err)
	}
	return cs[0]
}

func isCode(err error, code string) bool {
	var e *conversation.Error
	return errors.As(err, &e) && e.Code == code
}
