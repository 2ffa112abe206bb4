package webhook_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/webhook"
)

// receiptRequest is a receipt POSTed to Parcours with header as its
// Parcours-Signature.
func receiptRequest(body []byte, header string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/webhook/crm-hook/receipts", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(webhook.SignatureHeader, header)
	return r
}

// FuzzParseReceipt holds signed receipts to their promise: a body signed
// with the provider's secret within the tolerance is never refused for
// its signature, and reads as DecodeReceipt reads it; the body altered in
// any byte, signed with another secret or too long ago is always refused;
// any header the fuzzer makes up is refused unless it verifies; a receipt
// written back as a receiver would write it reads the same.
func FuzzParseReceipt(f *testing.F) {
	// The receipt format of docs/messages.md, as receivers send it.
	for _, s := range []string{
		`{"provider_id":"rcv-42","status":"delivered","at":"2026-11-23T14:00:05Z","address":"cust-1"}`,
		`{"provider_id":"api:order-1042","status":"bounced","at":"2026-11-23T14:00:05+01:00","code":"550","reason":"mailbox unknown"}`,
		`{"provider_id":"x","status":"soft_bounced","at":"2026-11-23T14:00:05.123456789Z"}`,
		`{"provider_id":"x","status":"complained","at":"2026-11-23T13:59:00-08:00","address":"+33612345678"}`,
		`{"provider_id":"x","status":"opened","at":"2026-11-23T14:00:05Z","extra":{"ua":"Mozilla"}}`,
		`{"provider_id":"x","status":"lost","at":"2026-11-23T14:00:05Z"}`,
		`{"provider_id":"","status":"sent","at":"2026-11-23T14:00:05Z"}`,
		`{"provider_id":"x","status":"sent","at":"0000-01-01T00:00:00+01:00"}`,
		`{"provider_id":"x","status":"sent","at":"9999-12-31T23:59:59-01:00"}`,
		`{"provider_id":"x","status":"sent"}`,
		`[{"provider_id":"x"}]`,
		`{"provider_id":"x","status":"sent","at":"2026-11-23T14:00:05Z"} trailing`,
	} {
		f.Add([]byte(s), "t=1795442400,v1=00", 3, byte('!'))
	}
	f.Fuzz(func(t *testing.T, body []byte, header string, at int, b byte) {
		parse := func(header string, now time.Time) (provider.Receipt, error) {
			return webhook.ParseReceipt(receiptRequest(body, header), "crm-hook", secret, now, 5*time.Minute)
		}
		// A header from anywhere: refused unless it verifies.
		if _, err := parse(header, t0); err == nil && webhook.Verify(secret, header, body, t0, 5*time.Minute) != nil {
			t.Fatalf("header %q accepted for %q though it does not verify", header, body)
		}
		signed := webhook.Sign(secret, t0, body)
		for what, r := range map[string]func() (provider.Receipt, error){
			"another secret": func() (provider.Receipt, error) { return parse(webhook.Sign("whsec-other", t0, body), t0) },
			"a body altered after signing": func() (provider.Receipt, error) {
				if len(body) == 0 {
					return webhook.ParseReceipt(receiptRequest([]byte{b}, signed), "crm-hook", secret, t0, 5*time.Minute)
				}
				altered := bytes.Clone(body)
				i := max(at, 0) % len(altered)
				altered[i] ^= b | 1 // never the same byte
				return webhook.ParseReceipt(receiptRequest(altered, signed), "crm-hook", secret, t0, 5*time.Minute)
			},
		} {
			if _, err := r(); !errors.Is(err, webhook.ErrBadSignature) && len(body) <= 16<<10 {
				t.Fatalf("%q signed with %s: %v, want ErrBadSignature", body, what, err)
			}
		}
		if _, err := parse(signed, t0.Add(6*time.Minute)); err == nil {
			t.Fatalf("%q signed 6 minutes before: accepted", body)
		}

		rc, err := parse(signed, t0.Add(time.Minute))
		if len(body) > 16<<10 {
			if err == nil {
				t.Fatalf("a body of %d bytes accepted", len(body))
			}
			return
		}
		for _, sigErr := range []error{webhook.ErrBadSignature, webhook.ErrMalformed, webhook.ErrNoSignature, webhook.ErrStaleTimestamp} {
			if errors.Is(err, sigErr) {
				t.Fatalf("%q signed with the secret: %v", body, err)
			}
		}
		want, werr := webhook.DecodeReceipt("crm-hook", body)
		if (err == nil) != (werr == nil) || rc != want {
			t.Fatalf("%q: ParseReceipt %+v, %v; DecodeReceipt %+v, %v", body, rc, err, want, werr)
		}
		if err != nil {
			return
		}
		if rc.Provider != "crm-hook" || rc.ProviderID == "" || rc.At.IsZero() || rc.At.Location() != time.UTC {
			t.Fatalf("%q: receipt %+v", body, rc)
		}
		// Round trip: the receipt as a receiver writes it.
		back, err := json.Marshal(webhook.ReceiptBody{ProviderID: rc.ProviderID, Status: rc.Status, At: rc.At,
			Address: rc.Address, Code: rc.Code, Reason: rc.Reason})
		if err != nil {
			t.Fatalf("%q: receipt %+v does not encode: %v", body, rc, err)
		}
		again, err := webhook.DecodeReceipt("crm-hook", back)
		if err != nil || again != rc {
			t.Fatalf("%q: receipt %+v written back as %s reads %+v, %v", body, rc, back, again, err)
		}
	})
}
