package message_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/store"
)

// batchWorld fills a harness with customers each of whom meets one rule,
// and returns the requests of a mixed batch to them.
func batchWorld(h *harness) []message.Request {
	t := h.t
	ctx := context.Background()
	if _, err := h.p.SaveTemplate(ctx, message.TemplateInput{ID: "promo", Topic: "offers", Body: &template.Template{
		Email: offerEmail.Email, SMS: &template.SMS{Body: "Offre {{ profile.first_name }} https://shop.example/soldes"}}}); err != nil {
		t.Fatal(err)
	}
	h.customer(1, map[string]any{"first_name": "Zoé"}) // opted in: queued
	h.customer(2, nil)                                 // opted out of email
	h.consent(2, provider.Email, "", false)
	h.customer(3, nil) // suppressed address
	if err := h.st.Suppress(ctx, store.Suppression{Channel: "email", Address: "c3@example.com", Reason: "hard bounce",
		Source: "smtp", At: t0}); err != nil {
		t.Fatal(err)
	}
	h.profile(4, nil, ident(identity.UserID, "u4")) // no address at all
	h.customer(5, map[string]any{"country": "JP"})  // 18:00 in Tokyo: quiet hours
	h.customer(6, nil)                              // unsubscribed from the topic
	h.consent(6, provider.Email, "offers", false)
	// 7: phone only and sms consent: best is sms.
	h.profile(7, nil, ident(identity.UserID, "u7"), ident(identity.Phone, "+33600000007"))
	h.consent(7, provider.SMS, "", true)
	h.customer(8, nil) // capped: one email this week already (sent below)
	// 10 was merged into 9: 9 inherits 10's email consent, and a send to
	// 10 goes to 9.
	h.profile(10, nil, ident(identity.UserID, "u10"))
	h.consent(10, provider.Email, "", true)
	h.profile(9, nil, ident(identity.UserID, "u9"), ident(identity.Email, "c9@example.com"))
	if err := h.st.ApplyUnify(ctx, &store.UnifyBatch{Consumer: "test", Merged: []store.MergedProfile{{ID: 10, Into: 9}},
		Merges: []store.MergeRecord{{At: t0, Profile: 9, Merged: 10}}}); err != nil {
		t.Fatal(err)
	}
	h.customer(11, map[string]any{"timezone": "America/New_York"}) // 04:00 there: quiet
	h.customer(12, nil)                                            // transactional despite opting out
	h.consent(12, provider.Email, "", false)
	// 8's earlier email, delivered before the batch.
	h.send(message.Request{ProfileID: 8, Channel: provider.Email, Topic: "newsletter", TemplateID: "promo", Key: "earlier"})

	promo := func(id int64, key string) message.Request {
		return message.Request{ProfileID: id, Channel: provider.Email, TemplateID: "promo", Key: key}
	}
	rs := []message.Request{promo(1, "k1"), promo(2, "k2"), promo(3, "k3"), promo(4, "k4"), promo(5, "k5"), promo(6, "k6"),
		{ProfileID: 7, Channel: message.Best, TemplateID: "promo", Key: "k7"},
		{ProfileID: 8, Channel: provider.Email, Topic: "newsletter", TemplateID: "promo", Key: "k8"}, promo(9, "k9"), promo(10, "k10"),
		promo(11, "k11"),
		{ProfileID: 12, Channel: provider.Email, Topic: "order_updates", Key: "k12",
			Content: &template.Template{Email: &template.Email{Subject: "Commande expédiée", Text: "Votre commande est partie."}}},
		promo(999, "k-missing"),                 // no such profile
		{ProfileID: 1, Channel: provider.Email}, // no key
		promo(1, "k1"),                          // the same key again
		{ProfileID: 1, TemplateID: "promo", Key: "k-nochannel"},
		promo(1, "earlier"),     // sent before the batch: that message
		promo(1, "k-nosuchtpl"), // unknown template below
		{ProfileID: 1, Channel: "fax", TemplateID: "promo", Key: "k-fax"},
	}
	rs[len(rs)-2].TemplateID = "nope"
	return rs
}

// TestSendBatchDecidesAsSendOneByOne sends a mixed batch (opted in, opted
// out, suppressed, no address, quiet hours in two zones, unsubscribed
// from the topic, best channel, capped, merged profiles, transactional,
// missing profile, invalid requests, a repeated key, a key sent before)
// through SendBatch in one world and one by one through Send in an
// identical one: every message, reason, address, payload and delivery
// outcome must be the same.
func TestSendBatchDecidesAsSendOneByOne(t *testing.T) {
	night := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC) // 09:00 Paris, 17:00 Tokyo, 04:00 New York
	configure := func(o *message.Options) {
		o.Policy.QuietHours = &message.QuietHours{Start: "17:00", End: "08:00"}
		// Newsletters only: the two sends to the merged profiles (offers)
		// are not capped, so that which goes first does not matter.
		o.Policy.Caps = []message.Cap{{Channel: provider.Email, Topic: "newsletter", Max: 1, Per: message.Duration(168 * time.Hour)}}
	}
	one, batch := newHarness(t, configure), newHarness(t, configure)
	one.clock.Set(night)
	batch.clock.Set(night)
	rs := batchWorld(one)
	batchWorld(batch)
	for _, h := range []*harness{one, batch} {
		h.start()
		h.wait("api:earlier", store.MessageSent)
	}

	ctx := context.Background()
	type outcome struct {
		msg *store.OutboxMessage
		err string
	}
	var want []outcome
	firstOf := map[string]int{}
	for i, r := range rs {
		// A key repeated in the batch gets the message its first request
		// made, as it was then (one by one, the workers may have sent it
		// meanwhile).
		if j, ok := firstOf[r.Key]; ok && r.Key != "" {
			want = append(want, want[j])
			continue
		}
		firstOf[r.Key] = i
		m, err := one.p.Send(ctx, r)
		o := outcome{msg: m}
		if err != nil {
			o.err = err.Error()
		}
		want = append(want, o)
	}
	results, err := batch.p.SendBatch(ctx, rs)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(rs) {
		t.Fatalf("%d results for %d requests", len(results), len(rs))
	}
	statuses := map[string]int{}
	for i, res := range results {
		w := want[i]
		name := fmt.Sprintf("request %d (profile %d, key %q)", i, rs[i].ProfileID, rs[i].Key)
		gotErr := ""
		if res.Err != nil {
			gotErr = res.Err.Error()
		}
		if gotErr != w.err {
			t.Errorf("%s: error %q, one by one %q", name, gotErr, w.err)
			continue
		}
		if w.msg == nil {
			if res.Message != nil {
				t.Errorf("%s: message %+v, one by one none", name, res.Message)
			}
			continue
		}
		g, o := res.Message, w.msg
		if o.Status == store.MessageSending && g.Status == store.MessageQueued {
			// A worker woken by another send leased the one-by-one
			// message before Send read it back: the lease moved its due
			// time, the decision is the same.
			c := *o
			c.Status, c.DueAt = store.MessageQueued, g.DueAt
			o = &c
		}
		if g == nil {
			t.Errorf("%s: no message, one by one %s %q", name, o.Status, o.Reason)
			continue
		}
		if g.SendKey != o.SendKey || g.ProfileID != o.ProfileID || g.Status != o.Status || g.Reason != o.Reason ||
			g.Channel != o.Channel || g.ChannelReason != o.ChannelReason || g.Address != o.Address || g.Topic != o.Topic ||
			g.Transactional != o.Transactional || g.Campaign != o.Campaign || g.UserID != o.UserID ||
			!g.DueAt.Equal(o.DueAt) || !g.CreatedAt.Equal(o.CreatedAt) || string(g.Payload) != string(o.Payload) {
			t.Errorf("%s:\n batch      %s %s %q %q %s due %v payload %s\n one by one %s %s %q %q %s due %v payload %s", name,
				g.SendKey, g.Status, g.Reason, g.ChannelReason, g.Address, g.DueAt, g.Payload,
				o.SendKey, o.Status, o.Reason, o.ChannelReason, o.Address, o.DueAt, o.Payload)
		}
		statuses[g.Status]++
	}
	// The batch covers every fate: queued, skipped, deferred, and errors.
	if statuses[store.MessageQueued] < 3 || statuses[store.MessageSkipped] < 4 || statuses[store.MessageDeferred] != 2 {
		t.Errorf("the batch's fates: %v; the world no longer covers each rule", statuses)
	}

	// Delivery then applies the same caps and checks to both.
	final := func(h *harness, key string) *store.OutboxMessage {
		deadline := time.Now().Add(5 * time.Second)
		for {
			m, err := h.st.MessageByKey(ctx, key)
			if err == nil && m.Status != store.MessageQueued && m.Status != store.MessageSending && m.Status != store.MessageRetrying ||
				time.Now().After(deadline) {
				return m
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for i, w := range want {
		if w.msg == nil {
			continue
		}
		g, o := final(batch, w.msg.SendKey), final(one, w.msg.SendKey)
		if g.Status != o.Status || g.Reason != o.Reason {
			t.Errorf("request %d delivered: batch %s %q, one by one %s %q", i, g.Status, g.Reason, o.Status, o.Reason)
		}
	}
	if m := final(batch, "api:k8"); m.Status != store.MessageSkipped || !strings.Contains(m.Reason, "frequency cap") {
		t.Errorf("capped customer: %s %q, want skipped by the cap", m.Status, m.Reason)
	}
	if m := final(batch, "api:k1"); m.Status != store.MessageSent {
		t.Errorf("opted-in customer: %s %q", m.Status, m.Reason)
	}
	if got := len(batch.email.Sent()); got != len(one.email.Sent()) {
		t.Errorf("emails delivered: batch %d, one by one %d", got, len(one.email.Sent()))
	}
}

// TestSendBatchRefusesTooMany refuses more than MaxBatch requests.
func TestSendBatchRefusesTooMany(t *testing.T) {
	h := newHarness(t, nil)
	_, err := h.p.SendBatch(context.Background(), make([]message.Request, message.MaxBatch+1))
	if err == nil || !strings.Contains(err.Error(), "at most 1000") {
		t.Fatalf("err %v", err)
	}
}
