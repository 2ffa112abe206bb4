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
	m, err := s.Messages.Send(ctx, request(r))
	if err := refused(err); err != nil {
		return nil, err
	}
	return m, nil
}

// SendBatch implements journey.BatchSender: the sends of a broadcast's
// recipients go through the message pipeline's batch path, by the same
// rules.
func (s MessageSender) SendBatch(ctx context.Context, rs []journey.SendRequest) []error {
	errs := make([]error, len(rs))
	reqs := make([]message.Request, len(rs))
	for i, r := range rs {
		reqs[i] = request(r)
	}
	results, err := s.Messages.SendBatch(ctx, reqs)
	for i := range rs {
		if err != nil {
			errs[i] = err
			continue
		}
		errs[i] = refused(results[i].Err)
	}
	return errs
}

// request is the message request of a journey's send.
func request(r journey.SendRequest) message.Request {
	return message.Request{
		ProfileID: r.Profile, Channel: provider.Channel(r.Channel), Topic: r.Topic, TemplateID: r.Template,
		Journey: r.Journey, Version: r.Version, Step: r.Step, Enrolment: strconv.FormatInt(r.Enrolment, 10),
		Campaign: r.Journey, Data: r.Data, Event: r.Event, StoreID: r.Store,
	}
}

// refused marks what will not get better with retries, an invalid request
// or a template that does not exist, as journey.ErrRefused.
func refused(err error) error {
	if errors.Is(err, message.ErrInvalid) || errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %w", journey.ErrRefused, err)
	}
	return err
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
