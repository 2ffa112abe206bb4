package message_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

var offerEmail = &template.Template{Email: &template.Email{Subject: "Offre pour {{ profile.first_name }}",
	HTML: `<html><body><p>Bonjour {{ profile.first_name }}</p><a href="https://shop.example/offre">Voir</a> <a href="{{ message.unsubscribe_url }}">Se désabonner</a></body></html>`}}

func TestEmailTrackingAndOneClickUnsubscribe(t *testing.T) {
	h := newHarness(t, nil)
	h.customer(1, map[string]any{"first_name": "Zoé"})
	h.start()
	ctx := context.Background()
	h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "offers", Content: offerEmail, Key: "offer-1", Campaign: "printemps"})
	h.wait("api:offer-1", store.MessageSent)
	m := h.email.Sent()[0]
	if m.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" ||
		!strings.HasPrefix(m.Headers["List-Unsubscribe"], "<https://crm.example/u/") ||
		!strings.Contains(m.Headers["List-Unsubscribe"], "<mailto:unsubscribe@crm.example?subject=unsubscribe%20") {
		t.Fatalf("headers %v", m.Headers)
	}
	if !strings.Contains(m.HTML, `<a href="https://crm.example/t/c/`) || strings.Contains(m.HTML, `href="https://shop.example`) ||
		!strings.Contains(m.HTML, `<img src="https://crm.example/t/o/`) || !strings.Contains(m.Text, "Voir (https://crm.example/t/c/") {
		t.Fatalf("tracking missing:\n%s\n%s", m.HTML, m.Text)
	}
	click := m.HTML[strings.Index(m.HTML, "/t/c/")+5:]
	click = click[:strings.IndexByte(click, '"')]
	for range 2 {
		target, err := h.p.Click(ctx, click)
		if err != nil || target != "https://shop.example/offre?utm_campaign=printemps&utm_medium=email&utm_source=parcours" {
			t.Fatalf("click: %q %v", target, err)
		}
	}
	if _, err := h.p.Click(ctx, click[:len(click)-2]+"xx"); err == nil {
		t.Fatal("a tampered token was accepted")
	}
	clicks := h.events(message.EventClicked, 1)
	if len(clicks) != 1 || clicks[0].Channel != "email" || clicks[0].UserID != "u1" {
		t.Fatalf("clicks: %+v", clicks)
	}
	pixel := m.HTML[strings.Index(m.HTML, "/t/o/")+5:]
	if err := h.p.Open(ctx, pixel[:strings.Index(pixel, ".gif")]); err != nil {
		t.Fatal(err)
	}
	h.events(message.EventOpened, 1)

	unsub := strings.TrimPrefix(strings.Split(m.Headers["List-Unsubscribe"], ">")[0], "<https://crm.example/u/")
	if err := h.p.Unsubscribe(ctx, unsub, map[string]any{"ip": "192.0.2.7"}); err != nil {
		t.Fatal(err)
	}
	// The mailto: entry, as a mail client would use it: the same change.
	if err := h.p.UnsubscribeByMail(ctx, "unsubscribe "+unsub, "zoe@example.fr"); err != nil {
		t.Fatal(err)
	}
	if es := h.events(message.EventUnsubscribed, 1); len(es) != 1 {
		t.Fatalf("unsubscribed events: %d", len(es))
	}
	c, err := h.p.Consent(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	withdrawals := 0
	for _, r := range c.Ledger {
		if !r.Granted && r.Topic == "offers" {
			withdrawals++
		}
	}
	if withdrawals != 1 {
		t.Fatalf("ledger: %+v, want one withdrawal of offers", c.Ledger)
	}
	// Offers no longer go; the newsletter and order updates still do.
	next := h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "offers", Content: offerEmail, Key: "offer-2"})
	if next.Status != store.MessageSkipped || !strings.HasPrefix(next.Reason, "unsubscribed from offers") {
		t.Fatalf("offer after unsubscribe: %s %q", next.Status, next.Reason)
	}
	h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "newsletter", Content: offerEmail, Key: "news-1"})
	h.wait("api:news-1", store.MessageSent)
	h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "order_updates", Content: offerEmail, Key: "order-1"})
	h.wait("api:order-1", store.MessageSent)
	if tr := h.email.Sent()[2]; tr.Headers["List-Unsubscribe"] != "" {
		t.Errorf("a transactional email carries List-Unsubscribe: %v", tr.Headers)
	}
	prefs, err := h.p.Preferences(ctx, unsub)
	if err != nil || !prefs.All || prefs.Address != "c***@example.com" || len(prefs.Topics) != 2 || prefs.Topics[1].Name != "offers" || prefs.Topics[1].Subscribed {
		t.Fatalf("preferences: %+v %v", prefs, err)
	}
	if err := h.p.SavePreferences(ctx, unsub, true, map[string]bool{"offers": true, "newsletter": false}, nil); err != nil {
		t.Fatal(err)
	}
	if prefs, _ = h.p.Preferences(ctx, unsub); !prefs.Topics[1].Subscribed || prefs.Topics[0].Subscribed {
		t.Fatalf("preferences after saving: %+v", prefs)
	}
}

func TestMarketingNeedsConsentTransactionalDoesNot(t *testing.T) {
	h := newHarness(t, nil)
	h.profile(1, nil, ident(identity.UserID, "u1"), ident(identity.Email, "a@example.com"))
	h.start()
	m := h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "offers", Content: offerEmail, Key: "o"})
	if m.Status != store.MessageSkipped || m.Reason != "no email marketing consent" {
		t.Fatalf("marketing without consent: %s %q", m.Status, m.Reason)
	}
	h.events(message.EventSkipped, 1)
	h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "order_updates", Content: offerEmail, Key: "t"})
	h.wait("api:t", store.MessageSent)
}

func TestReceiptsAndSuppression(t *testing.T) {
	h := newHarness(t, nil)
	h.customer(1, nil)
	h.start()
	ctx := context.Background()
	h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "offers", Content: offerEmail, Key: "r"})
	m := h.wait("api:r", store.MessageSent)
	for _, st := range []provider.Status{provider.Delivered, provider.Delivered, provider.Bounced} {
		if err := h.p.HandleReceipt(ctx, provider.Receipt{Provider: "fake-email", ProviderID: m.ProviderID, Status: st, Code: "550", Reason: "5.1.1 user unknown"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.events(message.EventDelivered, 1)); n != 1 {
		t.Fatalf("delivered events: %d", n)
	}
	b := h.events(message.EventBounced, 1)
	var props struct{ Bounce string }
	if len(b) == 1 {
		_ = json.Unmarshal(b[0].Properties, &props)
	}
	if len(b) != 1 || props.Bounce != "hard" {
		t.Fatalf("bounced: %+v", b)
	}
	if err := h.p.HandleReceipt(ctx, provider.Receipt{Provider: "fake-email", ProviderID: "nope", Status: provider.Delivered}); err == nil {
		t.Fatal("a receipt for an unknown message was accepted")
	}
	again := h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "order_updates", Content: offerEmail, Key: "r2"})
	if again.Status != store.MessageSkipped || !strings.Contains(again.Reason, "hard bounce: 5.1.1 user unknown") {
		t.Fatalf("after a hard bounce: %s %q", again.Status, again.Reason)
	}
}

func TestStopKeywordsAndConsentFromTraits(t *testing.T) {
	h := newHarness(t, nil)
	h.customer(1, nil)
	ctx := context.Background()
	for _, text := range []string{"Bonjour", " arret ", "STOP"} {
		stop, err := h.p.HandleInboundSMS(ctx, "+33 6 00 00 00 01", text)
		if err != nil || stop != (text != "Bonjour") {
			t.Fatalf("%q: stop %v, %v", text, stop, err)
		}
	}
	r := smsHello
	r.ProfileID, r.Key = 1, "after-stop"
	if m := h.send(r); m.Status != store.MessageSkipped || !strings.Contains(m.Reason, "texted STOP") {
		t.Fatalf("after STOP: %s %q", m.Status, m.Reason)
	}
	// An identify event opting in again: the consumer records it, but a
	// trait (a CRM sync may replay an old opt-in) does not undo a STOP.
	e := &event.Event{MessageID: "id-1", Type: event.Identify, UserID: "u1", SourceID: "web", Channel: "web",
		Traits: json.RawMessage(`{"sms_opt_in": true, "push_opt_in": "no"}`), Context: json.RawMessage(`{"ip":"192.0.2.1"}`),
		Timestamp: t0.Add(time.Hour), ReceivedAt: t0.Add(time.Hour)}
	if err := h.st.Append(ctx, []*event.Event{e}, nil); err != nil {
		t.Fatal(err)
	}
	if err := h.st.SaveCheckpoint(ctx, "unify", e.Seq); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- h.p.RunConsent(cctx, nil) }()
	deadline := time.Now().Add(3 * time.Second)
	for {
		c, _ := h.p.Consent(ctx, 1)
		granted := 0
		for _, s := range c.Current {
			if s.Channel == "sms" && s.Granted && s.Source == "identify:web" || s.Channel == "push" && !s.Granted {
				granted++
			}
		}
		if granted == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("consent from traits not recorded: %+v", c.Current)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	r.Key = "after-opt-in"
	h.clock.Advance(2 * time.Hour)
	if m := h.send(r); m.Status != store.MessageSkipped || !strings.Contains(m.Reason, "texted STOP") {
		t.Fatalf("after an opt-in trait: %s %q", m.Status, m.Reason)
	}
	// START from the number does.
	if start, err := h.p.HandleInboundSMS(ctx, "+33600000001", " Start"); err != nil || !start {
		t.Fatalf("START: %v %v", start, err)
	}
	r.Key = "after-start"
	if m := h.send(r); m.Status != store.MessageQueued {
		t.Fatalf("after START: %s %q", m.Status, m.Reason)
	}
}

func TestDoubleOptIn(t *testing.T) {
	h := newHarness(t, nil)
	h.profile(1, map[string]any{"first_name": "Zoé"}, ident(identity.UserID, "u1"), ident(identity.Email, "zoe@example.fr"))
	h.start()
	ctx := context.Background()
	m, err := h.p.RequestDoubleOptIn(ctx, message.ConsentChange{ProfileID: 1, Channel: provider.Email, Topic: "newsletter",
		Granted: true, Source: "signup-form", Key: "form-1"})
	if err != nil {
		t.Fatal(err)
	}
	h.wait(m.SendKey, store.MessageSent)
	mail := h.email.Sent()[0]
	i := strings.Index(mail.HTML, `href="https://crm.example/c/`)
	if i < 0 || mail.Headers["List-Unsubscribe"] != "" {
		t.Fatalf("confirmation email: %s %v", mail.HTML, mail.Headers)
	}
	token := mail.HTML[i+len(`href="https://crm.example/c/`):]
	token = token[:strings.IndexByte(token, '"')]
	// Not confirmed yet: marketing does not go.
	if early := h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "newsletter", Content: offerEmail, Key: "n0"}); early.Status != store.MessageSkipped {
		t.Fatalf("before confirmation: %s", early.Status)
	}
	for range 2 {
		if _, err := h.p.ConfirmDoubleOptIn(ctx, token, map[string]any{"ip": "192.0.2.3"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.p.ConfirmDoubleOptIn(ctx, token[:len(token)-3]+"abc", nil); err == nil {
		t.Fatal("a forged confirmation was accepted")
	}
	c, _ := h.p.Consent(ctx, 1)
	if len(c.Ledger) != 1 || c.Ledger[0].Source != "double-opt-in" || !c.Ledger[0].Granted || c.Ledger[0].Topic != "newsletter" ||
		!strings.Contains(string(c.Ledger[0].Proof), `"double_opt_in":"api:double-opt-in:1:form-1"`) {
		t.Fatalf("ledger: %+v", c.Ledger)
	}
	// The confirmed topic goes; another one still needs consent.
	h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "newsletter", Content: offerEmail, Key: "n1"})
	h.wait("api:n1", store.MessageSent)
	if other := h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "offers", Content: offerEmail, Key: "o1"}); other.Status != store.MessageSkipped {
		t.Fatalf("another topic: %s", other.Status)
	}
}

// TestCartAndStoreByDefault renders an abandoned-cart email from the
// profile alone: products default to the current cart.
func TestCartAndStoreByDefault(t *testing.T) {
	h := newHarness(t, nil)
	h.customer(1, map[string]any{"first_name": "Zoé"})
	prof, err := h.st.Profile(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	prof.Apply(&event.Event{MessageID: "c1", Type: event.Track, Event: "Product Added", UserID: "u1", Channel: "web",
		Properties: json.RawMessage(`{"sku":"SAC-1","name":"Sac cabas","price":89.9,"quantity":1}`), Timestamp: t0})
	if err := h.st.ApplyUnify(context.Background(), &store.UnifyBatch{Consumer: "test", Profiles: []*profile.Profile{prof}}); err != nil {
		t.Fatal(err)
	}
	tpl := &template.Template{Email: &template.Email{Subject: "Votre panier",
		HTML: `{% for p in products %}<p>{{ p.name }} : {{ p.price }} €</p>{% endfor %}`}}
	m := h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "offers", Content: tpl, Key: "cart"})
	if !strings.Contains(string(m.Payload), "Sac cabas : 89.9 €") {
		t.Fatalf("payload %s", m.Payload)
	}
}
