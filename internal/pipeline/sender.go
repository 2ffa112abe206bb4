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
	"github.com/parcours/parcours/internal/survey"
)

// MessageSender hands the journeys' send steps to the message pipeline:
// serve's journey sender, and the simulator's with templates. The
// pipeline's send key is made of the journey, its version, the step, the
// profile and the enrolment, so a step repeated after a crash is one
// message; consent, suppressions, caps and quiet hours apply as to any
// send (a refused message is recorded as skipped, with its reason, and the
// journey goes on).
//
// A send step with a survey (journey.Send.Survey) is prepared by Surveys
// first: the survey send is recorded once per key, and its signed link
// and question become the template's survey variables.
type MessageSender struct {
	Messages *message.Pipeline
	// Surveys prepares the sends of survey invitations; nil: a send step
	// naming a survey is refused.
	Surveys *survey.Service
}

// Send implements journey.Sender.
func (s MessageSender) Send(ctx context.Context, r journey.SendRequest) error {
	_, err := s.SendMessage(ctx, r)
	return err
}

// SendMessage is Send, returning the outbox message the send became.
func (s MessageSender) SendMessage(ctx context.Context, r journey.SendRequest) (*store.OutboxMessage, error) {
	if r.Survey != "" {
		return s.sendSurvey(ctx, r)
	}
	m, err := s.Messages.Send(ctx, request(r))
	if err := refused(err); err != nil {
		return nil, err
	}
	return m, nil
}

// sendSurvey sends a survey's invitation: the survey send first (once per
// key: a step run again finds it), then the message with its link, then
// the channel the pipeline chose.
func (s MessageSender) sendSurvey(ctx context.Context, r journey.SendRequest) (*store.OutboxMessage, error) {
	if s.Surveys == nil {
		return nil, fmt.Errorf("%w: send step with survey %s: no survey service configured", journey.ErrRefused, r.Survey)
	}
	inv, _, err := s.Surveys.Prepare(ctx, r.Survey, r.Profile, r.Key, survey.Context{Store: r.Store, Channel: r.Channel, Journey: r.Journey})
	if err := refused(err); err != nil {
		return nil, err
	}
	req := request(r)
	data := map[string]any{}
	for k, v := range req.Data {
		data[k] = v
	}
	data["survey"] = inv.Data
	req.Data = data
	m, err := s.Messages.Send(ctx, req)
	if err := refused(err); err != nil {
		return nil, err
	}
	if m != nil {
		if err := s.Surveys.Sent(ctx, r.Key, m.Channel); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// SendBatch implements journey.BatchSender: the sends of a broadcast's
// recipients go through the message pipeline's batch path, by the same
// rules.
func (s MessageSender) SendBatch(ctx context.Context, rs []journey.SendRequest) []error {
	errs := make([]error, len(rs))
	// Survey invitations go one by one (each has a survey send to record
	// first); the others in one batch.
	var idx []int
	var reqs []message.Request
	for i, r := range rs {
		if r.Survey != "" {
			_, errs[i] = s.SendMessage(ctx, r)
			continue
		}
		idx = append(idx, i)
		reqs = append(reqs, request(r))
	}
	if len(reqs) == 0 {
		return errs
	}
	results, err := s.Messages.SendBatch(ctx, reqs)
	for j, i := range idx {
		if err != nil {
			errs[i] = err
			continue
		}
		errs[i] = refused(results[j].Err)
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
	if step.Survey != "" && s.Surveys != nil && !survey.Applied(ctx, step.Survey) {
		if _, err := s.Surveys.Get(ctx, step.Survey); errors.Is(err, store.ErrNotFound) {
			return problem.Invalid("send.survey", fmt.Sprintf("no survey %q: apply it first (kind: survey, docs/surveys.md)", step.Survey))
		} else if err != nil {
			return err
		}
	}
	err := s.Messages.CheckSend(ctx, step.Template, step.Topic)
	if errors.Is(err, message.ErrInvalid) {
		return problem.Invalid("send.topic", strings.TrimPrefix(err.Error(), message.ErrInvalid.Error()+": "))
	}
	return err
}
