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
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

func TestFrequencyCaps(t *testing.T) {
	h := newHarness(t, func(o *message.Options) {
		o.Policy.Caps = []message.Cap{{Max: 3, Per: message.Duration(168 * time.Hour)},
			{Channel: provider.SMS, Max: 1, Per: message.Duration(168 * time.Hour)}}
	})
	h.customer(1, nil)
	h.start()
	send := func(key string, ch provider.Channel, topic string) *store.OutboxMessage {
		h.send(message.Request{ProfileID: 1, Channel: ch, Topic: topic, Key: key,
			Content: &template.Template{Email: offerEmail.Email, SMS: &template.SMS{Body: "Offre"}}})
		m := h.wait("api:"+key, store.MessageSent)
		if m.Status == store.MessageSent {
			return m
		}
		return m
	}
	waitFinal := func(key string) *store.OutboxMessage {
		deadline := time.Now().Add(5 * time.Second)
		for {
			m, _ := h.st.MessageByKey(context.Background(), "api:"+key)
			if m != nil && (m.Status == store.MessageSent || m.Status == store.MessageSkipped) || time.Now().After(deadline) {
				return m
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	send("s1", provider.SMS, "offers")
	h.send(message.Request{ProfileID: 1, Channel: provider.SMS, Topic: "offers", Key: "s2", Content: &template.Template{SMS: &template.SMS{Body: "x"}}})
	if m := waitFinal("s2"); m.Status != store.MessageSkipped || m.Reason != "frequency cap reached (sms: at most 1 per 168h0m0s)" {
		t.Fatalf("second sms: %s %q", m.Status, m.Reason)
	}
	send("e1", provider.Email, "newsletter")
	send("e2", provider.Email, "offers")
	h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "offers", Key: "e3", Content: offerEmail})
	if m := waitFinal("e3"); m.Status != store.MessageSkipped || !strings.Contains(m.Reason, "all marketing: at most 3 per") {
		t.Fatalf("fourth marketing message: %s %q", m.Status, m.Reason)
	}
	// Transactional messages neither count nor are capped.
	h.send(message.Request{ProfileID: 1, Channel: provider.SMS, Topic: "order_updates", Key: "t1", Content: &template.Template{SMS: &template.SMS{Body: "Expédiée"}}})
	h.wait("api:t1", store.MessageSent)
	// A week later, the window has moved.
	h.clock.Advance(169 * time.Hour)
	send("e4", provider.Email, "offers")
	if es := h.events(message.EventSkipped, 2); len(es) != 2 {
		t.Fatalf("Message Skipped events: %d", len(es))
	}
}

// TestQuietHoursAcrossDST defers a message sent in the customer's night to
// 08:00 their time, the night the clocks go forward (Paris, 29 March 2026:
// 02:00 CET becomes 03:00 CEST), and checks the zone sources.
func TestQuietHoursAcrossDST(t *testing.T) {
	h := newHarness(t, func(o *message.Options) {
		o.Policy.QuietHours = &message.QuietHours{Start: "21:00", End: "08:00"}
	})
	night := time.Date(2026, 3, 28, 21, 30, 0, 0, time.UTC) // 22:30 in Paris (CET)
	h.clock.Set(night)
	h.customer(1, nil)                                            // no zone: the brand's, Paris
	h.customer(2, map[string]any{"timezone": "America/New_York"}) // 17:30 there: not quiet
	h.customer(3, map[string]any{"country": "JP"})                // 06:30 next day in Tokyo: quiet until 08:00
	sms := &template.Template{SMS: &template.SMS{Body: "Offre"}}
	for i := int64(1); i <= 3; i++ {
		h.send(message.Request{ProfileID: i, Channel: provider.SMS, Topic: "offers", Key: fmt.Sprint("q", i), Content: sms})
	}
	paris, _ := h.st.MessageByKey(context.Background(), "api:q1")
	// 08:00 CEST on the 29th is 06:00 UTC (not 07:00: the offset changed).
	if want := time.Date(2026, 3, 29, 6, 0, 0, 0, time.UTC); paris.Status != store.MessageDeferred || !paris.DueAt.Equal(want) {
		t.Fatalf("Paris: %s due %v, want deferred to %v (%q)", paris.Status, paris.DueAt, want, paris.Reason)
	}
	if !strings.Contains(paris.Reason, "quiet hours 21:00-08:00 in Europe/Paris (the brand's time zone): deferred to 2026-03-29 08:00 CEST") {
		t.Errorf("reason %q", paris.Reason)
	}
	if ny, _ := h.st.MessageByKey(context.Background(), "api:q2"); ny.Status != store.MessageQueued {
		t.Fatalf("New York: %s %q", ny.Status, ny.Reason)
	}
	tokyo, _ := h.st.MessageByKey(context.Background(), "api:q3")
	if want := time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC); !tokyo.DueAt.Equal(want) || !strings.Contains(tokyo.Reason, "country JP") {
		t.Fatalf("Tokyo: due %v want %v (%q)", tokyo.DueAt, want, tokyo.Reason)
	}
	h.start()
	h.wait("api:q2", store.MessageSent)
	if len(h.events(message.EventDeferred, 2)) != 2 {
		t.Fatal("no Message Deferred events")
	}
	h.clock.Set(time.Date(2026, 3, 29, 6, 0, 0, 0, time.UTC))
	h.wait("api:q1", store.MessageSent)
	h.wait("api:q3", store.MessageSent)
}

func TestBestChannel(t *testing.T) {
	h := newHarness(t, nil)
	tpl := &template.Template{Email: offerEmail.Email, SMS: &template.SMS{Body: "Offre"}, Push: &template.Push{Title: "Offre", Body: "-20%"}}
	// Profile 1: email and phone, consent for sms only.
	h.profile(1, nil, ident(identity.UserID, "u1"), ident(identity.Email, "a@example.com"), ident(identity.Phone, "+33600000001"))
	h.consent(1, provider.SMS, "", true)
	m := h.send(message.Request{ProfileID: 1, Channel: message.Best, Topic: "offers", Content: tpl, Key: "b1"})
	if m.Channel != "sms" || m.ChannelReason != "sms: fallback order; passed over email: no email marketing consent, push: no push address on the profile" {
		t.Fatalf("best for 1: %s (%s)", m.Channel, m.ChannelReason)
	}
	// Profile 2: reachable on email and sms, engaged on sms.
	p := profile.New(2)
	p.Identifiers = []identity.Identifier{ident(identity.UserID, "u2"), ident(identity.Email, "b@example.com"), ident(identity.Phone, "+33600000002")}
	p.Agg.Engagement = map[string]int{"sms": 4, "email": 1}
	if err := h.st.ApplyUnify(context.Background(), &store.UnifyBatch{Consumer: "test", Profiles: []*profile.Profile{p},
		Links: []store.Link{{Identifier: p.Identifiers[0], Profile: 2}}}); err != nil {
		t.Fatal(err)
	}
	h.consent(2, provider.Email, "", true)
	h.consent(2, provider.SMS, "", true)
	m = h.send(message.Request{ProfileID: 2, Channel: message.Best, Topic: "offers", Content: tpl, Key: "b2"})
	if m.Channel != "sms" || m.ChannelReason != "sms: preferred channel" {
		t.Fatalf("best for 2: %s (%s)", m.Channel, m.ChannelReason)
	}
	// Transactional: consent does not matter, the fallback order does.
	m = h.send(message.Request{ProfileID: 1, Channel: message.Best, Topic: "order_updates", Content: tpl, Key: "b3"})
	if m.Channel != "email" || m.ChannelReason != "email: fallback order" {
		t.Fatalf("transactional best for 1: %s (%s)", m.Channel, m.ChannelReason)
	}
	// Nobody reachable: skipped with every reason.
	h.profile(3, nil, ident(identity.UserID, "u3"))
	m = h.send(message.Request{ProfileID: 3, Channel: message.Best, Topic: "offers", Content: tpl, Key: "b4"})
	if m.Status != store.MessageSkipped || !strings.HasPrefix(m.ChannelReason, "no channel reaches the customer: email: no email address") {
		t.Fatalf("unreachable: %s %q %q", m.Status, m.Reason, m.ChannelReason)
	}
}

func TestPolicyValidate(t *testing.T) {
	week := message.Duration(168 * time.Hour)
	for _, tc := range []struct {
		p    message.Policy
		want string
	}{
		{message.Policy{Caps: []message.Cap{{Max: 3, Per: week}, {Channel: provider.SMS, Max: 1, Per: week}}}, ""},
		{message.Policy{Caps: []message.Cap{{Max: 0, Per: week}}}, "caps[0]: max and per must be positive"},
		{message.Policy{Caps: []message.Cap{{Channel: "fax", Max: 1, Per: week}}}, `caps[0]: unknown channel "fax"`},
		{message.Policy{QuietHours: &message.QuietHours{Start: "25:00", End: "08:00"}}, `"25:00" is not HH:MM`},
		{message.Policy{Timezone: "Mars/Olympus"}, `timezone "Mars/Olympus"`},
	} {
		err := tc.p.Validate()
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.p, err, tc.want)
		}
	}
}
