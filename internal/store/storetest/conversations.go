package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/store"
)

// runConversations runs the tests of the customer service conversations.
func runConversations(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"OnePerCustomerWhileActive", testConversationOnePerCustomer},
		{"UpdateAtVersion", testConversationUpdate},
		{"MessagesIdempotentByKey", testConversationMessages},
		{"ListFiltersAndSearch", testConversationList},
		{"MergeMovesMessages", testConversationMerge},
		{"DueSLAs", testConversationSLAs},
		{"RoundRobin", testConversationRoundRobin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func newConversation(profile int64, contact string) *store.Conversation {
	return &store.Conversation{ProfileID: profile, Contact: contact, Status: store.ConversationOpen, Priority: "normal",
		Channel: "sms", CreatedAt: t0, UpdatedAt: t0, LastMessageAt: t0}
}

func testConversationOnePerCustomer(t *testing.T, s store.Store) {
	ctx := context.Background()
	// Racing openers of one customer get one conversation.
	var wg sync.WaitGroup
	ids := make([]int64, 8)
	created := make([]bool, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newConversation(7, "")
			created[i], errs[i] = s.OpenConversation(ctx, c)
			ids[i] = c.ID
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range ids {
		if ids[i] != ids[0] {
			t.Fatalf("racing openers got conversations %v; want one", ids)
		}
		if created[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d openers say they created it; want 1", n)
	}
	c, err := s.Conversation(ctx, ids[0])
	if err != nil || c.ProfileID != 7 || c.Status != store.ConversationOpen || c.Tags == nil || c.Breaches == nil ||
		!c.CreatedAt.Equal(t0) || !c.LastMessageAt.Equal(t0) || c.Version != 1 {
		t.Fatalf("Conversation = %+v, %v", c, err)
	}
	// An unknown sender has their own; so has another customer.
	other := newConversation(0, "+33612345678")
	if created, err := s.OpenConversation(ctx, other); err != nil || !created || other.ID == c.ID || other.Contact != "+33612345678" {
		t.Fatalf("OpenConversation(unknown) = %v, %+v, %v", created, other, err)
	}
	// Resolved, the customer's next message opens a new one.
	c.Status, c.ResolvedAt, c.UpdatedAt = store.ConversationResolved, t0.Add(time.Hour), t0.Add(time.Hour)
	if err := s.UpdateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	next := newConversation(7, "")
	if created, err := s.OpenConversation(ctx, next); err != nil || !created || next.ID == c.ID {
		t.Fatalf("OpenConversation after resolution = %v, %+v, %v; want a new one", created, next, err)
	}
	// Reopening the resolved one now would make two active ones.
	c.Status = store.ConversationOpen
	if err := s.UpdateConversation(ctx, c); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("reopening beside an active conversation: %v; want ErrConflict", err)
	}
	if _, err := s.Conversation(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Conversation(missing) = %v; want ErrNotFound", err)
	}
}

func testConversationUpdate(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := newConversation(1, "")
	if _, err := s.OpenConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	stale := *c
	c.Status, c.Team, c.StoreID, c.Assignee, c.Tags, c.Priority = store.ConversationPending, "care", "paris-02", "ana@example.com", []string{"vip", "returns"}, "high"
	c.FirstResponseAt, c.FirstResponseDue, c.ResolutionDue, c.Breaches = t0.Add(time.Minute), time.Time{}, t0.Add(24*time.Hour), []string{"first_response"}
	c.UpdatedAt = t0.Add(time.Minute)
	if err := s.UpdateConversation(ctx, c); err != nil || c.Version != 2 {
		t.Fatalf("UpdateConversation = %v, version %d", err, c.Version)
	}
	got, err := s.Conversation(ctx, c.ID)
	if err != nil || got.Status != store.ConversationPending || got.Team != "care" || got.StoreID != "paris-02" || got.Assignee != "ana@example.com" ||
		!slices.Equal(got.Tags, []string{"vip", "returns"}) || got.Priority != "high" || !got.FirstResponseAt.Equal(t0.Add(time.Minute)) ||
		!got.FirstResponseDue.IsZero() || !got.ResolutionDue.Equal(t0.Add(24*time.Hour)) || !slices.Equal(got.Breaches, []string{"first_response"}) ||
		got.Version != 2 {
		t.Fatalf("after update: %+v, %v", got, err)
	}
	stale.Status = store.ConversationResolved
	if err := s.UpdateConversation(ctx, &stale); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("update at a stale version: %v; want ErrConflict", err)
	}
	missing := *c
	missing.ID = 999999
	if err := s.UpdateConversation(ctx, &missing); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing conversation: %v; want ErrNotFound", err)
	}
}

func testConversationMessages(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := newConversation(3, "")
	if _, err := s.OpenConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	m := &store.ConversationMessage{ConversationID: c.ID, ProfileID: 3, Key: "sms:SM1", Channel: "sms", Direction: store.DirectionInbound,
		Author: "+33612345678", Body: "Où est ma commande ?", Status: "received", Provider: "twilio", ProviderID: "SM1", CreatedAt: t0}
	if created, err := s.AddConversationMessage(ctx, m); err != nil || !created || m.ID == 0 {
		t.Fatalf("AddConversationMessage = %v, %+v, %v", created, m, err)
	}
	again := &store.ConversationMessage{ConversationID: c.ID, ProfileID: 3, Key: "sms:SM1", Channel: "sms", Direction: store.DirectionInbound,
		Body: "changed", CreatedAt: t0.Add(time.Hour)}
	if created, err := s.AddConversationMessage(ctx, again); err != nil || created || again.ID != m.ID || again.Body != "Où est ma commande ?" {
		t.Fatalf("adding a key twice = %v, %+v, %v; want the first", created, again, err)
	}
	reply := &store.ConversationMessage{ConversationID: c.ID, ProfileID: 3, Key: "reply:1", Channel: "email", Direction: store.DirectionOutbound,
		Author: "ana@example.com", Subject: "Votre commande", Body: "Elle part demain.", Status: "queued", OutboxID: 42,
		Thread: "abc@mail.example.com", CreatedAt: t0.Add(time.Minute)}
	note := &store.ConversationMessage{ConversationID: c.ID, Key: "note:1", Channel: "phone_note", Direction: store.DirectionNote,
		Author: "ana@example.com", Body: "Appelée", Internal: true, CreatedAt: t0.Add(2 * time.Minute)}
	for _, x := range []*store.ConversationMessage{reply, note} {
		if _, err := s.AddConversationMessage(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetConversationMessageStatus(ctx, reply.Key, 0, "delivered", "<abc@mail.example.com>"); err != nil {
		t.Fatal(err)
	}
	// A late "sent" does not undo "delivered".
	if err := s.SetConversationMessageStatus(ctx, reply.Key, 0, "sent", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.SetConversationMessageStatus(ctx, "nope", 7, "delivered", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("status of a missing message: %v; want ErrNotFound", err)
	}
	ms, err := s.ConversationMessages(ctx, c.ID)
	if err != nil || len(ms) != 3 || ms[0].ID != m.ID || ms[1].Status != "delivered" || ms[1].ProviderID != "<abc@mail.example.com>" ||
		ms[1].OutboxID != 42 || ms[1].Subject != "Votre commande" || !ms[2].Internal || ms[2].Direction != store.DirectionNote ||
		!ms[0].CreatedAt.Equal(t0) || ms[0].Provider != "twilio" {
		t.Fatalf("ConversationMessages = %+v, %v", ms, err)
	}
	if got, err := s.ConversationMessageByThread(ctx, "abc@mail.example.com"); err != nil || got.ID != reply.ID {
		t.Fatalf("ConversationMessageByThread = %+v, %v", got, err)
	}
	if _, err := s.ConversationMessageByThread(ctx, "nope@x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ConversationMessageByThread(unknown) = %v; want ErrNotFound", err)
	}
	if at, err := s.LastInbound(ctx, 3, "sms"); err != nil || !at.Equal(t0) {
		t.Fatalf("LastInbound(sms) = %v, %v; want %v", at, err, t0)
	}
	if at, err := s.LastInbound(ctx, 3, "whatsapp"); err != nil || !at.IsZero() {
		t.Fatalf("LastInbound(whatsapp) = %v, %v; want zero", at, err)
	}
}

func testConversationList(t *testing.T, s store.Store) {
	ctx := context.Background()
	mk := func(profile int64, team, storeID, assignee, priority string, tags []string, body string) *store.Conversation {
		c := newConversation(profile, "")
		if _, err := s.OpenConversation(ctx, c); err != nil {
			t.Fatal(err)
		}
		c.Team, c.StoreID, c.Assignee, c.Priority, c.Tags = team, storeID, assignee, priority, tags
		if err := s.UpdateConversation(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddConversationMessage(ctx, &store.ConversationMessage{ConversationID: c.ID, ProfileID: profile,
			Key: "k" + body, Channel: "sms", Direction: store.DirectionInbound, Body: body, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := mk(1, "care", "", "", "normal", nil, "Where is my ORDER 100%?")
	b := mk(2, "", "paris-02", "léa", "high", []string{"vip"}, "Taille 42 dispo ?")
	c := mk(3, "care", "", "ana", "normal", []string{"vipish"}, "refund_please")
	c.Status = store.ConversationResolved
	if err := s.UpdateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	ids := func(q store.ConversationQuery) []int64 {
		t.Helper()
		l, err := s.ListConversations(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, x := range l {
			out = append(out, x.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    store.ConversationQuery
		want []int64
	}{
		{"all", store.ConversationQuery{}, []int64{a.ID, b.ID, c.ID}},
		{"active", store.ConversationQuery{Status: "active"}, []int64{a.ID, b.ID}},
		{"resolved", store.ConversationQuery{Status: store.ConversationResolved}, []int64{c.ID}},
		{"team", store.ConversationQuery{Team: "care"}, []int64{a.ID, c.ID}},
		{"store", store.ConversationQuery{StoreID: "paris-02"}, []int64{b.ID}},
		{"unassigned", store.ConversationQuery{Assignee: "-"}, []int64{a.ID}},
		{"assignee", store.ConversationQuery{Assignee: "léa"}, []int64{b.ID}},
		{"profile", store.ConversationQuery{ProfileID: 3}, []int64{c.ID}},
		{"contact", store.ConversationQuery{Contact: "+33600000000"}, nil},
		{"tag is whole", store.ConversationQuery{Tag: "vip"}, []int64{b.ID}},
		{"priority", store.ConversationQuery{Priority: "high"}, []int64{b.ID}},
		{"text any case", store.ConversationQuery{Text: "order"}, []int64{a.ID}},
		{"text percent is literal", store.ConversationQuery{Text: "100%"}, []int64{a.ID}},
		{"text underscore is literal", store.ConversationQuery{Text: "W_ere"}, nil},
		{"text with underscore", store.ConversationQuery{Text: "d_p"}, []int64{c.ID}},
		{"after and limit", store.ConversationQuery{After: a.ID, Limit: 1}, []int64{b.ID}},
	} {
		if got := ids(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v; want %v", tc.name, got, tc.want)
		}
	}
}

func testConversationMerge(t *testing.T, s store.Store) {
	ctx := context.Background()
	from, into := newConversation(1, ""), newConversation(2, "")
	for _, c := range []*store.Conversation{from, into} {
		if _, err := s.OpenConversation(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddConversationMessage(ctx, &store.ConversationMessage{ConversationID: c.ID, Key: "m" + string(rune('0'+c.ProfileID)),
			Channel: "sms", Direction: store.DirectionInbound, Body: "hi", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MergeConversations(ctx, from.ID, into.ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ms, err := s.ConversationMessages(ctx, into.ID); err != nil || len(ms) != 2 {
		t.Fatalf("messages after merge = %d, %v; want 2", len(ms), err)
	}
	got, err := s.Conversation(ctx, from.ID)
	if err != nil || got.Status != store.ConversationResolved || got.MergedInto != into.ID || !got.ResolvedAt.Equal(t0.Add(time.Hour)) || got.Version != 2 {
		t.Fatalf("merged conversation = %+v, %v", got, err)
	}
	if err := s.MergeConversations(ctx, 999999, into.ID, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("merging a missing conversation: %v; want ErrNotFound", err)
	}
}

func testConversationSLAs(t *testing.T, s store.Store) {
	ctx := context.Background()
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	var cs []*store.Conversation
	for i, due := range [][2]int{{30, 600}, {0, 20}, {90, 900}} {
		c := newConversation(int64(i+1), "")
		if due[0] > 0 {
			c.FirstResponseDue = at(due[0])
		}
		c.ResolutionDue = at(due[1])
		if _, err := s.OpenConversation(ctx, c); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	got, err := s.DueConversationSLAs(ctx, at(60), 10)
	if err != nil || len(got) != 2 || got[0].ID != cs[1].ID || got[1].ID != cs[0].ID || !got[1].FirstResponseDue.Equal(at(30)) {
		t.Fatalf("DueConversationSLAs = %+v, %v; want the second (20 min) then the first (30 min)", got, err)
	}
	if got, err := s.DueConversationSLAs(ctx, at(60), 1); err != nil || len(got) != 1 {
		t.Fatalf("with limit 1: %d, %v", len(got), err)
	}
	// Met or breached, an SLA is cleared and no longer due.
	cs[1].ResolutionDue = time.Time{}
	if err := s.UpdateConversation(ctx, cs[1]); err != nil {
		t.Fatal(err)
	}
	if got, err := s.DueConversationSLAs(ctx, at(60), 10); err != nil || len(got) != 1 || got[0].ID != cs[0].ID {
		t.Fatalf("after clearing: %+v, %v", got, err)
	}
}

func testConversationRoundRobin(t *testing.T, s store.Store) {
	ctx := context.Background()
	agents := []string{"cleo", "ana", "bob"}
	var got []string
	for range 4 {
		a, err := s.NextAssignee(ctx, "team:care", agents)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if want := []string{"ana", "bob", "cleo", "ana"}; !slices.Equal(got, want) {
		t.Fatalf("round-robin = %v; want %v", got, want)
	}
	// Queues turn independently; bob leaving passes the turn on.
	if a, _ := s.NextAssignee(ctx, "store:paris-02", agents); a != "ana" {
		t.Fatalf("another queue starts at %q; want ana", a)
	}
	if a, _ := s.NextAssignee(ctx, "team:care", []string{"ana", "cleo"}); a != "cleo" {
		t.Fatalf("after ana with bob gone: %q; want cleo", a)
	}
	if a, err := s.NextAssignee(ctx, "team:care", nil); err != nil || a != "" {
		t.Fatalf("no agents: %q, %v", a, err)
	}
}
