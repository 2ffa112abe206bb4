package server

import (
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/providers"
)

// webhookSecret is the secret that signs the journeys' webhook steps: that
// of the providers file's webhook provider serving the webhook channel,
// else of its first webhook provider; empty when it has none (the steps
// are then refused, with the reason).
func webhookSecret(cfg *providers.Config) provider.Secret {
	if cfg == nil {
		return ""
	}
	var first provider.Secret
	for _, e := range cfg.Providers {
		s, ok := e.Settings.(*providers.WebhookSettings)
		if !ok || e.Type != providers.TypeWebhook {
			continue
		}
		if e.Channel == provider.Webhook {
			return s.Secret
		}
		if first == "" {
			first = s.Secret
		}
	}
	return first
}
