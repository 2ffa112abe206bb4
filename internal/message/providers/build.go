package providers

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/parcours/parcours/internal/message/email"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/push"
	"github.com/parcours/parcours/internal/message/sms"
	"github.com/parcours/parcours/internal/message/webhook"
	"github.com/parcours/parcours/internal/message/whatsapp"
)

func settingErr(field, reason string) error {
	return &FieldError{Field: "settings." + field, Reason: reason}
}

// validate checks what the field tags cannot: alternatives, formats, URLs.
func validate(s any) error {
	switch s := s.(type) {
	case *SMTPSettings:
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
	case *TwilioSettings:
		if !strings.HasPrefix(s.AccountSID, "AC") {
			return settingErr("account_sid", "must start with AC")
		}
		if s.From == "" && s.MessagingServiceSID == "" {
			return settingErr("from", "set from or messaging_service_sid")
		}
		return checkURLs(map[string]string{"status_callback": s.StatusCallback, "base_url": s.BaseURL})
	case *VonageSettings:
		return checkURLs(map[string]string{"callback": s.Callback, "base_url": s.BaseURL})
	case *WhatsAppSettings:
		return checkURLs(map[string]string{"base_url": s.BaseURL})
	case *FCMSettings:
		if (s.ServiceAccountFile == "") == (s.ServiceAccount == "") {
			return settingErr("service_account_file", "set exactly one of service_account_file and service_account")
		}
		return checkURLs(map[string]string{"base_url": s.BaseURL})
	case *APNsSettings:
		if (s.PrivateKeyFile == "") == (s.PrivateKey == "") {
			return settingErr("private_key_file", "set exactly one of private_key_file and private_key")
		}
		if s.Priority != 0 && s.Priority != 5 && s.Priority != 10 {
			return settingErr("priority", "must be 5 or 10")
		}
		return checkURLs(map[string]string{"base_url": s.BaseURL})
	case *WebhookSettings:
		return checkURLs(map[string]string{"url": s.URL})
	}
	return nil
}

func checkURLs(m map[string]string) error {
	for field, v := range m {
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return settingErr(field, fmt.Sprintf("%q is not an absolute http(s) URL", v))
		}
	}
	return nil
}

// readSecret returns the inline secret or the file's content.
func readSecret(inline provider.Secret, path string) (provider.Secret, error) {
	if path == "" {
		return inline, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err // names the path, never the content
	}
	return provider.Secret(b), nil
}

// Build constructs the provider an entry describes. Key files named in the
// settings are read here.
func Build(e Entry) (provider.Provider, error) {
	p, err := build(e)
	if err != nil {
		return nil, fmt.Errorf("providers: build %q (%s): %w", e.Name, e.Type, err)
	}
	return p, nil
}

func build(e Entry) (provider.Provider, error) {
	switch s := e.Settings.(type) {
	case *SMTPSettings:
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
	case *TwilioSettings:
		return sms.NewTwilio(sms.TwilioConfig{Name: e.Name, AccountSID: s.AccountSID, AuthToken: s.AuthToken, From: s.From,
			MessagingServiceSID: s.MessagingServiceSID, StatusCallback: s.StatusCallback, BaseURL: s.BaseURL, Timeout: s.Timeout, MaxConns: s.MaxConns})
	case *VonageSettings:
		return sms.NewVonage(sms.VonageConfig{Name: e.Name, APIKey: s.APIKey, APISecret: s.APISecret, From: s.From,
			Callback: s.Callback, BaseURL: s.BaseURL, Timeout: s.Timeout, MaxConns: s.MaxConns})
	case *WhatsAppSettings:
		return whatsapp.New(whatsapp.Config{Name: e.Name, PhoneNumberID: s.PhoneNumberID, AccessToken: s.AccessToken,
			APIVersion: s.APIVersion, BaseURL: s.BaseURL, Timeout: s.Timeout, MaxConns: s.MaxConns})
	case *FCMSettings:
		raw, err := readSecret(s.ServiceAccount, s.ServiceAccountFile)
		if err != nil {
			return nil, fmt.Errorf("settings.service_account_file: %w", err)
		}
		sa, err := push.ParseServiceAccount([]byte(raw.Reveal()))
		if err != nil {
			return nil, fmt.Errorf("settings.service_account: %w", err)
		}
		return push.NewFCM(push.FCMConfig{Name: e.Name, ServiceAccount: sa, ProjectID: s.ProjectID, BaseURL: s.BaseURL, Timeout: s.Timeout, MaxConns: s.MaxConns})
	case *APNsSettings:
		key, err := readSecret(s.PrivateKey, s.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("settings.private_key_file: %w", err)
		}
		return push.NewAPNs(push.APNsConfig{Name: e.Name, TeamID: s.TeamID, KeyID: s.KeyID, PrivateKey: key, Topic: s.Topic,
			Sandbox: s.Sandbox, BaseURL: s.BaseURL, Priority: s.Priority, Expiration: s.Expiration, Timeout: s.Timeout, MaxConns: s.MaxConns})
	case *WebhookSettings:
		return webhook.New(webhook.Config{Name: e.Name, Channel: e.Channel, URL: s.URL, Secret: s.Secret, Timeout: s.Timeout, MaxConns: s.MaxConns})
	}
	return nil, fmt.Errorf("no settings of type %s", e.Type)
}

// BuildAll builds every provider of cfg, by name. On error the providers
// already built are closed.
func BuildAll(cfg *Config) (map[string]provider.Provider, error) {
	out := make(map[string]provider.Provider, len(cfg.Providers))
	for _, e := range cfg.Providers {
		p, err := Build(e)
		if err != nil {
			var errs []error
			for _, q := range out {
				errs = append(errs, q.Close())
			}
			return nil, errors.Join(append([]error{err}, errs...)...)
		}
		out[e.Name] = p
	}
	return out, nil
}
