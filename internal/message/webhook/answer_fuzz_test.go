package webhook_test

import (
	"context"
	"testing"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/webhook"
)

// FuzzSendAnswer: whatever a webhook receiver answers, it is read without
// panic into an accepted send (with the receiver's id, or the send key
// when it gave none) or a classified error (messagetest.CheckAnswer).
func FuzzSendAnswer(f *testing.F) {
	// The answers docs/messages.md describes: 2xx with an optional id.
	for _, a := range []messagetest.Answer{
		{Status: 200, Body: []byte(`{"id":"rcv-42"}`)},
		{Status: 202},
		{Status: 204},
		{Status: 200, Body: []byte(`{"id":""}`)},
		{Status: 409, Body: []byte(`{"error":"duplicate key"}`)},
		{Status: 429, RetryAfter: "120"},
		{Status: 503, RetryAfter: "Mon, 23 Nov 2026 14:00:30 GMT", Body: []byte("<h1>Down for maintenance</h1>")},
	} {
		f.Add(a.Status, a.RetryAfter, a.Body)
	}
	srv := messagetest.NewAnswerServer(false)
	defer srv.Close()
	p, err := webhook.New(webhook.Config{Name: "crm-hook", URL: srv.URL + "/hooks/parcours", Secret: secret, Clock: clock.NewFake(t0)})
	if err != nil {
		f.Fatal(err)
	}
	defer p.Close()
	m := &provider.Message{Key: "api:k", Channel: provider.Webhook, Body: "Bonjour"}
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		a := srv.Set(messagetest.Answer{Status: status, RetryAfter: retryAfter, Body: body})
		res, err := p.Send(context.Background(), m)
		messagetest.CheckAnswer(t, "crm-hook", a, res, err)
	})
}
