package survey

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// FollowUp opens the follow-up of a detractor's answer. The default is a
// task for the store the answer concerns; a part that does better (the
// conversations: a conversation for the store's team) registers with
// OnDetractor.
type FollowUp interface {
	// FollowUpDetractor reports whether it took the answer; it must be
	// idempotent on a.Send.Key (an answer may be announced again).
	FollowUpDetractor(ctx context.Context, a Detraction) (handled bool, err error)
}

// Detraction is a detractor's answer to follow up.
type Detraction struct {
	Send   *store.SurveySend
	Survey *Definition
	// Store is the store it concerns: the send's, else the survey's
	// detractor.store.
	Store string
}

// OnDetractor adds f before the default task: follow-ups are asked in
// the order they were added, the first that handles an answer ends the
// round, and the task is made only when none did.
func (s *Service) OnDetractor(f FollowUp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = append(s.hook, f)
}

// EventTaskCreated is the event a follow-up task puts on the timeline
// (the journeys' task steps emit the same).
const EventTaskCreated = "Task Created"

// followUp hands a detractor's answer to the registered follow-ups, else
// opens a task for its store.
func (s *Service) followUp(ctx context.Context, x *store.SurveySend, d *Definition) error {
	a := Detraction{Send: x, Survey: d, Store: x.StoreID}
	if a.Store == "" && d.Detractor != nil {
		a.Store = d.Detractor.Store
	}
	s.mu.RLock()
	hooks := s.hook
	s.mu.RUnlock()
	for _, h := range hooks {
		handled, err := h.FollowUpDetractor(ctx, a)
		if err != nil {
			return fmt.Errorf("survey: follow up %s: %w", x.Key, err)
		}
		if handled {
			return nil
		}
	}
	if a.Store == "" {
		s.log.Info("survey: a detractor's answer names no store and the survey has no detractor.store: no task", "survey", d.ID)
		return nil
	}
	return s.task(ctx, a)
}

// task opens the follow-up task, once per send.
func (s *Service) task(ctx context.Context, a Detraction) error {
	x, d := a.Send, a.Survey
	_, hi := Range(x.Type)
	title := fmt.Sprintf("Detractor: %d/%d on %s, call the customer back", *x.Score, hi, d.ID)
	if d.Detractor != nil && d.Detractor.Title != "" {
		title = strings.NewReplacer("{{score}}", itoa(*x.Score), "{{survey}}", d.ID, "{{comment}}", x.Comment).Replace(d.Detractor.Title)
	}
	detail, _ := json.Marshal(map[string]any{"customer": map[string]any{"profile_id": x.ProfileID}, "survey": map[string]any{
		"id": d.ID, "type": x.Type, "score": *x.Score, "comment": x.Comment, "channel": x.Channel, "via": x.AnsweredVia,
		"agent": x.Agent, "conversation_id": x.ConversationID, "journey_id": x.JourneyID, "answered_at": x.AnsweredAt}})
	t := &store.Task{Key: "survey:" + x.Key, StoreID: a.Store, ProfileID: x.ProfileID, JourneyID: x.JourneyID, Title: title,
		Note: x.Comment, Status: store.TaskOpen, Detail: detail, CreatedAt: x.AnsweredAt}
	if _, err := s.st.CreateTask(ctx, t); err != nil {
		return fmt.Errorf("survey: follow-up task of %s: %w", x.Key, err)
	}
	if s.o.Emit == nil {
		return nil
	}
	props, _ := json.Marshal(map[string]any{"profileId": x.ProfileID, "taskId": t.ID, "storeId": t.StoreID, "title": t.Title,
		"journeyId": x.JourneyID, "surveyId": d.ID})
	ev := &event.Event{MessageID: "parcours-task-" + t.Key, Type: event.Track, Event: EventTaskCreated, Properties: props,
		Timestamp: x.AnsweredAt, ReceivedAt: s.o.Clock.Now(), SourceID: "src_parcours", Channel: profile.InternalChannel}
	if err := s.o.Emit.Submit(ctx, []*event.Event{ev}, nil); err != nil {
		return fmt.Errorf("survey: announce the follow-up task of %s: %w", x.Key, err)
	}
	return nil
}
