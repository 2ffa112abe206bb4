package providers

import (
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/push"
	"github.com/parcours/parcours/internal/message/redact"
)

// fcmKind sends push notifications through Firebase Cloud Messaging.
var fcmKind = kindOf(channel.Push, validateFCM, buildFCM)

// apnsKind sends push notifications through Apple's APNs.
var apnsKind = kindOf(channel.Push, validateAPNs, buildAPNs)

// FCMSettings are the settings of type fcm (see push.FCMConfig): the
// service-account key file, by path or inline (a secret).
type FCMSettings struct {
	ServiceAccountFile string          `yaml:"service_account_file"`
	ServiceAccount     provider.Secret `yaml:"service_account"`
	ProjectID          string          `yaml:"project_id"`
	BaseURL            string          `yaml:"base_url"`
	Timeout            time.Duration   `yaml:"timeout"`
	MaxConns           int             `yaml:"max_conns"`
}

// APNsSettings are the settings of type apns (see push.APNsConfig).
type APNsSettings struct {
	TeamID         string          `yaml:"team_id" required:"true"`
	KeyID          string          `yaml:"key_id" required:"true"`
	PrivateKey     provider.Secret `yaml:"private_key"`
	PrivateKeyFile string          `yaml:"private_key_file"`
	Topic          string          `yaml:"topic" required:"true"`
	Sandbox        bool            `yaml:"sandbox"`
	BaseURL        string          `yaml:"base_url"`
	Priority       int             `yaml:"priority"`
	Expiration     time.Duration   `yaml:"expiration"`
	Timeout        time.Duration   `yaml:"timeout"`
	MaxConns       int             `yaml:"max_conns"`
}

// Format prints the settings with secrets redacted, whatever the verb.
func (s FCMSettings) Format(f fmt.State, verb rune) { redact.Format(f, verb, s) }

// Format prints the settings with secrets redacted, whatever the verb.
func (s APNsSettings) Format(f fmt.State, verb rune) { redact.Format(f, verb, s) }

func validateFCM(s *FCMSettings) error {
	if (s.ServiceAccountFile == "") == (s.ServiceAccount == "") {
		return settingErr("service_account_file", "set exactly one of service_account_file and service_account")
	}
	return checkURLs(map[string]string{"base_url": s.BaseURL})
}

func buildFCM(e Entry, s *FCMSettings) (provider.Provider, error) {
	raw, err := readSecret(s.ServiceAccount, s.ServiceAccountFile)
	if err != nil {
		return nil, fmt.Errorf("settings.service_account_file: %w", err)
	}
	sa, err := push.ParseServiceAccount([]byte(raw.Reveal()))
	if err != nil {
		return nil, fmt.Errorf("settings.service_account: %w", err)
	}
	return push.NewFCM(push.FCMConfig{Name: e.Name, ServiceAccount: sa, ProjectID: s.ProjectID, BaseURL: s.BaseURL, Timeout: s.Timeout, MaxConns: s.MaxConns})
}

func validateAPNs(s *APNsSettings) error {
	if (s.PrivateKeyFile == "") == (s.PrivateKey == "") {
		return settingErr("private_key_file", "set exactly one of private_key_file and private_key")
	}
	if s.Priority != 0 && s.Priority != 5 && s.Priority != 10 {
		return settingErr("priority", "must be 5 or 10")
	}
	return checkURLs(map[string]string{"base_url": s.BaseURL})
}

func buildAPNs(e Entry, s *APNsSettings) (provider.Provider, error) {
	key, err := readSecret(s.PrivateKey, s.PrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("settings.private_key_file: %w", err)
	}
	return push.NewAPNs(push.APNsConfig{Name: e.Name, TeamID: s.TeamID, KeyID: s.KeyID, PrivateKey: key, Topic: s.Topic,
		Sandbox: s.Sandbox, BaseURL: s.BaseURL, Priority: s.Priority, Expiration: s.Expiration, Timeout: s.Timeout, MaxConns: s.MaxConns})
}
