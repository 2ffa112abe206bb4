package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
)

// SignatureHeader is the header that carries the signature of a webhook
// request: "t=<unix seconds>,v1=<hex HMAC-SHA256>". Several v1 entries may
// appear while a secret is being rotated; one match is enough.
const SignatureHeader = "Parcours-Signature"

// IdempotencyHeader carries the message's send key: a receiver that sees
// the same key twice has received a retry and must not act twice.
const IdempotencyHeader = "Idempotency-Key"

// Errors of Verify, for receivers to tell a forgery from a stale replay.
var (
	ErrNoSignature    = errors.New("webhook: no Parcours-Signature header")
	ErrMalformed      = errors.New("webhook: malformed Parcours-Signature header")
	ErrBadSignature   = errors.New("webhook: signature does not match")
	ErrStaleTimestamp = errors.New("webhook: timestamp outside the tolerance")
	ErrEmptySecret    = errors.New("webhook: empty secret")
)

// DefaultTolerance is how far a signed timestamp may be from the
// receiver's clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

const signatureVersionKey = "v1"

// Sign returns the Parcours-Signature header value for body sent at ts:
// HMAC-SHA256 keyed by secret over "<unix seconds>.<body>", hex encoded.
func Sign(secret provider.Secret, ts time.Time, body []byte) string {
	unix := strconv.FormatInt(ts.Unix(), 10)
	return "t=" + unix + "," + signatureVersionKey + "=" + mac(secret, unix, body)
}

func mac(secret provider.Secret, unix string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret.Reveal()))
	h.Write([]byte(unix))
	h.Write([]byte{'.'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Verify checks a Parcours-Signature header against the raw request body,
// as a receiver of Parcours webhooks should before trusting it:
//
//  1. parse "t=<unix>,v1=<hex>[,v1=<hex>...]";
//  2. recompute HMAC-SHA256(secret, t + "." + body) and compare it in
//     constant time with each v1 value;
//  3. reject a timestamp further than tolerance from now (either way), so
//     a captured request cannot be replayed later. tolerance <= 0 means
//     DefaultTolerance (5 minutes).
//
// Receivers should also de-duplicate on the Idempotency-Key header.
func Verify(secret provider.Secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if secret.Reveal() == "" {
		return ErrEmptySecret
	}
	if header == "" {
		return ErrNoSignature
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var unix string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: %q has no '='", ErrMalformed, part)
		}
		switch k {
		case "t":
			unix = v
		case signatureVersionKey:
			sigs = append(sigs, v)
		}
	}
	if unix == "" || len(sigs) == 0 {
		return fmt.Errorf("%w: want t=<unix>,v1=<hex>", ErrMalformed)
	}
	secs, err := strconv.ParseInt(unix, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q: %w", ErrMalformed, unix, err)
	}
	want := mac(secret, unix, body)
	matched := false
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			matched = true
		}
	}
	if !matched {
		return ErrBadSignature
	}
	// The age is checked after the MAC so that an attacker learns nothing
	// about timing from a forged header.
	age := now.Sub(time.Unix(secs, 0))
	if age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: signed %s ago, tolerance %s", ErrStaleTimestamp, age.Round(time.Second), tolerance)
	}
	return nil
}
