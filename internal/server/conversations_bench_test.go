package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message/sms"
)

// BenchmarkInboundToConversation: a customer's SMS through Twilio's signed
// callback, until an agent's GET of the conversation shows it. It reports
// the p50 and p99 of that path (target: p99 < 200 ms) over 50 customers.
//
//	go test ./internal/server -run XXX -bench InboundToConversation -benchtime 1000x
func BenchmarkInboundToConversation(b *testing.B) {
	twilio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) }))
	defer twilio.Close()
	h := newHarness(b, withProviders(b, `
  - name: twilio-fr
    type: twilio
    channel: sms
    settings:
      account_sid: AC123
      auth_token: tok
      from: "+33700000000"
      base_url: `+twilio.URL), noRateLimit)
	const customers = 50
	ts := h.clock.Now().Format(time.RFC3339)
	for i := range customers {
		if code, resp := h.ingest("/v1/identify", fmt.Sprintf(`{"userId":"c%d","traits":{"phone":"+336100000%02d"},"timestamp":"%s"}`, i, i, ts)); code != 200 {
			b.Fatalf("%d %v", code, resp)
		}
	}
	h.waitUnify()
	in := "/hooks/twilio/twilio-fr/inbound"
	conv := map[int]string{}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for n := range b.N {
		i := n % customers
		body := fmt.Sprintf("message %d", n)
		form := url.Values{"MessageSid": {fmt.Sprintf("SMb%d", n)}, "From": {fmt.Sprintf("+336100000%02d", i)}, "To": {"+33700000000"},
			"Body": {body}, "AccountSid": {"AC123"}}
		start := time.Now()
		req, _ := http.NewRequest("POST", h.http.URL+in, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sms.TwilioSignature("tok", "https://shop.example"+in, form))
		res, err := h.client.Do(req)
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("inbound: %v %v", res, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if conv[i] == "" {
			_, out := h.adminJSON("GET", "/api/v1/conversations?customer="+url.QueryEscape(form.Get("From")), "")
			conv[i] = jsonNumber(out["conversations"].([]any)[0].(map[string]any)["id"])
		}
		_, out := h.adminJSON("GET", "/api/v1/conversations/"+conv[i], "")
		ms := out["messages"].([]any)
		if ms[len(ms)-1].(map[string]any)["body"] != body {
			b.Fatalf("the message is not visible: %v", ms[len(ms)-1])
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
