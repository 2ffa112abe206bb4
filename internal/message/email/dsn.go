package email

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
)

// ErrNotReport: the message is not a delivery status notification or a
// feedback report (an auto-reply, spam to the bounce address, ...).
var ErrNotReport = errors.New("email: not a delivery status notification or feedback report")

// maxReport bounds how much of a report is read.
const maxReport = 4 << 20

// ParseDSN reads a bounce or complaint message and returns one receipt per
// reported recipient:
//
//   - multipart/report; report-type=delivery-status (RFC 3464): each
//     per-recipient block with Action failed and a 5.x.x Status is Bounced
//     (5.2.2 "mailbox full" is SoftBounced: it heals), failed with 4.x.x
//     or Action delayed is SoftBounced, delivered/relayed is Delivered;
//   - multipart/report; report-type=feedback-report (RFC 5965, ARF):
//     Complained.
//
// ProviderID is the original Message-ID (angle brackets removed), taken
// from the returned headers part (text/rfc822-headers or message/rfc822),
// which is what Send returned. At is Arrival-Date/Last-Attempt-Date, else
// the report's Date. The receipts' Provider is left empty for the caller.
func ParseDSN(r io.Reader) ([]provider.Receipt, error) {
	msg, err := mail.ReadMessage(io.LimitReader(r, maxReport))
	if err != nil {
		return nil, fmt.Errorf("email report: %w", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" {
		return nil, ErrNotReport
	}
	kind := strings.ToLower(params["report-type"])
	if kind != "delivery-status" && kind != "feedback-report" {
		return nil, ErrNotReport
	}
	reportDate, _ := msg.Header.Date()
	var status []byte
	var originalID string
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("email report: %w", err)
		}
		pt, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch pt {
		case "message/delivery-status", "message/global-delivery-status", "message/feedback-report":
			status, err = io.ReadAll(part)
			if err != nil {
				return nil, fmt.Errorf("email report: read %s: %w", pt, err)
			}
		case "text/rfc822-headers", "message/rfc822", "message/global-headers", "message/global":
			if h, err := textproto.NewReader(bufio.NewReader(part)).ReadMIMEHeader(); err == nil || len(h) > 0 {
				originalID = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
			}
		}
	}
	if status == nil {
		return nil, fmt.Errorf("email report: no %s part", kind)
	}
	groups, err := headerGroups(status)
	if err != nil {
		return nil, fmt.Errorf("email report: %w", err)
	}
	if len(groups) == 0 {
		return nil, errors.New("email report: empty status part")
	}
	if kind == "feedback-report" {
		return feedbackReceipts(groups[0], originalID, reportDate), nil
	}
	return dsnReceipts(groups, originalID, reportDate)
}

// headerGroups splits a delivery-status body into its header blocks: the
// per-message fields, then one block per recipient.
func headerGroups(b []byte) ([]textproto.MIMEHeader, error) {
	tr := textproto.NewReader(bufio.NewReader(strings.NewReader(strings.TrimLeft(string(b), "\r\n"))))
	var groups []textproto.MIMEHeader
	for {
		h, err := tr.ReadMIMEHeader()
		if len(h) > 0 {
			groups = append(groups, h)
		}
		if err == io.EOF {
			return groups, nil
		}
		if err != nil {
			return nil, err
		}
		// Skip extra blank lines between blocks.
		for {
			peek, err := tr.R.Peek(1)
			if err != nil || (peek[0] != '\r' && peek[0] != '\n') {
				break
			}
			_, _ = tr.R.ReadByte()
		}
	}
}

func dsnReceipts(groups []textproto.MIMEHeader, originalID string, reportDate time.Time) ([]provider.Receipt, error) {
	perMessage := groups[0]
	at := reportDate
	if t, err := mail.ParseDate(perMessage.Get("Arrival-Date")); err == nil {
		at = t
	}
	var out []provider.Receipt
	for _, g := range groups[1:] {
		rcpt := addrField(firstNonEmpty(g.Get("Final-Recipient"), g.Get("Original-Recipient")))
		if rcpt == "" {
			continue
		}
		when := at
		if t, err := mail.ParseDate(g.Get("Last-Attempt-Date")); err == nil {
			when = t
		}
		code := strings.Fields(g.Get("Status") + " ")
		st := ""
		if len(code) > 0 {
			st = code[0]
		}
		rc := provider.Receipt{ProviderID: originalID, At: when.UTC(), Address: rcpt, Code: st, Reason: strings.TrimSpace(g.Get("Diagnostic-Code"))}
		switch action := strings.ToLower(strings.TrimSpace(g.Get("Action"))); {
		case action == "failed" && strings.HasPrefix(st, "5.") && st != "5.2.2":
			rc.Status = provider.Bounced
		case action == "failed", action == "delayed":
			rc.Status = provider.SoftBounced
		case action == "delivered", action == "relayed", action == "expanded":
			rc.Status = provider.Delivered
		default:
			continue
		}
		out = append(out, rc)
	}
	if len(out) == 0 {
		return nil, errors.New("email report: no per-recipient block with a Final-Recipient and a known Action")
	}
	return out, nil
}

func feedbackReceipts(h textproto.MIMEHeader, originalID string, reportDate time.Time) []provider.Receipt {
	at := reportDate
	if t, err := mail.ParseDate(h.Get("Arrival-Date")); err == nil {
		at = t
	}
	rc := provider.Receipt{ProviderID: originalID, Status: provider.Complained, At: at.UTC(),
		Address: strings.Trim(strings.TrimSpace(h.Get("Original-Rcpt-To")), "<>"), Code: h.Get("Feedback-Type")}
	return []provider.Receipt{rc}
}

// addrField reads "rfc822; user@example.com" (address-type; address).
func addrField(v string) string {
	if _, addr, ok := strings.Cut(v, ";"); ok {
		v = addr
	}
	return strings.Trim(strings.TrimSpace(v), "<>")
}
