package message

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrNoUnsubscribeURL is why a marketing email is skipped when the
// server has no public URL: without it there is no one-click
// List-Unsubscribe link (RFC 8058), which the law (the customer must be
// able to object, at no cost, in every message) and the mailbox
// providers (Gmail, Yahoo: bulk senders) require. Transactional emails
// are not affected.
var ErrNoUnsubscribeURL = errors.New("no unsubscribe link: a marketing email needs the server's public URL for its List-Unsubscribe headers; " +
	"set --public-url (PARCOURS_PUBLIC_URL) to the https URL customers reach this server at")

// CheckPublicURL checks the public URL setting: empty (marketing email is
// then refused, see ErrNoUnsubscribeURL) or an absolute http(s) URL. It
// returns warnings for a URL customers' mail clients cannot use for
// one-click unsubscribe: plain http (RFC 8058 asks for https) or a
// loopback host.
func CheckPublicURL(raw string) (warnings []string, err error) {
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	// Links are the public URL followed by their path: a '?' or '#' in it,
	// even with nothing after, would carry the path into the query or the
	// fragment (FuzzPublicURL).
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(raw, "?#") {
		return nil, fmt.Errorf("public URL %q: want an absolute http(s) URL without query or fragment, such as https://crm.shop.example", raw)
	}
	if u.Scheme == "http" {
		warnings = append(warnings, "public URL "+raw+" is not https: mailbox providers ignore a one-click unsubscribe link over http (RFC 8058)")
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		warnings = append(warnings, "public URL "+raw+" is a loopback address: customers cannot reach its tracking and unsubscribe links")
	}
	return warnings, nil
}

// UnsubscribeStatus says, for the startup log, whether marketing email
// can be sent and, if not, how to fix it.
func (p *Pipeline) UnsubscribeStatus() (ok bool, msg string) {
	if p.o.BaseURL == "" {
		return false, "messages: no public URL: marketing emails are skipped (no working List-Unsubscribe link); transactional emails, SMS, push and WhatsApp are sent. " +
			"Fix: set --public-url (PARCOURS_PUBLIC_URL) to the https URL customers reach this server at"
	}
	return true, "messages: marketing emails carry List-Unsubscribe links to " + p.url("/u/...")
}
