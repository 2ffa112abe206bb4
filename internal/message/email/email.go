// Package email sends email over SMTP with github.com/wneessen/go-mail:
// STARTTLS (policy configurable), SMTP AUTH, a pool of reusable
// connections shared by concurrent senders, optional DKIM signing,
// multipart/alternative text + HTML with custom headers, and a Message-ID
// derived from the send key. It also parses delivery status notifications
// (RFC 3464) and feedback reports (RFC 5965) into receipts, and can run an
// inbound SMTP server that receives them.
package email

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/redact"
)

// TLS policies of Config.TLS.
const (
	// TLSMandatory: STARTTLS must succeed or nothing is sent (default).
	TLSMandatory = "mandatory"
	// TLSOpportunistic: STARTTLS when offered, else plain text.
	TLSOpportunistic = "opportunistic"
	// TLSImplicit: TLS from the first byte (SMTPS, port 465).
	TLSImplicit = "implicit"
	// TLSNone: never encrypt (local relays only).
	TLSNone = "none"
)

// Config configures an SMTP provider.
type Config struct {
	Name     string
	Host     string
	Port     int    // default 587 (465 with TLSImplicit)
	TLS      string // TLSMandatory (default), TLSOpportunistic, TLSImplicit, TLSNone
	Username string
	Password provider.Secret
	// Auth is the SASL mechanism: "plain" (default when Username is set),
	// "login", "cram-md5", "scram-sha-256" or "none".
	Auth string
	From string // default sender, "Name <addr>" or "addr"
	// HELO is the name announced in EHLO (default: the From domain).
	HELO string
	// MessageIDDomain is the right-hand side of Message-IDs (default: the
	// From domain).
	MessageIDDomain string
	// PoolSize is the number of SMTP connections kept open and shared by
	// concurrent senders (default 8); it also caps concurrent sends.
	PoolSize int
	// IdleTimeout closes pooled connections idle longer than this (default
	// 30s), before the server's own idle timeout does.
	IdleTimeout time.Duration
	Timeout     time.Duration // per SMTP command, default 30s
	DKIM        *DKIMConfig
	RootCAs     *x509.CertPool // nil: the system pool
	Clock       clock.Clock
	Logger      *slog.Logger
}

// DKIMConfig turns on DKIM signing (RFC 6376) of every message.
type DKIMConfig struct {
	Domain     string          // d=
	Selector   string          // s=
	PrivateKey provider.Secret // PEM, RSA or Ed25519
}

// Provider sends email through one SMTP server.
type Provider struct {
	cfg   Config
	mc    *mail.Client // holds the dial, TLS, auth and DKIM settings
	pool  *pool
	clock clock.Clock
	log   *slog.Logger
}

// New checks cfg and returns the provider. It does not connect: the first
// send dials.
func New(cfg Config) (*Provider, error) {
	if cfg.Name == "" {
		return nil, errors.New("email: name is required")
	}
	if cfg.Host == "" {
		return nil, fmt.Errorf("email %s: host is required", cfg.Name)
	}
	if cfg.From == "" {
		return nil, fmt.Errorf("email %s: from is required", cfg.Name)
	}
	domain := addrDomain(cfg.From)
	if domain == "" {
		return nil, fmt.Errorf("email %s: from %q has no domain", cfg.Name, cfg.From)
	}
	if cfg.MessageIDDomain == "" {
		cfg.MessageIDDomain = domain
	}
	if cfg.HELO == "" {
		cfg.HELO = domain
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 8
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	opts, err := clientOptions(cfg)
	if err != nil {
		return nil, fmt.Errorf("email %s: %w", cfg.Name, err)
	}
	mc, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("email %s: %w", cfg.Name, err)
	}
	p := &Provider{cfg: cfg, mc: mc, clock: cfg.Clock, log: cfg.Logger}
	if p.clock == nil {
		p.clock = clock.System{}
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.pool = newPool(mc, cfg.PoolSize, cfg.IdleTimeout)
	return p, nil
}

func clientOptions(cfg Config) ([]mail.Option, error) {
	tlsConfig := &tls.Config{ServerName: cfg.Host, RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
	opts := []mail.Option{
		mail.WithTimeout(cfg.Timeout),
		mail.WithHELO(cfg.HELO),
		mail.WithTLSConfig(tlsConfig),
		mail.WithDialContextFunc(dialer(tlsConfig, strings.EqualFold(cfg.TLS, TLSImplicit), cfg.Timeout)),
		// A pooled connection is used by one sender at a time and its
		// failures are handled by the pool: the NOOP before each message
		// and the RSET after it would add two round trips per email.
		mail.WithoutNoop(),
		mail.WithoutRset(),
	}
	port := cfg.Port
	switch strings.ToLower(cfg.TLS) {
	case "", TLSMandatory:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case TLSOpportunistic:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case TLSImplicit:
		opts = append(opts, mail.WithSSL())
		if port == 0 {
			port = 465
		}
	default:
		return nil, fmt.Errorf("tls %q: want mandatory, opportunistic, implicit or none", cfg.TLS)
	}
	if port == 0 {
		port = 587
	}
	opts = append(opts, mail.WithPort(port))
	mech := strings.ToLower(cfg.Auth)
	if mech == "" && cfg.Username != "" {
		mech = "plain"
	}
	auth := map[string]mail.SMTPAuthType{"plain": mail.SMTPAuthPlain, "login": mail.SMTPAuthLogin,
		"cram-md5": mail.SMTPAuthCramMD5, "scram-sha-256": mail.SMTPAuthSCRAMSHA256}
	switch {
	case mech == "" || mech == "none":
	case auth[mech] != "":
		if cfg.Username == "" || cfg.Password.Reveal() == "" {
			return nil, fmt.Errorf("auth %s needs username and password", mech)
		}
		opts = append(opts, mail.WithSMTPAuth(auth[mech]), mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password.Reveal()))
	default:
		return nil, fmt.Errorf("auth %q: want plain, login, cram-md5, scram-sha-256 or none", cfg.Auth)
	}
	if d := cfg.DKIM; d != nil {
		if d.Domain == "" || d.Selector == "" {
			return nil, errors.New("dkim needs domain and selector")
		}
		key, err := mail.PrivKeyFromPEM([]byte(d.PrivateKey.Reveal()))
		if err != nil {
			// The parse error never quotes the key.
			return nil, fmt.Errorf("dkim private_key: %w", err)
		}
		opts = append(opts, mail.WithAlwaysDKIMSign(mail.NewDKIMSigner(d.Domain, d.Selector, key)))
	}
	return opts, nil
}

// Name returns the configured name.
func (p *Provider) Name() string { return p.cfg.Name }

// Channel is email.
func (p *Provider) Channel() provider.Channel { return provider.Email }

// Close quits every pooled connection.
func (p *Provider) Close() error { return p.pool.close() }

func addrDomain(addr string) string {
	addr = strings.TrimSpace(addr)
	if i := strings.LastIndexByte(addr, '<'); i >= 0 {
		addr = strings.TrimSuffix(addr[i+1:], ">")
	}
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(strings.TrimSpace(addr[i+1:]))
	}
	return ""
}

// Format prints the configuration with its secrets redacted, whatever the
// verb (see package redact).
func (c Config) Format(f fmt.State, verb rune) { redact.Format(f, verb, c) }

// Format prints the configuration with its secrets redacted, whatever the
// verb (see package redact).
func (c DKIMConfig) Format(f fmt.State, verb rune) { redact.Format(f, verb, c) }

// Format prints the provider as its kind and name: its fields hold
// credentials (see package redact).
func (p *Provider) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "%s(%s)", "email", p.cfg.Name) }

var _ provider.Provider = (*Provider)(nil)
