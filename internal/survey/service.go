package survey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// Store is what surveys keep and read: the store engines are one.
type Store interface {
	store.Surveys
	CreateTask(ctx context.Context, t *store.Task) (created bool, err error)
	Profile(ctx context.Context, id int64) (*profile.Profile, error)
}

// Messages is what surveys need of the message pipeline
// (*message.Pipeline): sending the invitation, and signing its link.
type Messages interface {
	Send(ctx context.Context, r message.Request) (*store.OutboxMessage, error)
	SignSurvey(key string, expires time.Time) string
	VerifySurvey(token string) (key string, expires time.Time, err error)
	PublicURL(path string) string
}

// Sink receives the events surveys announce (Survey Answered, the
// traits, Task Created): the committer in serve.
type Sink interface {
	Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error
}

// Options configure a Service.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// Emit receives the events; nil: answers are stored but announce
	// nothing (no timeline entry, trait or measure).
	Emit Sink
}

// Service keeps the survey definitions, prepares the sends and takes the
// answers.
type Service struct {
	st   Store
	msg  Messages
	o    Options
	log  *slog.Logger
	mu   sync.RWMutex
	hook []FollowUp
}

// New returns the service.
func New(st Store, msg Messages, o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Service{st: st, msg: msg, o: o, log: o.Logger}
}

// Saved is a definition as saved.
type Saved struct {
	*Definition
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	Changed   bool      `json:"changed"`
}

// Save validates and stores definitions, all or none checked first; an
// unchanged one keeps its version.
func (s *Service) Save(ctx context.Context, defs []*Definition) ([]Saved, error) {
	for _, d := range defs {
		if err := d.Validate(); err != nil {
			return nil, err
		}
	}
	out := make([]Saved, 0, len(defs))
	for _, d := range defs {
		b, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("survey %s: %w", d.ID, err)
		}
		rec := &store.SurveyRecord{ID: d.ID, Definition: b, UpdatedAt: s.o.Clock.Now()}
		changed, err := s.st.SaveSurvey(ctx, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, Saved{Definition: d, Version: rec.Version, UpdatedAt: rec.UpdatedAt, Changed: changed})
	}
	return out, nil
}

// Get returns one definition as saved.
func (s *Service) Get(ctx context.Context, id string) (*Saved, error) {
	rec, err := s.st.Survey(ctx, id)
	if err != nil {
		return nil, err
	}
	return decodeRecord(rec)
}

// List returns every definition, by id.
func (s *Service) List(ctx context.Context) ([]Saved, error) {
	recs, err := s.st.ListSurveys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Saved, 0, len(recs))
	for _, r := range recs {
		x, err := decodeRecord(r)
		if err != nil {
			return nil, err
		}
		out = append(out, *x)
	}
	return out, nil
}

func decodeRecord(rec *store.SurveyRecord) (*Saved, error) {
	var d Definition
	if err := json.Unmarshal(rec.Definition, &d); err != nil {
		return nil, fmt.Errorf("survey %s: stored definition: %w", rec.ID, err)
	}
	return &Saved{Definition: &d, Version: rec.Version, UpdatedAt: rec.UpdatedAt}, nil
}

// Context is what an answer is measured by and followed up with: the
// store it concerns, the channel the survey went out on, the agent of the
// contact, the conversation, the journey that sent it.
type Context struct {
	Store        string `json:"store_id,omitempty"`
	Channel      string `json:"channel,omitempty"`
	Agent        string `json:"agent,omitempty"`
	Conversation string `json:"conversation_id,omitempty"`
	Journey      string `json:"journey_id,omitempty"`
}

// Invitation is a survey send prepared for its message: the template
// variables (survey.url, survey.question, ...) and the stored send.
type Invitation struct {
	Send  *store.SurveySend `json:"send"`
	Token string            `json:"token"`
	URL   string            `json:"url"`
	// Data is what the invitation's template reads as survey.*.
	Data map[string]any `json:"data"`
}

// Prepare records the send of survey id to a profile, once per key, and
// returns what its message needs: a journey's send step with a survey,
// and SendAfter, call it before handing the message to the pipeline.
func (s *Service) Prepare(ctx context.Context, id string, profileID int64, key string, c Context) (*Invitation, *Definition, error) {
	saved, err := s.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	d := saved.Definition
	if key == "" {
		return nil, nil, problem.Invalid("key", "is required: the send's idempotency key")
	}
	lang := d.Language
	if p, err := s.st.Profile(ctx, profileID); err == nil {
		lang = d.lang(traitString(p, "locale", "language"))
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, nil, err
	}
	now := s.o.Clock.Now()
	x := &store.SurveySend{Key: key, SurveyID: d.ID, Type: d.Type, ProfileID: profileID, Channel: c.Channel, StoreID: c.Store,
		JourneyID: c.Journey, Agent: c.Agent, ConversationID: c.Conversation, Language: lang, SentAt: now, ExpiresAt: now.Add(d.Validity())}
	if _, err := s.st.CreateSurveySend(ctx, x); err != nil {
		return nil, nil, err
	}
	return s.invitation(d, x), d, nil
}

// invitation builds the link and template data of a stored send.
func (s *Service) invitation(d *Definition, x *store.SurveySend) *Invitation {
	token := s.msg.SignSurvey(x.Key, x.ExpiresAt)
	url := s.msg.PublicURL("/s/" + token)
	lo, hi := Range(d.Type)
	data := map[string]any{
		"id": d.ID, "type": d.Type, "url": url, "question": d.QuestionFor(x.Channel, x.Language),
		"comment": d.Comment[x.Language], "language": x.Language, "min": lo, "max": hi,
		"reply_hint": replyHint(x.Language, lo, hi), "expires_at": x.ExpiresAt.Format(time.RFC3339),
	}
	return &Invitation{Send: x, Token: token, URL: url, Data: data}
}

// replyHint says how to answer by text.
func replyHint(lang string, lo, hi int) string {
	if lang == "fr" {
		return fmt.Sprintf("Répondez par un chiffre de %d à %d.", lo, hi)
	}
	return fmt.Sprintf("Reply with a number from %d to %d.", lo, hi)
}

// Sent records the channel the invitation went out on (the pipeline
// picks it for "best"): text replies on it answer the survey.
func (s *Service) Sent(ctx context.Context, key, channel string) error {
	if channel == "" {
		return nil
	}
	return s.st.SetSurveySendChannel(ctx, key, channel)
}

// SendOptions are the options of SendAfter.
type SendOptions struct {
	// Key is the send's idempotency key: the same key sends once (a
	// conversation's id, "conversation:c-42").
	Key string
	// Channel is email, sms, whatsapp, push or best (default best).
	Channel string
	// Template overrides the survey's.
	Template string
	Topic    string
	Context
}

// SendAfter sends survey id to a profile after a contact: the
// conversation lane calls it when a conversation is resolved
// (Context.Agent, .Conversation, .Store). It is idempotent on o.Key:
// calling it again returns the same send and link, and the message
// pipeline holds one message per key.
func (s *Service) SendAfter(ctx context.Context, profileID int64, id string, o SendOptions) (*Invitation, *store.OutboxMessage, error) {
	if o.Channel == "" {
		o.Channel = "best"
	}
	if o.Key == "" {
		return nil, nil, problem.Invalid("key", "is required: an idempotency key, like conversation:c-42")
	}
	key := "survey:" + id + ":" + o.Key
	c := o.Context
	c.Channel = o.Channel
	inv, d, err := s.Prepare(ctx, id, profileID, key, c)
	if err != nil {
		return nil, nil, err
	}
	tpl := o.Template
	if tpl == "" {
		tpl = d.Template
	}
	if tpl == "" {
		return nil, nil, problem.Invalid("template", fmt.Sprintf("survey %s names no template: give one, or add template: to the survey", id))
	}
	m, err := s.msg.Send(ctx, message.Request{ProfileID: profileID, Channel: channelOf(o.Channel), Topic: o.Topic, TemplateID: tpl,
		Key: key, Campaign: "survey-" + id, StoreID: c.Store, Data: map[string]any{"survey": inv.Data}})
	if err != nil {
		return nil, nil, err
	}
	if m != nil {
		if err := s.Sent(ctx, key, string(m.Channel)); err != nil {
			return nil, nil, err
		}
		inv.Send.Channel = string(m.Channel)
	}
	return inv, m, nil
}

// traitString is the first of the traits p holds as a string.
func traitString(p *profile.Profile, names ...string) string {
	for _, n := range names {
		if t, ok := p.Traits[n]; ok {
			var v string
			if json.Unmarshal(t.Value, &v) == nil && v != "" {
				return v
			}
		}
	}
	return ""
}

func channelOf(s string) provider.Channel { return provider.Channel(s) }

// Sends returns the sends q selects, newest first.
func (s *Service) Sends(ctx context.Context, q store.SurveySendQuery) ([]*store.SurveySend, error) {
	return s.st.ListSurveySends(ctx, q)
}

// appliedKey is the context key of the surveys saved with the journeys
// being validated.
type appliedKey struct{}

// WithApplied returns ctx saying that surveys ids are applied with the
// journeys being validated (parcours apply validates journeys before it
// saves anything): a send step naming one of them is valid.
func WithApplied(ctx context.Context, ids []string) context.Context {
	return context.WithValue(ctx, appliedKey{}, ids)
}

// Applied reports whether ctx says survey id is applied with the
// journeys being validated.
func Applied(ctx context.Context, id string) bool {
	ids, _ := ctx.Value(appliedKey{}).([]string)
	return slices.Contains(ids, id)
}
