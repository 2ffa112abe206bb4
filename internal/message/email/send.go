package email

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	mail "github.com/wneessen/go-mail"

	"github.com/parcours/parcours/internal/message/provider"
)

// MessageID is the Message-ID (without angle brackets) of the message with
// send key key: the same key always gives the same id, so a retried email
// is recognisably the same message to receivers and to bounce matching.
func MessageID(key, domain string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:20]) + "@" + domain
}

// build renders m as a go-mail message.
func (p *Provider) build(m *provider.Message, id string) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(firstNonEmpty(m.From, p.cfg.From)); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(id)
	msg.SetDateWithValue(p.clock.Now())
	// Header order is made stable so a retry renders the same bytes.
	keys := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch strings.ToLower(k) {
		case "from", "to", "cc", "bcc", "subject", "message-id", "date", "content-type", "mime-version":
			return nil, fmt.Errorf("header %s is set by the provider", k)
		}
		msg.SetGenHeader(mail.Header(k), m.Headers[k])
	}
	switch {
	case m.HTML != "" && m.Text != "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	case m.HTML != "":
		msg.SetBodyString(mail.TypeTextHTML, m.HTML)
	case m.Text != "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
	default:
		return nil, errors.New("message has neither text nor HTML")
	}
	return msg, nil
}

// Send delivers m over a pooled connection. A failure before the server
// took the message on a reused connection (closed by the server while
// idle) is retried once on a fresh connection; a failure after the final
// "." is never retried here, since the server may have queued it.
func (p *Provider) Send(ctx context.Context, m *provider.Message) (provider.Result, error) {
	if m.Key == "" {
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "invalid", Err: errors.New("message has no send key")}
	}
	id := MessageID(m.Key, p.cfg.MessageIDDomain)
	for attempt := 0; ; attempt++ {
		msg, err := p.build(m, id)
		if err != nil {
			return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "invalid", Err: err}
		}
		cn, err := p.pool.get(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return provider.Result{}, fmt.Errorf("%s: %w", p.cfg.Name, ctx.Err())
			}
			return provider.Result{}, p.classifyDial(err)
		}
		// Cancelling ctx closes the socket, which aborts a blocked command.
		stop := context.AfterFunc(ctx, func() { _ = cn.raw.Close() })
		err = p.mc.SendWithSMTPClient(cn.c, msg)
		canceled := !stop()
		if err == nil {
			p.pool.put(cn, !canceled)
			return provider.Result{ProviderID: id}, nil
		}
		var se *mail.SendError
		isSE := errors.As(err, &se)
		// An SMTP reply (4xx/5xx) leaves the session usable; anything
		// else (EOF, reset, timeout) leaves it in an unknown state.
		replied := isSE && se.ErrorCode() != 0
		p.pool.put(cn, replied && !canceled)
		if canceled {
			return provider.Result{}, fmt.Errorf("%s: %w", p.cfg.Name, ctx.Err())
		}
		if !replied && cn.reused && attempt == 0 && isSE && beforeData(se.Reason) {
			continue
		}
		return provider.Result{}, p.classify(err)
	}
}

// beforeData reports whether a failure happened before the message content
// was handed over, so that retrying cannot duplicate it.
func beforeData(r mail.SendErrReason) bool {
	return r == mail.ErrConnCheck || r == mail.ErrSMTPMailFrom
}

// classify maps a go-mail error to a provider error: 4xx replies and
// network failures are temporary, 5xx permanent; 550/551/553 on RCPT TO
// with no enhanced code or a 5.1.x one (bad mailbox or address) suppress
// the address.
func (p *Provider) classify(err error) error {
	pe := &provider.Error{Provider: p.cfg.Name, Temporary: true, Code: "transport", Err: err}
	var se *mail.SendError
	if !errors.As(err, &se) {
		return pe
	}
	code, esc := se.ErrorCode(), se.EnhancedStatusCode()
	if code == 0 {
		return pe
	}
	pe.Code = strconv.Itoa(code)
	if esc != "" {
		pe.Code += " " + esc
	}
	pe.Temporary = code >= 400 && code < 500
	if se.Reason == mail.ErrSMTPRcptTo && (code == 550 || code == 551 || code == 553) &&
		(esc == "" || strings.HasPrefix(esc, "5.1.")) {
		pe.Suppress = true
	}
	return pe
}

// classifyDial classifies a failure to open a session: authentication
// refused (535) and a server without the required STARTTLS are
// configuration errors, everything else temporary.
func (p *Provider) classifyDial(err error) error {
	pe := &provider.Error{Provider: p.cfg.Name, Temporary: true, Code: "connect", Err: fmt.Errorf("connect: %w", err)}
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "535") || strings.Contains(msg, "authentication failed") || strings.Contains(msg, "535 "):
		pe.Temporary, pe.Code = false, "auth"
	case strings.Contains(msg, "does not support STARTTLS"):
		pe.Temporary, pe.Code = false, "starttls"
	}
	return pe
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
