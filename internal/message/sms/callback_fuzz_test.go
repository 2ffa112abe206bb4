package sms_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/sms"
)

// The fuzz targets of the provider callbacks: seeds are the wire formats
// of the providers' documentation, the properties hold for any input.

const twilioFullURL = "https://crm.shop.example/hooks/twilio/twilio-fr/status"

// twilioStatusSeeds are status callbacks as Twilio posts them
// (https://www.twilio.com/docs/messaging/guides/track-outbound-message-status).
var twilioStatusSeeds = []string{
	"SmsSid=SM2xxxxxx&SmsStatus=sent&MessageStatus=sent&To=%2B15558675310&MessageSid=SM2xxxxxx&AccountSid=ACxxxxxxx&From=%2B15017250604&ApiVersion=2010-04-01",
	"ApiVersion=2010-04-01&AccountSid=ACxxxxxxx&MessageSid=SMxxxxxxx&MessageStatus=delivered&SmsSid=SMxxxxxxx&SmsStatus=delivered&To=%2B33612345678&From=%2B33700000001&RawDlrDoneDate=2611231401",
	"MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30005&To=%2B33612345678",
	"MessageSid=SM1&MessageStatus=failed&ErrorCode=30006&ErrorMessage=Landline+or+unreachable+carrier",
	"MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003",
	"SmsSid=SM9&SmsStatus=read&MessageStatus=read&To=whatsapp%3A%2B33612345678",
	"MessageSid=SM1&MessageStatus=queued",
	"MessageSid=SM1&MessageStatus=partially_delivered",
	"MessageStatus=delivered",
	"MessageSid=SM1&MessageSid=SM2&MessageStatus=delivered&MessageStatus=failed",
	"MessageSid=%zz",
	"a=1;b=2",
}

// twilioPost is a callback request with body, signed for fullURL with
// token when sign is set.
func twilioPost(body string, form url.Values, fullURL string, token provider.Secret) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/twilio/twilio-fr/status", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Twilio-Signature", sms.TwilioSignature(token, fullURL, form))
	return r
}

// checkTwilioSignature holds a Twilio parser to its signature: the body
// signed for the configured URL with the account's token is never refused
// as forged; signed with another token, for another URL, or with a
// parameter added after signing, it always is.
func checkTwilioSignature(t *testing.T, body string, parse func(*http.Request) error) (form url.Values, ok bool) {
	t.Helper()
	form, perr := url.ParseQuery(body)
	if perr != nil {
		if parse(twilioPost(body, form, twilioFullURL, authToken)) == nil {
			t.Fatalf("body %q does not parse as a form (%v), yet was accepted", body, perr)
		}
		return nil, false
	}
	altered := body + "&Tampered=1"
	if body == "" {
		altered = "Tampered=1"
	}
	for what, r := range map[string]*http.Request{
		"another token":                   twilioPost(body, form, twilioFullURL, authToken+"x"),
		"another URL":                     twilioPost(body, form, twilioFullURL+"x", authToken),
		"a parameter added after signing": twilioPost(altered, form, twilioFullURL, authToken),
	} {
		if err := parse(r); !errors.Is(err, sms.ErrBadSignature) {
			t.Fatalf("body %q signed with %s: %v, want ErrBadSignature", body, what, err)
		}
	}
	// Last, so that what parse keeps is this call's result.
	err := parse(twilioPost(body, form, twilioFullURL, authToken))
	if errors.Is(err, sms.ErrBadSignature) {
		t.Fatalf("body %q signed as Twilio signs it refused as forged", body)
	}
	return form, err == nil
}

// FuzzTwilioStatusCallback: any signed status callback is parsed without
// panic into a receipt of a known status, or refused; a receipt, written
// back as Twilio would send it, parses to the same receipt.
func FuzzTwilioStatusCallback(f *testing.F) {
	for _, s := range twilioStatusSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var rc provider.Receipt
		parse := func(r *http.Request) error {
			var err error
			rc, err = sms.ParseTwilioStatusCallback(r, authToken, twilioFullURL, "twilio-fr", t0)
			return err
		}
		if _, ok := checkTwilioSignature(t, body, parse); !ok {
			return
		}
		switch {
		case rc.Provider != "twilio-fr" || rc.ProviderID == "" || !rc.At.Equal(t0):
			t.Fatalf("%q: receipt %+v", body, rc)
		case rc.Status == provider.Bounced && rc.Code != "30005" && rc.Code != "30006":
			t.Fatalf("%q: bounce (the number suppressed) on error code %q", body, rc.Code)
		case (rc.Status == provider.Failed || rc.Status == provider.Bounced) != (rc.Reason == "undelivered" || rc.Reason == "failed"):
			t.Fatalf("%q: status %s with reason %q", body, rc.Status, rc.Reason)
		case rc.Status != provider.Sent && rc.Status != provider.Delivered && rc.Status != provider.Read &&
			rc.Status != provider.Failed && rc.Status != provider.Bounced:
			t.Fatalf("%q: status %q", body, rc.Status)
		}
		// Round trip: the receipt as Twilio would post it.
		status := map[provider.Status]string{provider.Sent: "sent", provider.Delivered: "delivered", provider.Read: "read"}[rc.Status]
		if status == "" {
			status = rc.Reason
		}
		back := url.Values{"MessageSid": {rc.ProviderID}, "MessageStatus": {status}}
		if rc.Address != "" {
			back.Set("To", rc.Address)
		}
		if rc.Code != "" {
			back.Set("ErrorCode", rc.Code)
		}
		again, err := sms.ParseTwilioStatusCallback(twilioPost(back.Encode(), back, twilioFullURL, authToken), authToken, twilioFullURL, "twilio-fr", t0)
		if err != nil || again != rc {
			t.Fatalf("%q: receipt %+v written back as %q parses to %+v, %v", body, rc, back.Encode(), again, err)
		}
	})
}

// FuzzTwilioInbound: any signed incoming-message webhook is parsed without
// panic into a text with its sender and id, or refused; the text, written
// back as Twilio would send it, parses to the same text.
func FuzzTwilioInbound(f *testing.F) {
	// https://www.twilio.com/docs/messaging/guides/webhook-request
	for _, s := range []string{
		"ToCountry=FR&ToState=&SmsMessageSid=SM77&NumMedia=0&ToCity=&FromZip=&SmsSid=SM77&FromState=&SmsStatus=received&FromCity=&Body=STOP&FromCountry=FR&To=%2B33700000001&MessagingServiceSid=MG1&ToZip=&NumSegments=1&MessageSid=SM77&AccountSid=AC1&From=%2B33612345678&ApiVersion=2010-04-01",
		"MessageSid=SM1&From=%2B33612345678&To=%2B33700000001&Body=Arr%C3%AAt.",
		"MessageSid=SM1&From=%2B33612345678&Body=%F0%9F%8E%89+Bonjour%0Aje+voudrais",
		"MessageSid=SM1&From=whatsapp%3A%2B33612345678&Body=stop&NumMedia=1&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm",
		"From=%2B33612345678&Body=STOP",
		"MessageSid=SM1&Body=STOP",
		"Body=%ff%fe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var in sms.Inbound
		parse := func(r *http.Request) error {
			var err error
			in, err = sms.ParseTwilioInbound(r, authToken, twilioFullURL, "twilio-fr")
			return err
		}
		form, ok := checkTwilioSignature(t, body, parse)
		if !ok {
			return
		}
		if in.Provider != "twilio-fr" || in.From == "" || in.MessageID == "" || in.Body != form.Get("Body") {
			t.Fatalf("%q: inbound %+v", body, in)
		}
		_ = in.IsOptOut()
		back := url.Values{"MessageSid": {in.MessageID}, "From": {in.From}, "To": {in.To}, "Body": {in.Body}}
		again, err := sms.ParseTwilioInbound(twilioPost(back.Encode(), back, twilioFullURL, authToken), authToken, twilioFullURL, "twilio-fr")
		if err != nil || again != in {
			t.Fatalf("%q: inbound %+v written back parses to %+v, %v", body, in, again, err)
		}
	})
}

// vonageRequest makes a Vonage callback request: mode 0 is a GET with
// payload as its query, 1 a POST form, 2 a POST JSON body — the three
// ways Vonage calls back.
func vonageRequest(mode uint8, payload string) *http.Request {
	switch mode % 3 {
	case 0:
		return &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/hooks/vonage/vonage-fr/dlr", RawQuery: payload}, Header: http.Header{}}
	case 1:
		r := httptest.NewRequest(http.MethodPost, "/hooks/vonage/vonage-fr/dlr", strings.NewReader(payload))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	default:
		r := httptest.NewRequest(http.MethodPost, "/hooks/vonage/vonage-fr/dlr", strings.NewReader(payload))
		r.Header.Set("Content-Type", "application/json; charset=utf-8")
		return r
	}
}

// jsonNumbers are the fields of a JSON payload sent as numbers, with
// their literal digits: Vonage's parsers must keep them as they are.
func jsonNumbers(mode uint8, payload string) map[string]string {
	out := map[string]string{}
	if mode%3 != 2 {
		return out
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(payload)))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return out
	}
	for k, v := range m {
		if n, ok := v.(json.Number); ok {
			out[k] = n.String()
		}
	}
	return out
}

// vonageDLRSeeds are delivery receipts as Vonage sends them
// (https://developer.vonage.com/en/messaging/sms/guides/delivery-receipts),
// by GET, POST form and POST JSON.
var vonageDLRSeeds = []struct {
	mode    uint8
	payload string
}{
	{0, "msisdn=447700900000&to=AcmeInc&network-code=12345&messageId=0A0000001234567B&price=0.03330000&status=delivered&scts=2001011400&err-code=0&api-key=vk1&message-timestamp=2020-01-01+12%3A00%3A00"},
	{1, "msisdn=33612345678&to=Parcours&messageId=X1&status=failed&err-code=9&api-key=vk1&client-ref=api%3Aorder-1&message-timestamp=2026-11-23+14%3A01%3A02"},
	{2, `{"msisdn":"447700900000","to":"AcmeInc","network-code":"12345","messageId":"0A0000001234567B","price":"0.03330000","status":"delivered","scts":"2001011400","err-code":"0","api-key":"vk1","message-timestamp":"2020-01-01 12:00:00"}`},
	{2, `{"msisdn":447700900000,"messageId":"X2","status":"expired","err-code":3,"api-key":"vk1","message-timestamp":"2020-01-01 12:00:00.123"}`},
	{0, "messageId=X3&status=rejected&err-code=14&api-key=vk1"},
	{0, "messageId=X4&status=accepted&api-key=vk1"},
	{1, "messageId=X5&status=buffered&api-key=vk1"},
	{2, `{"messageId":"X6","status":"unknown","api-key":"vk1"}`},
	{0, "messageId=X7&status=delivered&api-key=someone-else"},
	{2, `{"messageId":null,"status":["delivered"],"api-key":{"k":"vk1"}}`},
	{2, `[`},
	{0, "messageId=%zz&status=delivered&api-key=vk1"},
}

// FuzzVonageDLR: any delivery receipt, by GET, form or JSON, is parsed
// without panic into a receipt of a known status, or refused; one accepted
// with the account's api-key is refused under any other key; a receipt,
// written back as Vonage would send it, parses to the same receipt.
func FuzzVonageDLR(f *testing.F) {
	for _, s := range vonageDLRSeeds {
		f.Add(s.mode, s.payload)
	}
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, mode uint8, payload string) {
		rc, err := sms.ParseVonageDLR(vonageRequest(mode, payload), "vk1", "vonage-fr", now)
		if err != nil {
			return
		}
		switch {
		case rc.Provider != "vonage-fr" || rc.ProviderID == "" || !strings.HasPrefix(rc.Address, "+") || rc.At.IsZero():
			t.Fatalf("%d %q: receipt %+v", mode, payload, rc)
		case rc.Status == provider.Bounced && !map[string]bool{"3": true, "9": true, "11": true, "12": true}[rc.Code]:
			t.Fatalf("%d %q: bounce (the number suppressed) on err-code %q", mode, payload, rc.Code)
		case (rc.Status == provider.Failed || rc.Status == provider.Bounced) != (rc.Reason == "expired" || rc.Reason == "failed" || rc.Reason == "rejected"):
			t.Fatalf("%d %q: status %s with reason %q", mode, payload, rc.Status, rc.Reason)
		case rc.Status != provider.Sent && rc.Status != provider.Delivered && rc.Status != provider.Failed && rc.Status != provider.Bounced:
			t.Fatalf("%d %q: status %q", mode, payload, rc.Status)
		}
		for field, got := range map[string]string{"msisdn": rc.Address[1:], "messageId": rc.ProviderID, "err-code": rc.Code} {
			if n, ok := jsonNumbers(mode, payload)[field]; ok && got != n {
				t.Fatalf("%q: %s %s read as %q", payload, field, n, got)
			}
		}
		if _, err := sms.ParseVonageDLR(vonageRequest(mode, payload), "vk2", "vonage-fr", now); !errors.Is(err, sms.ErrBadSignature) {
			t.Fatalf("%d %q: accepted with api-key vk1, then under vk2: %v", mode, payload, err)
		}
		// Round trip: the receipt as Vonage would send it.
		status := map[provider.Status]string{provider.Sent: "accepted", provider.Delivered: "delivered"}[rc.Status]
		if status == "" {
			status = rc.Reason
		}
		back := url.Values{"messageId": {rc.ProviderID}, "msisdn": {strings.TrimPrefix(rc.Address, "+")}, "status": {status},
			"err-code": {rc.Code}, "api-key": {"vk1"}, "message-timestamp": {rc.At.Format("2006-01-02 15:04:05.999999999")}}
		again, err := sms.ParseVonageDLR(vonageRequest(0, back.Encode()), "vk1", "vonage-fr", now)
		if err != nil || again.Status != rc.Status || !again.At.Equal(rc.At) {
			t.Fatalf("%d %q: receipt %+v written back as %q parses to %+v, %v", mode, payload, rc, back.Encode(), again, err)
		}
		again.At = rc.At
		if again != rc {
			t.Fatalf("%d %q: receipt %+v written back as %q parses to %+v", mode, payload, rc, back.Encode(), again)
		}
	})
}

// FuzzVonageInbound: any inbound SMS webhook is parsed without panic into
// a text with its sender and id, or refused; one accepted with the
// account's api-key is refused under any other; the text, written back as
// Vonage would send it, parses to the same text.
func FuzzVonageInbound(f *testing.F) {
	// https://developer.vonage.com/en/messaging/sms/guides/inbound-sms
	for _, s := range []struct {
		mode    uint8
		payload string
	}{
		{0, "msisdn=447700900001&to=447700900000&messageId=0A0000000123ABCD1&text=Hello+world&type=text&keyword=HELLO&api-key=vk1&message-timestamp=2020-01-01+12%3A00%3A00"},
		{1, "msisdn=33612345678&to=33700000001&messageId=X1&text=ARR%C3%8AT&type=unicode&keyword=ARR%C3%8AT&api-key=vk1"},
		{2, `{"msisdn":"447700900001","to":"447700900000","messageId":"0A0000000123ABCD1","text":"STOP","type":"text","keyword":"STOP","api-key":"vk1","message-timestamp":"2020-01-01 12:00:00"}`},
		{2, `{"msisdn":"33612345678","messageId":"X2","text":"Stop","concat":"true","concat-ref":"1","concat-total":"2","concat-part":"1","api-key":"vk1"}`},
		{0, "msisdn=&messageId=X3&text=STOP&api-key=vk1"},
		{0, "msisdn=33612345678&text=STOP&api-key=vk1"},
		{2, `{"msisdn":33612345678,"messageId":4,"text":null,"api-key":"vk1"}`},
	} {
		f.Add(s.mode, s.payload)
	}
	f.Fuzz(func(t *testing.T, mode uint8, payload string) {
		in, err := sms.ParseVonageInbound(vonageRequest(mode, payload), "vk1", "vonage-fr")
		if err != nil {
			return
		}
		if in.Provider != "vonage-fr" || in.MessageID == "" || len(in.From) < 2 || in.From[0] != '+' {
			t.Fatalf("%d %q: inbound %+v", mode, payload, in)
		}
		_ = in.IsOptOut()
		for field, got := range map[string]string{"msisdn": in.From[1:], "messageId": in.MessageID, "text": in.Body} {
			if n, ok := jsonNumbers(mode, payload)[field]; ok && got != n {
				t.Fatalf("%q: %s %s read as %q", payload, field, n, got)
			}
		}
		if _, err := sms.ParseVonageInbound(vonageRequest(mode, payload), "vk2", "vonage-fr"); !errors.Is(err, sms.ErrBadSignature) {
			t.Fatalf("%d %q: accepted with api-key vk1, then under vk2: %v", mode, payload, err)
		}
		back := url.Values{"messageId": {in.MessageID}, "msisdn": {in.From[1:]}, "to": {in.To}, "text": {in.Body}, "api-key": {"vk1"}}
		again, err := sms.ParseVonageInbound(vonageRequest(0, back.Encode()), "vk1", "vonage-fr")
		if err != nil || again != in {
			t.Fatalf("%d %q: inbound %+v written back parses to %+v, %v", mode, payload, in, again, err)
		}
	})
}
