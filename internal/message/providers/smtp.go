package providers

import (
	"fmt"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/message/email"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/redact"
)

// smtpKind sends email through an SMTP server. Its bounces come by SMTP
// too, to the bounce server its bounce_addr starts (internal/server).
var smtpKind = kindOf(channel.Email, validateSMTP, buildSMTP)

// SMTPSettings are the settings of type smtp (see email.Config).
type SMTPSettings struct {
	Host            string          `yaml:"host" required:"true"`
	Port            int             `yaml:"port"`
	TLS             string          `yaml:"tls"` // mandatory (default), opportunistic, implicit, none
	Username        string          `yaml:"username"`
	Password        provider.Secret `yaml:"password"`
	Auth            string          `yaml:"auth"`
	From            string          `yaml:"from" required:"true"`
	HELO            string          `yaml:"helo"`
	MessageIDDomain string          `yaml:"message_id_domain"`
	PoolSize        int             `yaml:"pool_size"`
	IdleTimeout     time.Duration   `yaml:"idle_timeout"`
	Timeout         time.Duration   `yaml:"timeout"`
	DKIM            *DKIMSettings   `yaml:"dkim"`
	// BounceAddr, when set, is where the inbound bounce server listens.
	BounceAddr string `yaml:"bounce_addr"`
	// ReplyDomain, when set, gives agents' emails in conversations a
	// reply-to address reply+ID.SIG@reply_domain; point its MX at the
	// bounce_addr server, which takes the customers' replies.
	ReplyDomain string `yaml:"reply_domain"`
}

// DKIMSettings turn on DKIM signing; the key is inline (a secret, usually
// "${DKIM_KEY}") or read from private_key_file.
type DKIMSettings struct {
	Domain         string          `yaml:"domain" required:"true"`
	Selector       string          `yaml:"selector" required:"true"`
	PrivateKey     provider.Secret `yaml:"private_key"`
	PrivateKeyFile string          `yaml:"private_key_file"`
}

// Format prints the settings with secrets redacted, whatever the verb.
func (s SMTPSettings) Format(f fmt.State, verb rune) { redact.Format(f, verb, s) }

// Format prints the settings with secrets redacted, whatever the verb.
func (s DKIMSettings) Format(f fmt.State, verb rune) { redact.Format(f, verb, s) }

func validateSMTP(s *SMTPSettings) error {
	switch strings.ToLower(s.TLS) {
	case "", email.TLSMandatory, email.TLSOpportunistic, email.TLSImplicit, email.TLSNone:
	default:
		return settingErr("tls", fmt.Sprintf("%q is not one of mandatory, opportunistic, implicit, none", s.TLS))
	}
	if s.Username != "" && s.Password == "" {
		return settingErr("password", "required with username")
	}
	if s.DKIM != nil && s.DKIM.PrivateKey == "" && s.DKIM.PrivateKeyFile == "" {
		return settingErr("dkim.private_key", "set private_key (e.g. ${DKIM_KEY}) or private_key_file")
	}
	return nil
}

func buildSMTP(e Entry, s *SMTPSettings) (provider.Provider, error) {
	cfg := email.Config{Name: e.Name, Host: s.Host, Port: s.Port, TLS: s.TLS, Username: s.Username, Password: s.Password,
		Auth: s.Auth, From: s.From, HELO: s.HELO, MessageIDDomain: s.MessageIDDomain, PoolSize: s.PoolSize,
		IdleTimeout: s.IdleTimeout, Timeout: s.Timeout}
	if d := s.DKIM; d != nil {
		key, err := readSecret(d.PrivateKey, d.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("settings.dkim.private_key_file: %w", err)
		}
		cfg.DKIM = &email.DKIMConfig{Domain: d.Domain, Selector: d.Selector, PrivateKey: key}
	}
	return email.New(cfg)
}
