package providers

import (
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/redact"
)

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
}

// DKIMSettings turn on DKIM signing; the key is inline (a secret, usually
// "${DKIM_KEY}") or read from private_key_file.
type DKIMSettings struct {
	Domain         string          `yaml:"domain" required:"true"`
	Selector       string          `yaml:"selector" required:"true"`
	PrivateKey     provider.Secret `yaml:"private_key"`
	PrivateKeyFile string          `yaml:"private_key_file"`
}

// TwilioSettings are the settings of type twilio (see sms.TwilioConfig).
// AuthToken also validates status callbacks and inbound webhooks.
type TwilioSettings struct {
	AccountSID          string          `yaml:"account_sid" required:"true"`
	AuthToken           provider.Secret `yaml:"auth_token" required:"true"`
	From                string          `yaml:"from"`
	MessagingServiceSID string          `yaml:"messaging_service_sid"`
	StatusCallback      string          `yaml:"status_callback"`
	BaseURL             string          `yaml:"base_url"`
	Timeout             time.Duration   `yaml:"timeout"`
	MaxConns            int             `yaml:"max_conns"`
}

// VonageSettings are the settings of type vonage (see sms.VonageConfig).
type VonageSettings struct {
	APIKey    string          `yaml:"api_key" required:"true"`
	APISecret provider.Secret `yaml:"api_secret" required:"true"`
	From      string          `yaml:"from" required:"true"`
	Callback  string          `yaml:"callback"`
	BaseURL   string          `yaml:"base_url"`
	Timeout   time.Duration   `yaml:"timeout"`
	MaxConns  int             `yaml:"max_conns"`
}

// WhatsAppSettings are the settings of type whatsapp (see
// whatsapp.Config). AppSecret validates webhook signatures; VerifyToken
// answers the subscription handshake.
type WhatsAppSettings struct {
	PhoneNumberID string          `yaml:"phone_number_id" required:"true"`
	AccessToken   provider.Secret `yaml:"access_token" required:"true"`
	APIVersion    string          `yaml:"api_version"`
	BaseURL       string          `yaml:"base_url"`
	AppSecret     provider.Secret `yaml:"app_secret"`
	VerifyToken   provider.Secret `yaml:"verify_token"`
	Timeout       time.Duration   `yaml:"timeout"`
	MaxConns      int             `yaml:"max_conns"`
}

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

// WebhookSettings are the settings of type webhook (see webhook.Config).
// Secret signs outgoing requests and verifies incoming receipts.
type WebhookSettings struct {
	URL      string          `yaml:"url" required:"true"`
	Secret   provider.Secret `yaml:"secret" required:"true"`
	Timeout  time.Duration   `yaml:"timeout"`
	MaxConns int             `yaml:"max_conns"`
}

// Format prints the settings with secrets redacted, whatever the verb.
func (s SMTPSettings) Format(f fmt.State, verb rune) { redact.Format(f, verb, s) }

// Format prints the settings with secrets redacted, whatever the verb.
func (s DKIMSettings) Format(f fmt.State, verb rune) { redact.Format(f, verb, s) }

// Format prints the settings with secrets redacted, whatever the verb.
func (s TwilioSettings) Format(f fmt.State, verb rune) { redact.Format(f, verb, s) }

// Format prints the settings with secrets redacted, whatever the verb.
func (s VonageSettings) Format(f fmt.State, verb rune) { redact.Format(f, verb, s) }

// Format prints the settings with secrets redacted, whatever the verb.
func (s WhatsAppSettings) Format(f fmt.State, verb rune) { redact.Format(f, verb, s) }

// Format prints the settings with secrets redacted, whatever the verb.
func (s FCMSettings) Format(f fmt.State, verb rune) { redact.Format(f, verb, s) }

// Format prints the settings with secrets redacted, whatever the verb.
func (s APNsSettings) Format(f fmt.State, verb rune) { redact.Format(f, verb, s) }

// Format prints the settings with secrets redacted, whatever the verb.
func (s WebhookSettings) Format(f fmt.State, verb rune) { redact.Format(f, verb, s) }
