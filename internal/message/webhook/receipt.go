package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
)

// maxReceipt bounds a receipt body: a receipt is a few hundred bytes.
const maxReceipt = 16 << 10

// ReceiptBody is what a webhook receiver POSTs back to report on a message,
// signed with the same secret and header as outgoing webhooks.
type ReceiptBody struct {
	ProviderID string          `json:"provider_id"` // the id it answered, or the send key
	Status     provider.Status `json:"status"`
	At         time.Time       `json:"at"` // RFC 3339
	Address    string          `json:"address,omitempty"`
	Code       string          `json:"code,omitempty"`
	Reason     string          `json:"reason,omitempty"`
}

var knownStatus = map[provider.Status]bool{
	provider.Sent: true, provider.Delivered: true, provider.Bounced: true, provider.SoftBounced: true,
	provider.Complained: true, provider.Failed: true, provider.Opened: true, provider.Clicked: true,
	provider.Unsubscribed: true, provider.Read: true,
}

// ParseReceipt reads a signed receipt from r: it verifies the
// Parcours-Signature header over the raw body (tolerance as in Verify) and
// decodes {"provider_id","status","at"} into a receipt of providerName.
// Signature errors wrap the Verify errors (ErrBadSignature, ...).
func ParseReceipt(r *http.Request, providerName string, secret provider.Secret, now time.Time, tolerance time.Duration) (provider.Receipt, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxReceipt+1))
	if err != nil {
		return provider.Receipt{}, fmt.Errorf("webhook receipt: read body: %w", err)
	}
	if len(body) > maxReceipt {
		return provider.Receipt{}, fmt.Errorf("webhook receipt: body over %d bytes", maxReceipt)
	}
	if err := Verify(secret, r.Header.Get(SignatureHeader), body, now, tolerance); err != nil {
		return provider.Receipt{}, fmt.Errorf("webhook receipt: %w", err)
	}
	return DecodeReceipt(providerName, body)
}

// DecodeReceipt decodes an already verified receipt body.
func DecodeReceipt(providerName string, body []byte) (provider.Receipt, error) {
	var rb ReceiptBody
	if err := json.Unmarshal(body, &rb); err != nil {
		return provider.Receipt{}, fmt.Errorf("webhook receipt: decode: %w", err)
	}
	switch {
	case rb.ProviderID == "":
		return provider.Receipt{}, errors.New("webhook receipt: provider_id is required")
	case !knownStatus[rb.Status]:
		return provider.Receipt{}, fmt.Errorf("webhook receipt: status %q is not one of sent, delivered, bounced, soft_bounced, complained, failed, opened, clicked, unsubscribed, read", rb.Status)
	case rb.At.IsZero():
		return provider.Receipt{}, errors.New("webhook receipt: at (RFC 3339 time) is required")
	case rb.At.UTC().Year() < 1 || rb.At.UTC().Year() > 9999:
		return provider.Receipt{}, fmt.Errorf("webhook receipt: at %s is outside years 1-9999 in UTC; send the time the message was delivered, like 2026-11-23T14:00:05Z", rb.At.Format(time.RFC3339))
	}
	return provider.Receipt{Provider: providerName, ProviderID: rb.ProviderID, Status: rb.Status, At: rb.At.UTC(),
		Address: rb.Address, Code: rb.Code, Reason: rb.Reason}, nil
}
