package httpapi

import (
	"context"
	"fmt"
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
	SendBatch(ctx context.Context, rs []message.Request) ([]message.Result, error)
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

// batchRequest is the body of POST /api/v1/messages/batch: messages, each
// a sendRequest with its own idempotency key; the fields given at the top
// apply to every message that does not give them itself.
type batchRequest struct {
	sendRequest
	Messages []sendRequest `json:"messages"`
}

// batchResult is one message's outcome in a batch: the status its own
// POST /api/v1/messages would have answered, and the message or the error.
type batchResult struct {
	Status         int                   `json:"status"`
	IdempotencyKey string                `json:"idempotency_key,omitempty"`
	Message        *store.OutboxMessage  `json:"message,omitempty"`
	Error          *httpjson.ErrorDetail `json:"error,omitempty"`
}

// maxBatchBody bounds a batch's body: a thousand messages with their own
// data.
const maxBatchBody = 16 << 20

func (a *API) sendBatch(w http.ResponseWriter, r *http.Request) {
	var in batchRequest
	if err := decodeBodyMax(r, &in, maxBatchBody); err != nil {
		a.fail(w, r, err)
		return
	}
	switch {
	case len(in.Messages) == 0:
		a.fail(w, r, problem.Invalid("messages", "is empty: give at least one message, each with its idempotency_key"))
		return
	case len(in.Messages) > message.MaxBatch:
		a.fail(w, r, problem.Invalidf("messages", "%d messages: at most %d in one batch; send the rest in another", len(in.Messages), message.MaxBatch))
		return
	case in.ProfileID != 0 || in.Identifier != "" || in.IdempotencyKey != "":
		a.fail(w, r, problem.Invalid("profile_id", "profile_id, identifier and idempotency_key belong to each message, not to the batch"))
		return
	}
	results := make([]batchResult, len(in.Messages))
	ids, errs, err := a.resolveProfiles(r.Context(), in.Messages)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var reqs []message.Request
	var at []int
	for i, m := range in.Messages {
		results[i].IdempotencyKey = m.IdempotencyKey
		if errs[i] != nil {
			results[i].fail(errs[i], i)
			continue
		}
		d := in.sendRequest
		req := message.Request{ProfileID: ids[i], Channel: or(m.Channel, d.Channel), Topic: or(m.Topic, d.Topic),
			TemplateID: m.TemplateID, Content: m.Content, Event: m.Event, Data: m.Data,
			Key: m.IdempotencyKey, Campaign: or(m.Campaign, d.Campaign)}
		// A message that names neither a template nor content takes the
		// batch's (both: they are one choice).
		if req.TemplateID == "" && req.Content == nil {
			req.TemplateID, req.Content = d.TemplateID, d.Content
		}
		if req.Event == nil {
			req.Event = d.Event
		}
		if req.Data == nil {
			req.Data = d.Data
		}
		reqs = append(reqs, req)
		at = append(at, i)
	}
	if len(reqs) > 0 {
		sent, err := a.messages.SendBatch(r.Context(), reqs)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		for j, res := range sent {
			i := at[j]
			if res.Err != nil {
				results[i].fail(res.Err, i)
				continue
			}
			results[i].Status, results[i].Message = http.StatusAccepted, res.Message
		}
	}
	out := struct {
		Accepted int           `json:"accepted"`
		Refused  int           `json:"refused"`
		Results  []batchResult `json:"results"`
	}{Results: results}
	for _, res := range results {
		if res.Error == nil {
			out.Accepted++
		} else {
			out.Refused++
		}
	}
	httpjson.Write(w, http.StatusOK, out)
}

// fail records the error of the batch's message i, as its own request
// would have been answered; a path in the details is prefixed with the
// message's place (messages[3].identifier).
func (b *batchResult) fail(err error, i int) {
	p := problem.Describe(err)
	b.Status = httpjson.Status(p.Kind)
	if p.Kind == problem.KindInternal {
		p.Message = "internal error"
	}
	b.Error = &httpjson.ErrorDetail{Code: p.Code, Message: fmt.Sprintf("messages[%d]: %s", i, p.Message), Details: p.Details}
}

// resolveProfiles is resolveProfile for a batch's messages: the
// identifiers are looked up in one read. errs[i] is why message i names
// no profile.
func (a *API) resolveProfiles(ctx context.Context, ms []sendRequest) (ids []int64, errs []error, err error) {
	ids, errs = make([]int64, len(ms)), make([]error, len(ms))
	rules := a.profiles.Rules
	if rules == nil {
		rules = identity.DefaultRules()
	}
	norms := make([]identity.Identifier, len(ms))
	var lookup []identity.Identifier
	for i, m := range ms {
		switch {
		case m.ProfileID > 0:
			ids[i] = m.ProfileID
			continue
		case m.Identifier == "":
			errs[i] = problem.Invalid("profile_id", "give a profile_id or an identifier (kind:value, e.g. email:zoe@example.fr)")
			continue
		}
		x, ok := identity.ParseIdentifier(m.Identifier)
		if !ok {
			errs[i] = problem.Invalid("identifier", "must be kind:value, e.g. email:zoe@example.fr")
			continue
		}
		norm, why := rules.Normalize(identity.Raw{Kind: x.Kind, Value: x.Value})
		if why != "" {
			errs[i] = problem.Invalid("identifier", why)
			continue
		}
		norms[i] = norm
		lookup = append(lookup, norm)
	}
	if len(lookup) == 0 {
		return ids, errs, nil
	}
	holders, err := a.store.Holders(ctx, lookup)
	if err != nil {
		return nil, nil, err
	}
	for i := range ms {
		if ids[i] != 0 || errs[i] != nil {
			continue
		}
		if ids[i] = holders[norms[i]]; ids[i] == 0 {
			errs[i] = problem.Invalid("identifier", "no profile holds "+norms[i].String())
		}
	}
	return ids, errs, nil
}

// or is s, else dflt.
func or[T ~string](s, dflt T) T {
	if s == "" {
		return dflt
	}
	return s
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
