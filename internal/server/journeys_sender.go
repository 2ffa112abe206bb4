package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/providers"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// journeySender hands the journeys' send steps to the message pipeline.
// The pipeline's send key is made of the journey, its version, the step,
// the profile and the enrolment, so a step repeated after a crash is one
// message; consent, suppressions, caps and quiet hours apply as to any
// send (a refused message is recorded as skipped, with its reason, and the
// journey goes on).
type journeySender struct{ msgs *message.Pipeline }

func (j journeySender) Send(ctx context.Context, r journey.SendRequest) error {
	_, err := j.msgs.Send(ctx, message.Request{
		ProfileID: r.Profile, Channel: provider.Channel(r.Channel), Topic: r.Topic, TemplateID: r.Template,
		Journey: r.Journey, Version: r.Version, Step: r.Step, Enrolment: strconv.FormatInt(r.Enrolment, 10),
		Campaign: r.Journey, Data: r.Data, Event: r.Event, StoreID: r.Store,
	})
	// An invalid request or a template that does not exist will not get
	// better with retries.
	if errors.Is(err, message.ErrInvalid) || errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %w", journey.ErrRefused, err)
	}
	return err
}

// CheckSend refuses, when a journey is saved, a send step that puts a
// promotional template on a transactional topic.
func (j journeySender) CheckSend(ctx context.Context, s journey.Send) error {
	err := j.msgs.CheckSend(ctx, s.Template, s.Topic)
	if errors.Is(err, message.ErrInvalid) {
		return problem.Invalid("send.topic", strings.TrimPrefix(err.Error(), message.ErrInvalid.Error()+": "))
	}
	return err
}

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
