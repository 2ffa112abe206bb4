package sms

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
)

// vonageBounce are DLR err-codes that mean the number cannot receive for
// good: 3 absent subscriber (permanent), 9 illegal number, 11 unroutable,
// 12 destination unreachable. (14, blocked by the carrier, is about the
// sender, not the number, and stays a plain failure.)
var vonageBounce = map[string]bool{"3": true, "9": true, "11": true, "12": true}

// ParseVonageDLR parses a delivery receipt
// (https://developer.vonage.com/en/messaging/sms/guides/delivery-receipts):
// GET query parameters, or a POST form or JSON body, with messageId,
// msisdn, status (delivered, expired, failed, rejected, accepted,
// buffered, unknown), err-code, client-ref, api-key and message-timestamp
// ("2006-01-02 15:04:05" UTC). The SMS API does not sign DLRs unless
// signed webhooks are enabled on the account, so the check here is that
// api-key is the configured one; serve the endpoint on an unguessable
// path as well.
func ParseVonageDLR(r *http.Request, apiKey, providerName string, now time.Time) (provider.Receipt, error) {
	p, err := vonageParams(r)
	if err != nil {
		return provider.Receipt{}, err
	}
	if subtle.ConstantTimeCompare([]byte(p.Get("api-key")), []byte(apiKey)) != 1 {
		return provider.Receipt{}, fmt.Errorf("%w: api-key is not this provider's", ErrBadSignature)
	}
	id := p.Get("messageId")
	if id == "" {
		return provider.Receipt{}, errors.New("vonage dlr: no messageId")
	}
	at := now
	if ts, err := time.Parse(time.DateTime, p.Get("message-timestamp")); err == nil {
		at = ts.UTC()
	}
	rc := provider.Receipt{Provider: providerName, ProviderID: id, At: at, Address: "+" + p.Get("msisdn"), Code: p.Get("err-code")}
	switch st := p.Get("status"); st {
	case "delivered":
		rc.Status = provider.Delivered
	case "accepted":
		rc.Status = provider.Sent
	case "expired", "failed", "rejected":
		rc.Status, rc.Reason = provider.Failed, st
		if vonageBounce[rc.Code] {
			rc.Status = provider.Bounced
		}
	case "buffered", "unknown":
		return provider.Receipt{}, fmt.Errorf("%w: %s", ErrInterimStatus, st)
	default:
		return provider.Receipt{}, fmt.Errorf("vonage dlr: unknown status %q", st)
	}
	return rc, nil
}

func vonageParams(r *http.Request) (url.Values, error) {
	if r.Method == http.MethodGet {
		return r.URL.Query(), nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		r.Body = http.MaxBytesReader(nil, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("vonage dlr: parse form: %w", err)
		}
		return r.Form, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxForm))
	if err != nil {
		return nil, fmt.Errorf("vonage dlr: read body: %w", err)
	}
	// Numbers keep their digits: a msisdn sent as a JSON number would
	// otherwise print as 4.477009e+11.
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("vonage dlr: decode JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("vonage dlr: decode JSON: the body holds more than one JSON object")
	}
	v := url.Values{}
	for k, x := range m {
		if s, ok := x.(string); ok {
			v.Set(k, s)
		} else if x != nil {
			v.Set(k, fmt.Sprint(x))
		}
	}
	return v, nil
}

// ParseVonageInbound parses an inbound SMS webhook
// (https://developer.vonage.com/en/messaging/sms/guides/inbound-sms):
// msisdn (the customer), to (the brand's number), messageId, text, sent
// as GET query, POST form or JSON, with the same api-key check as DLRs.
// Concatenated parts (concat=true) arrive one by one; each is returned
// as is (an opt-out keyword always fits in one part).
func ParseVonageInbound(r *http.Request, apiKey, providerName string) (Inbound, error) {
	p, err := vonageParams(r)
	if err != nil {
		return Inbound{}, err
	}
	if subtle.ConstantTimeCompare([]byte(p.Get("api-key")), []byte(apiKey)) != 1 {
		return Inbound{}, fmt.Errorf("%w: api-key is not this provider's", ErrBadSignature)
	}
	in := Inbound{Provider: providerName, MessageID: p.Get("messageId"), From: "+" + p.Get("msisdn"), To: p.Get("to"), Body: p.Get("text")}
	if in.MessageID == "" || in.From == "+" {
		return Inbound{}, errors.New("vonage inbound: msisdn and messageId are required")
	}
	return in, nil
}
