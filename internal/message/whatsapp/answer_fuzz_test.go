package whatsapp_test

import (
	"context"
	"testing"

	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/whatsapp"
)

// FuzzSendAnswer: whatever the WhatsApp Cloud API answers a send, it is
// read without panic into an accepted send with the message's wamid or a
// classified error (messagetest.CheckAnswer).
func FuzzSendAnswer(f *testing.F) {
	// https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
	// https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
	for _, a := range []messagetest.Answer{
		{Status: 200, Body: []byte(okAnswer)},
		{Status: 200, Body: []byte(`{"messaging_product":"whatsapp","contacts":[{"input":"+33612345678","wa_id":"33612345678"}],"messages":[{"id":"wamid.X","message_status":"accepted"}]}`)},
		{Status: 400, Body: []byte(`{"error":{"message":"(#131026) Message undeliverable","type":"OAuthException","code":131026,"error_data":{"messaging_product":"whatsapp","details":"Message Undeliverable."},"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}`)},
		{Status: 400, Body: []byte(`{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"fbtrace_id":"A"}}`)},
		{Status: 401, Body: []byte(`{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"A"}}`)},
		{Status: 500, RetryAfter: "60", Body: []byte(`{"error":{"message":"Service temporarily unavailable","code":131016}}`)},
		{Status: 200, Body: []byte(`{"messages":[{"id":""}]}`)},
		{Status: 200, Body: []byte(`{"messages":[]}`)},
	} {
		f.Add(a.Status, a.RetryAfter, a.Body)
	}
	srv := messagetest.NewAnswerServer(false)
	defer srv.Close()
	p, err := whatsapp.New(whatsapp.Config{Name: "wa", PhoneNumberID: "106540352242922", AccessToken: token, BaseURL: srv.URL})
	if err != nil {
		f.Fatal(err)
	}
	defer p.Close()
	m := &provider.Message{Key: "api:k", Channel: provider.WhatsApp, To: "+33612345678", Body: "Bonjour"}
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		a := srv.Set(messagetest.Answer{Status: status, RetryAfter: retryAfter, Body: body})
		res, err := p.Send(context.Background(), m)
		messagetest.CheckAnswer(t, "wa", a, res, err)
	})
}
