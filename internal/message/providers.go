package message

import "github.com/parcours/parcours/internal/message/provider"

// ProviderSet is a fixed Providers: one provider per channel, with its
// limits.
type ProviderSet map[provider.Channel]Configured

// Configured is a provider and its sending limits.
type Configured struct {
	Provider provider.Provider
	Limits   Limits
}

// For returns the provider of ch.
func (s ProviderSet) For(ch provider.Channel) (provider.Provider, Limits, bool) {
	c, ok := s[ch]
	if !ok || c.Provider == nil {
		return nil, Limits{}, false
	}
	return c.Provider, c.Limits, true
}
