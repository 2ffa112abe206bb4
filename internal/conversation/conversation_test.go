package conversation_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/conversation"
	"github.com/parcours/parcours/internal/store"
)

// An SMS and an email reply from the same customer land in one
// conversation; the agent answers by WhatsApp inside the window.
func TestOneConversationAcrossChannels(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.customer(7, "ana@example.com", "+33612345678")
	w.text("sms", "+33612345678", "Bonjour, ma commande 1042 n'est pas arrivée", 7)
	c := w.only(7)
	if c.Status != store.ConversationOpen || c.Channel != "sms" || c.Team != "service" || !c.FirstResponseDue.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after the SMS: %+v", c)
	}
	w.clk.Advance(10 * time.Minute)
	raw := "From: Ana <ana@example.com>\r\nTo: service@shop.example\r\nSubject: Commande 1042\r\nMessage-ID: <a1@mail.example.com>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nJe vous envoie aussi un email.\r\n\r\nLe 2 déc. 2026, Shop a écrit :\r\n> ancien message\r\n"
	if err := w.svc.ReceiveEmail(ctx, []string{"service@shop.example"}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	w.clk.Advance(5 * time.Minute)
	w.text("whatsapp", "+33612345678", "Et sur WhatsApp", 7)
	v := w.show(w.only(7).ID)
	if len(v.Messages) != 3 || v.Messages[1].Channel != "email" || v.Messages[1].Body != "Je vous envoie aussi un email." ||
		v.Messages[1].Subject != "Commande 1042" || v.Messages[2].Channel != "whatsapp" || v.Channel != "whatsapp" {
		t.Fatalf("messages = %+v", v.Messages)
	}
	if !v.WhatsAppWindowEnds.Equal(t0.Add(15*time.Minute + 24*time.Hour)) {
		t.Fatalf("window ends %v", v.WhatsAppWindowEnds)
	}
	w.clk.Advance(time.Hour) // 23h left in the window
	_, m, err := w.svc.Reply(ctx, v.ID, conversation.Reply{Author: "leo@shop.example", Channel: "whatsapp", Body: "Elle arrive demain {{ pas du liquid }}", Key: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.send.sent) != 1 || w.send.sent[0].to != "+33612345678" || w.send.sent[0].r.Data["reply"] != "Elle arrive demain {{ pas du liquid }}" ||
		m.Status != store.MessageQueued || m.OutboxID != 1 {
		t.Fatalf("sent %+v, message %+v", w.send.sent, m)
	}
	after := w.show(v.ID)
	if after.Status != store.ConversationPending || !after.FirstResponseAt.Equal(w.clk.Now()) || !after.FirstResponseDue.IsZero() {
		t.Fatalf("after the answer: %+v", after.Conversation)
	}
	// The same key again sends nothing more.
	if _, _, err := w.svc.Reply(ctx, v.ID, conversation.Reply{Author: "leo@shop.example", Channel: "whatsapp", Body: "Elle arrive demain", Key: "r1"}); err != nil || len(w.send.sent) != 1 {
		t.Fatalf("reply again: %v, %d sent", err, len(w.send.sent))
	}
	// Delivery receipts flow onto the message; a late "sent" does not undo them.
	for _, st := range []string{"delivered", "sent"} {
		if err := w.svc.Delivered(ctx, &store.OutboxMessage{ID: 1, SendKey: "api:" + m.Key, ProviderID: "wamid.1"}, st, w.clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.show(v.ID).Messages[3]; got.Status != "delivered" || got.ProviderID != "wamid.1" {
		t.Fatalf("reply after receipts: %+v", got)
	}
	// The customer writes again: the conversation opens again.
	w.text("sms", "+33612345678", "Merci !", 7)
	if c := w.only(7); c.Status != store.ConversationOpen {
		t.Fatalf("after the customer's answer: %s", c.Status)
	}
	want := []string{"Conversation Message Received", "Conversation Message Received", "Conversation Message Received",
		"Conversation Message Sent", "Conversation Status Changed", "Conversation Message Received", "Conversation Status Changed"}
	if got := w.sink.names(); !slices.Equal(got, want) {
		t.Fatalf("events = %v; want %v", got, want)
	}
	for _, e := range w.sink.evs {
		if !strings.Contains(string(e.Properties), `"profileId":7`) || e.Channel != "internal" {
			t.Fatalf("event %s is not on profile 7's timeline: %s", e.Event, e.Properties)
		}
	}
}

func TestInboundIsIdempotent(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	in := conversation.Incoming{ProfileID: 3, Channel: "sms", From: "+33600000003", Body: "hello", Key: "in:sms:SM1"}
	for range 2 {
		if _, _, err := w.svc.Receive(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if v := w.show(w.only(3).ID); len(v.Messages) != 1 {
		t.Fatalf("%d messages; want 1", len(v.Messages))
	}
	ids := w.sink.ids()
	if len(ids) != 1 {
		t.Fatalf("event ids %v; want one id (announced twice, one event in the log)", ids)
	}
}

func TestUnknownSenderKeptByNumber(t *testing.T) {
	w := newWorld(t)
	w.text("sms", "+33699999999", "qui êtes-vous ?")
	w.text("sms", "+33699999999", "allô ?")
	cs, _ := w.svc.List(context.Background(), store.ConversationQuery{Contact: "+33699999999"})
	if len(cs) != 1 || cs[0].ProfileID != 0 {
		t.Fatalf("conversations of the unknown number: %+v", cs)
	}
	_, _, err := w.svc.Reply(context.Background(), cs[0].ID, conversation.Reply{Channel: "sms", Body: "Bonjour", Key: "k"})
	if err == nil || !strings.Contains(err.Error(), "no profile holds") {
		t.Fatalf("answering an unknown sender by SMS: %v", err)
	}
}

func TestWhatsAppWindow(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.customer(5, "bo@example.com", "+33655555555")
	w.text("sms", "+33655555555", "par SMS", 5)
	id := w.only(5).ID
	// Never wrote on WhatsApp: no window.
	_, _, err := w.svc.Reply(ctx, id, conversation.Reply{Channel: "whatsapp", Body: "hi", Key: "a"})
	if !isCode(err, "whatsapp_window_closed") || !strings.Contains(err.Error(), "never wrote on WhatsApp") {
		t.Fatalf("no window: %v", err)
	}
	w.text("whatsapp", "+33655555555", "par WhatsApp", 5)
	wrote := w.clk.Now()
	w.clk.Advance(24*time.Hour - time.Second)
	if _, _, err := w.svc.Reply(ctx, id, conversation.Reply{Channel: "whatsapp", Body: "dans la fenêtre", Key: "b"}); err != nil {
		t.Fatalf("a second before the window closes: %v", err)
	}
	w.clk.Advance(time.Second)
	_, _, err = w.svc.Reply(ctx, id, conversation.Reply{Channel: "whatsapp", Body: "trop tard", Key: "c"})
	end := wrote.Add(24 * time.Hour).Format(time.RFC3339)
	if !isCode(err, "whatsapp_window_closed") || !strings.Contains(err.Error(), "closed at "+end) || !strings.Contains(err.Error(), "template") {
		t.Fatalf("after the window: %v; want the window's end %s named", err, end)
	}
	// A template may go.
	if _, m, err := w.svc.Reply(ctx, id, conversation.Reply{Channel: "whatsapp", TemplateID: "order_update_wa", Key: "d"}); err != nil || m.Body != "[template order_update_wa]" {
		t.Fatalf("template outside the window: %+v, %v", m, err)
	}
	if last := w.send.sent[len(w.send.sent)-1]; last.r.TemplateID != "order_update_wa" || last.r.Content != nil {
		t.Fatalf("template request %+v", last.r)
	}
}

func TestReplyNotSentIsRecordedAndSaid(t *testing.T) {
	w := newWorld(t)
	w.customer(4, "cy@example.com", "+33644444444")
	w.text("sms", "+33644444444", "hello", 4)
	w.send.status, w.send.reason = store.MessageSkipped, "the customer texted STOP on sms"
	_, _, err := w.svc.Reply(context.Background(), w.only(4).ID, conversation.Reply{Body: "answer", Key: "x"})
	if !isCode(err, "not_sent") || !strings.Contains(err.Error(), "STOP") {
		t.Fatalf("reply to a STOP: %v", err)
	}
	if m := w.show(w.only(4).ID).Messages[1]; m.Status != store.MessageSkipped {
		t.Fatalf("recorded as %+v", m)
	}
}

func TestEmailReplyThreadsAndReplyTo(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.customer(9, "dan@example.com", "+33699990000")
	w.text("sms", "+33699990000", "question", 9)
	first := w.only(9)
	_, m, err := w.svc.Reply(ctx, first.ID, conversation.Reply{Channel: "email", Body: "Voici la réponse", Key: "e1", Status: store.ConversationResolved})
	if err != nil {
		t.Fatal(err)
	}
	h := w.send.sent[0].headers
	if !strings.HasPrefix(h["Reply-To"], fmt.Sprintf("reply+%d.", first.ID)) || !strings.HasSuffix(h["Reply-To"], "@reply.shop.example") || m.Thread == "" {
		t.Fatalf("headers %v, thread %q", h, m.Thread)
	}
	// Resolved: a new SMS opens a new conversation.
	w.text("sms", "+33699990000", "autre chose", 9)
	cs, _ := w.svc.List(ctx, store.ConversationQuery{ProfileID: 9, Status: "active"})
	if len(cs) != 1 || cs[0].ID == first.ID {
		t.Fatalf("active after resolution: %+v", cs)
	}
	second := cs[0]
	// A reply to the resolved conversation's email, by In-Reply-To, from
	// another address: it is the second (active) one that takes it, the
	// first being resolved.
	raw := "From: dan.pro@example.org\r\nSubject: Re: Re: your message\r\nMessage-ID: <x2@example.org>\r\nIn-Reply-To: <" + m.Thread + "@mail.shop.example>\r\n\r\nmerci\r\n"
	if err := w.svc.ReceiveEmail(ctx, nil, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	// The reply-to address of the second one, signed, takes an email from anyone.
	addr := w.svc.ReplyAddress(second.ID)
	raw = "From: someone@else.example\r\nSubject: hi\r\nMessage-ID: <x3@else.example>\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n" +
		"Content-Type: text/html\r\n\r\n<p>html part</p>\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"cGFyIGxhIGFkcmVzc2UgZGUgcsOpcG9uc2U=\r\n--b--\r\n"
	if err := w.svc.ReceiveEmail(ctx, []string{strings.ToUpper(addr)}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	// Both land in the second: the In-Reply-To one because the first,
	// which it answers, is resolved and the second is the customer's
	// active one (the sender's address is not on the profile).
	v := w.show(second.ID)
	if len(v.Messages) != 3 || v.Messages[1].Body != "merci" || v.Messages[2].Body != "par la adresse de réponse" ||
		v.Messages[2].Author != "someone@else.example" {
		t.Fatalf("second conversation: %+v", v.Messages)
	}

	// A forged reply-to address is not trusted.
	forged := fmt.Sprintf("reply+%d.00000000000000000000@reply.shop.example", first.ID)
	raw = "From: mallory@evil.example\r\nSubject: x\r\nMessage-ID: <x4@evil.example>\r\n\r\nforged\r\n"
	if err := w.svc.ReceiveEmail(ctx, []string{forged}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	if cs, _ := w.svc.List(ctx, store.ConversationQuery{Text: "forged"}); len(cs) != 1 || cs[0].Contact != "mallory@evil.example" {
		t.Fatalf("forged reply-to: %+v", cs)
	}
}

func TestSLABreachOnFakeClock(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.customer(1, "a@example.com", "+33611111111")
	w.customer(2, "b@example.com", "+33622222222")
	w.text("sms", "+33611111111", "one", 1)
	w.text("sms", "+33622222222", "two", 2)
	// The second is answered in time.
	w.clk.Advance(30 * time.Minute)
	if _, _, err := w.svc.Reply(ctx, w.only(2).ID, conversation.Reply{Channel: "phone_note", Body: "called back", Key: "n"}); err != nil {
		t.Fatal(err)
	}
	if n, err := w.svc.CheckSLA(ctx); err != nil || n != 0 {
		t.Fatalf("at 30 min: %d breaches, %v", n, err)
	}
	w.clk.Advance(30 * time.Minute)
	if n, err := w.svc.CheckSLA(ctx); err != nil || n != 1 {
		t.Fatalf("at 1h: %d breaches, %v; want the first response of the first", n, err)
	}
	c := w.only(1)
	if !slices.Equal(c.Breaches, []string{"first_response"}) || !c.FirstResponseDue.IsZero() {
		t.Fatalf("after the breach: %+v", c)
	}
	if n, _ := w.svc.CheckSLA(ctx); n != 0 {
		t.Fatalf("checked again: %d breaches; want none (announced once)", n)
	}
	w.clk.Advance(23 * time.Hour)
	if n, _ := w.svc.CheckSLA(ctx); n != 2 {
		t.Fatalf("at 24h: %d breaches; want both resolutions", n)
	}
	var breaches int
	for _, e := range w.sink.evs {
		if e.Event == conversation.EventSLABreached {
			breaches++
			if !strings.Contains(string(e.Properties), `"sla":"`) {
				t.Fatalf("breach event %s", e.Properties)
			}
		}
	}
	if breaches != 3 {
		t.Fatalf("%d breach events; want 3", breaches)
	}
}

func TestRoundRobinAssignMergeTags(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for i, u := range []struct {
		email  string
		role   auth.Role
		stores []string
	}{{"zoe@shop.example", auth.RoleAgent, nil}, {"ana@shop.example", auth.RoleAgent, nil}, {"sam@shop.example", auth.RoleStoreStaff, []string{"paris-02"}},
		{"off@shop.example", auth.RoleMarketer, nil}} {
		if err := w.st.CreateUser(ctx, &auth.User{ID: fmt.Sprint("u", i), Email: u.email, Role: u.role, Stores: u.stores, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []int64
	for p := int64(1); p <= 3; p++ {
		if _, _, err := w.svc.Receive(ctx, conversation.Incoming{ProfileID: p, Channel: "chat", Body: "hi", Key: fmt.Sprint("k", p)}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, w.only(p).ID)
	}
	var got []string
	for _, id := range ids {
		c, err := w.svc.Assign(ctx, id, "", true, "lead")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c.Assignee)
	}
	if !slices.Equal(got, []string{"ana@shop.example", "zoe@shop.example", "ana@shop.example"}) {
		t.Fatalf("round-robin: %v", got)
	}
	store2 := "paris-02"
	if _, err := w.svc.Update(ctx, ids[0], conversation.Patch{StoreID: &store2, Tags: &[]string{"vip", "vip", "retour"}}); err != nil {
		t.Fatal(err)
	}
	if c, err := w.svc.Assign(ctx, ids[0], "", true, "lead"); err != nil || c.Assignee != "sam@shop.example" || !slices.Equal(c.Tags, []string{"vip", "retour"}) {
		t.Fatalf("store queue: %+v, %v", c, err)
	}
	bad := "urgentissime"
	if _, err := w.svc.Update(ctx, ids[0], conversation.Patch{Priority: &bad}); !isCode(err, "invalid") {
		t.Fatalf("bad priority: %v", err)
	}
	// Merge 2 into 1: messages move, 2 is resolved and points at 1.
	if _, err := w.svc.Merge(ctx, ids[1], ids[0], "lead"); err != nil {
		t.Fatal(err)
	}
	if v := w.show(ids[0]); len(v.Messages) != 2 {
		t.Fatalf("after merge: %d messages", len(v.Messages))
	}
	if c, _ := w.svc.Get(ctx, ids[1]); c.Status != store.ConversationResolved || c.MergedInto != ids[0] {
		t.Fatalf("merged: %+v", c)
	}
	if _, err := w.svc.Merge(ctx, ids[1], ids[0], "lead"); err != nil {
		t.Fatalf("merging again: %v", err)
	}
	if _, _, err := w.svc.Reply(ctx, ids[1], conversation.Reply{Channel: "chat", Body: "x", Key: "z"}); !isCode(err, "invalid") {
		t.Fatalf("replying in a merged conversation: %v", err)
	}
}

func TestNotesAndInternal(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c, m, err := w.svc.Open(ctx, 11, "lyon-01", conversation.Reply{Author: "sam@shop.example", Channel: "store_note", Body: "Cliente venue essayer le 39", Key: "v1"})
	if err != nil || c.StoreID != "lyon-01" || c.Team != "" || m.Direction != store.DirectionNote || !c.FirstResponseDue.IsZero() {
		t.Fatalf("store note: %+v %+v %v", c, m, err)
	}
	_, n, err := w.svc.Reply(ctx, c.ID, conversation.Reply{Author: "sam@shop.example", Channel: "note", Body: "à rappeler", Key: "v2"})
	if err != nil || !n.Internal {
		t.Fatalf("internal note: %+v, %v", n, err)
	}
	if _, _, err := w.svc.Open(ctx, 11, "", conversation.Reply{Channel: "sms", Body: "x", Key: "v3"}); !isCode(err, "invalid") {
		t.Fatalf("opening with an SMS: %v", err)
	}
}

func TestChatTokens(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	sess, err := w.svc.StartChat("anon-123")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.ChatSay(ctx, sess.Token, "Bonjour, une question", "w1"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.ChatSay(ctx, sess.Token, "Bonjour, une question", "w1"); err != nil {
		t.Fatal(err)
	}
	cs, _ := w.svc.List(ctx, store.ConversationQuery{Contact: "anon:anon-123"})
	if len(cs) != 1 {
		t.Fatalf("chat conversations %+v", cs)
	}
	if _, _, err := w.svc.Reply(ctx, cs[0].ID, conversation.Reply{Author: "ana@shop.example", Body: "Oui ?", Key: "a1"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.svc.Reply(ctx, cs[0].ID, conversation.Reply{Author: "ana@shop.example", Channel: "note", Body: "secret", Key: "a2"}); err != nil {
		t.Fatal(err)
	}
	lines, err := w.svc.ChatLines(ctx, sess.Token, 0)
	if err != nil || len(lines) != 2 || lines[0].From != "you" || lines[1].From != "agent" || lines[1].Text != "Oui ?" {
		t.Fatalf("chat lines %+v, %v", lines, err)
	}
	if more, _ := w.svc.ChatLines(ctx, sess.Token, lines[1].ID); len(more) != 0 {
		t.Fatalf("after the last: %+v", more)
	}
	// Forged, altered, expired tokens open nothing.
	other, _ := w.svc.StartChat("anon-999")
	b64, sig, _ := strings.Cut(sess.Token, ".")
	ob64, _, _ := strings.Cut(other.Token, ".")
	for name, tok := range map[string]string{"altered": ob64 + "." + sig, "garbage": "x.y", "empty": "", "no sig": b64} {
		if _, err := w.svc.ChatLines(ctx, tok, 0); err != conversation.ErrChatToken {
			t.Errorf("%s token: %v; want ErrChatToken", name, err)
		}
	}
	w.clk.Advance(conversation.ChatTokenTTL)
	if _, err := w.svc.ChatSay(ctx, sess.Token, "late", "w2"); err != conversation.ErrChatToken {
		t.Fatalf("expired token: %v", err)
	}
}
