package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// Messages is the message pipeline, as the API uses it.
type Messages interface {
	Send(ctx context.Context, r message.Request) (*store.OutboxMessage, error)
	Message(ctx context.Context, id int64) (*store.OutboxMessage, error)
	ProfileMessages(ctx context.Context, profileID, before int64, limit int) ([]*store.OutboxMessage, error)
	SaveTemplate(ctx context.Context, in message.TemplateInput) (*store.TemplateRecord, error)
	Templates(ctx context.Context) ([]*store.TemplateRecord, error)
	Template(ctx context.Context, id string) (*store.TemplateRecord, error)
	DeleteTemplate(ctx context.Context, id string) error
	Preview(ctx context.Context, id string, profileID int64) (*message.Preview, error)
	Consent(ctx context.Context, profileID int64) (*message.Consent, error)
	CurrentConsent(ctx context.Context, p *profile.Profile) ([]store.ConsentRecord, error)
	RecordConsent(ctx context.Context, c message.ConsentChange) (*store.ConsentRecord, error)
	RequestDoubleOptIn(ctx context.Context, c message.ConsentChange) (*store.OutboxMessage, error)
	HandleReceipt(ctx context.Context, r provider.Receipt) error
}

// SetMessages plugs the message pipeline into the API (its routes answer
// 503 without it).
func (a *API) SetMessages(m Messages) { a.messages = m }

// errNoMessages answers the message routes of a process without the
// pipeline.
var errNoMessages = problem.New(problem.KindUnavailable, "unavailable", "the message pipeline is not running in this process")

func (a *API) withMessages(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.messages == nil {
			a.fail(w, r, errNoMessages)
			return
		}
		h(w, r)
	}
}

// resolveProfile returns a profile id given directly or by identifier
// (kind:value, normalised as identity resolution does).
func (a *API) resolveProfile(ctx context.Context, id int64, identifier string) (int64, error) {
	switch {
	case id > 0:
		return id, nil
	case identifier == "":
		return 0, problem.Invalid("profile_id", "give a profile_id or an identifier (kind:value, e.g. email:zoe@example.fr)")
	}
	x, ok := identity.ParseIdentifier(identifier)
	if !ok {
		return 0, problem.Invalid("identifier", "must be kind:value, e.g. email:zoe@example.fr")
	}
	rules := a.profiles.Rules
	if rules == nil {
		rules = identity.DefaultRules()
	}
	norm, why := rules.Normalize(identity.Raw{Kind: x.Kind, Value: x.Value})
	if why != "" {
		return 0, problem.Invalid("identifier", why)
	}
	holders, err := a.store.Holders(ctx, []identity.Identifier{norm})
	if err != nil {
		return 0, err
	}
	if holders[norm] == 0 {
		return 0, problem.Invalid("identifier", "no profile holds "+norm.String())
	}
	return holders[norm], nil
}

// sendRequest is the body of POST /api/v1/messages.
type sendRequest struct {
	ProfileID      int64              `json:"profile_id"`
	Identifier     string             `json:"identifier"`
	Channel        provider.Channel   `json:"channel"`
	Topic          string             `json:"topic"`
	TemplateID     string             `json:"template_id"`
	Content        *template.Template `json:"content"`
	Event          map[string]any     `json:"event"`
	Data           map[string]any     `json:"data"`
	IdempotencyKey string             `json:"idempotency_key"`
	Campaign       string             `json:"campaign"`
}

func (a *API) sendMessage(w http.ResponseWriter, r *http.Request) {
	var in sendRequest
	if err := decodeBody(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if in.IdempotencyKey == "" {
		in.IdempotencyKey = r.Header.Get("Idempotency-Key")
	}
	id, err := a.resolveProfile(r.Context(), in.ProfileID, in.Identifier)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	m, err := a.messages.Send(r.Context(), message.Request{ProfileID: id, Channel: in.Channel, Topic: in.Topic,
		TemplateID: in.TemplateID, Content: in.Content, Event: in.Event, Data: in.Data, Key: in.IdempotencyKey, Campaign: in.Campaign})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusAccepted, m)
}

func (a *API) getMessage(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		a.fail(w, r, problem.Invalid("id", "must be a message id (a positive integer)"))
		return
	}
	m, err := a.messages.Message(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, m)
}

func (a *API) profileMessages(w http.ResponseWriter, r *http.Request) {
	p, ok := a.pathProfile(w, r)
	if !ok {
		return
	}
	v := r.URL.Query()
	limit, err := limitParam(v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := decodeCursor(v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.messages.ProfileMessages(r.Context(), p.ID, c.Before, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := struct {
		Messages   []*store.OutboxMessage `json:"messages"`
		NextCursor string                 `json:"next_cursor,omitempty"`
	}{Messages: append([]*store.OutboxMessage{}, list...)}
	if len(list) == limit {
		page.NextCursor = cursor{Before: list[len(list)-1].ID}.encode()
	}
	httpjson.Write(w, http.StatusOK, page)
}
