package sms_test

import (
	"context"
	"testing"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/sms"
)

// FuzzSendAnswers: whatever Twilio's or Vonage's API answers a send, the
// provider reads it without panic into an accepted send with the
// provider's id or a classified error (messagetest.CheckAnswer).
func FuzzSendAnswers(f *testing.F) {
	// https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
	// https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions
	for _, a := range []messagetest.Answer{
		{Status: 201, Body: []byte(`{"account_sid":"ACxxx","body":"Bonjour","date_created":"Thu, 24 Aug 2023 05:01:45 +0000","direction":"outbound-api","error_code":null,"from":"+33700000001","sid":"SMaaaa","status":"queued","to":"+33612345678","uri":"/2010-04-01/Accounts/ACxxx/Messages/SMaaaa.json"}`)},
		{Status: 400, Body: []byte(`{"code":21211,"message":"The 'To' number +336 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`)},
		{Status: 429, RetryAfter: "3", Body: []byte(`{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}`)},
		{Status: 500, Body: []byte(`{"code":21211,"message":"?","status":500}`)},
		{Status: 201, Body: []byte(`{"sid":""}`)},
		{Status: 503, RetryAfter: "Mon, 23 Nov 2026 14:00:30 GMT", Body: []byte(`<html>Service Unavailable</html>`)},
	} {
		f.Add(uint8(0), a.Status, a.RetryAfter, a.Body)
	}
	// https://developer.vonage.com/en/api/sms#send-an-sms
	for _, a := range []messagetest.Answer{
		{Status: 200, Body: []byte(`{"message-count":"1","messages":[{"to":"447700900000","message-id":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab","status":"0","remaining-balance":"3.14159265","message-price":"0.03330000","network":"12345","client-ref":"my-personal-reference","account-ref":"customer1234"}]}`)},
		{Status: 200, Body: []byte(`{"message-count":"2","messages":[{"message-id":"a","status":"0"},{"status":"1","error-text":"Throttled"}]}`)},
		{Status: 200, Body: []byte(`{"message-count":"1","messages":[{"status":"6","error-text":"Unroutable message - rejected"}]}`)},
		{Status: 200, Body: []byte(`{"message-count":"1","messages":[{"status":"0"}]}`)},
		{Status: 200, Body: []byte(`{"messages":[]}`)},
		{Status: 401, Body: []byte(`{"type":"https://developer.nexmo.com/api-errors#unauthorized","title":"Unauthorized"}`)},
	} {
		f.Add(uint8(1), a.Status, a.RetryAfter, a.Body)
	}
	srv := messagetest.NewAnswerServer(false)
	defer srv.Close()
	tw, err := sms.NewTwilio(sms.TwilioConfig{Name: "twilio-fr", AccountSID: accountSID, AuthToken: authToken, From: "+33700000001",
		BaseURL: srv.URL, Clock: clock.NewFake(t0)})
	if err != nil {
		f.Fatal(err)
	}
	defer tw.Close()
	vo, err := sms.NewVonage(sms.VonageConfig{Name: "vonage-fr", APIKey: "vk1", APISecret: vonageSecret, From: "Parcours", BaseURL: srv.URL})
	if err != nil {
		f.Fatal(err)
	}
	defer vo.Close()
	m := &provider.Message{Key: "api:k", Channel: provider.SMS, To: "+33612345678", Body: "Bonjour"}
	f.Fuzz(func(t *testing.T, which uint8, status int, retryAfter string, body []byte) {
		a := srv.Set(messagetest.Answer{Status: status, RetryAfter: retryAfter, Body: body})
		p := provider.Provider(tw)
		if which%2 == 1 {
			p = vo
		}
		res, err := p.Send(context.Background(), m)
		messagetest.CheckAnswer(t, p.Name(), a, res, err)
	})
}
