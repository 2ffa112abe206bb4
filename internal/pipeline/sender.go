package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// MessageSender hands the journeys' send steps to the message pipeline:
// serve's journey sender, and the simulator's with templates. The
// pipeline's send key is made of the journey, its version, the step, the
// profile and the enrolment, so a step repeated after a crash is one
// message; consent, suppressions, caps and quiet hours apply as to any
// send (a refused message is recorded as skipped, with its reason, and the
// journey goes on).
type MessageSender struct{ Messages *message.Pipeline }

// Send implements journey.Sender.
func (s MessageSender) Send(ctx context.Context, r journey.SendRequest) error {
	_, err := s.SendMessage(ctx, r)
	return err
}

// SendMessage is Send, returning the outbox message the send became.
func (s MessageSender) SendMessage(ctx context.Context, r journey.SendRequest) (*store.OutboxMessage, error) {
	m, err := s.Messages.Send(ctx, message.Request{
		ProfileID: r.Profile, Channel: provider.Channel(r.Channel), Topic: r.Topic, TemplateID: r.Template,
		Journey: r.Journey, Version: r.Version, Step: r.Step, Enrolment: strconv.FormatInt(r.Enrolment, 10),
		Campaign: r.Journey, Data: r.Data, Event: r.Event, StoreID: r.Store,
	})
	// An invalid request or a template that does not exist will not get
	// better with retries.
	if errors.Is(err, message.ErrInvalid) || errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", journey.ErrRefused, err)
	}
	return m, err
}

// CheckSend refuses, when a journey is saved, a send step that puts a
// promotional template on a transactional topic.
func (s MessageSender) CheckSend(ctx context.Context, step journey.Send) error {
	err := s.Messages.CheckSend(ctx, step.Template, step.Topic)
	if errors.Is(err, message.ErrInvalid) {
		return problem.Invalid("send.topic", strings.TrimPrefix(err.Error(), message.ErrInvalid.Error()+": "))
	}
	return err
}
