package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"

	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/conversation"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/providers"
	"github.com/parcours/parcours/internal/store"
)

// newConversations assembles customer service: its tokens are signed with
// a key derived from the message link secret (which outlives restarts),
// and its emails' reply-to domain is the first SMTP provider's.
func newConversations(st store.Store, msgs *message.Pipeline, sink collect.Sink, o Options) *conversation.Service {
	secret := o.Messages.Secret
	if len(secret) == 0 {
		// No secret given (tests): one for this process; chat tokens and
		// reply-to addresses then do not outlive it.
		secret = []byte(rand.Text())
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("parcours conversations"))
	co := conversation.Options{Clock: o.Clock, Logger: o.Logger, Secret: mac.Sum(nil), ReplyDomain: replyDomain(o.ProviderConfig)}
	return conversation.New(st, msgs, sink, co)
}

func replyDomain(cfg *providers.Config) string {
	if cfg == nil {
		return ""
	}
	for _, e := range cfg.Providers {
		if s, ok := e.Settings.(*providers.SMTPSettings); ok && s.ReplyDomain != "" {
			return s.ReplyDomain
		}
	}
	return ""
}
