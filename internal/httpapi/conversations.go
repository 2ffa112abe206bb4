package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/conversation"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// WithConversations serves the conversation endpoints (customer service)
// and the web chat.
func (a *API) WithConversations(c *conversation.Service) *API {
	a.conversations = c
	a.chat = newChatLimits()
	return a
}

// conversationsOnly serves h when the API has the conversation service.
func (a *API) conversationsOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.conversations == nil {
			noSuchEndpoint(w, r)
			return
		}
		h(w, r)
	}
}

// actor is who writes: the signed-in user's email, or the key's id.
func actor(r *http.Request) string {
	p := auth.FromContext(r.Context())
	if p == nil {
		return ""
	}
	if p.Kind == "user" && p.Name != "" {
		return p.Name
	}
	return p.Kind + ":" + p.ID
}

// listConversations serves GET /api/v1/conversations: the queue, by id
// (oldest first), filtered by status (open, pending, resolved, active),
// team, store_id, assignee (an email, "me", or "-" for nobody), priority,
// tag, customer (an identifier: email, +number, kind:value) and q (text of
// the messages).
func (a *API) listConversations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := limitParam(q)
	cursor, err2 := cursorID(q)
	if err = errors.Join(err, err2); err != nil {
		a.fail(w, r, err)
		return
	}
	cq := store.ConversationQuery{Status: q.Get("status"), Team: q.Get("team"), Assignee: q.Get("assignee"), Priority: q.Get("priority"),
		Tag: q.Get("tag"), Text: q.Get("q"), Limit: limit}
	switch cq.Status {
	case "", "active", store.ConversationOpen, store.ConversationPending, store.ConversationResolved:
	default:
		a.fail(w, r, problem.Invalid("status", "is open, pending, resolved or active (open and pending)"))
		return
	}
	if cq.Assignee == "me" {
		cq.Assignee = actor(r)
	}
	if cursor != "" {
		if cq.After, err = strconv.ParseInt(cursor, 10, 64); err != nil {
			a.fail(w, r, problem.Invalid("cursor", "is not a cursor this API handed out"))
			return
		}
	}
	if cq.StoreID, err = scopedStore(r, q.Get("store_id")); err != nil {
		a.fail(w, r, err)
		return
	}
	page := struct {
		Conversations []*store.Conversation `json:"conversations"`
		NextCursor    string                `json:"next_cursor,omitempty"`
	}{Conversations: []*store.Conversation{}}
	var ids []int64
	if c := q.Get("customer"); c != "" {
		if ids, err = a.conversations.Customers(r.Context(), c); err != nil {
			a.fail(w, r, err)
			return
		}
		if len(ids) == 0 {
			a.reply(w, r, http.StatusOK, page, nil)
			return
		}
	}
	var list []*store.Conversation
	if len(ids) == 0 {
		list, err = a.conversations.List(r.Context(), cq)
	} else {
		// One customer has one profile, rarely a few (before a merge).
		for _, id := range ids {
			cq.ProfileID = id
			l, lerr := a.conversations.List(r.Context(), cq)
			if err = lerr; err != nil {
				break
			}
			list = append(list, l...)
		}
	}
	page.Conversations = append(page.Conversations, list...)
	if len(list) > 0 && len(ids) <= 1 {
		page.NextCursor = nextIDCursor(len(list), limit, strconv.FormatInt(list[len(list)-1].ID, 10))
	}
	a.reply(w, r, http.StatusOK, page, err)
}

func conversationID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, problem.Invalid(name, "is a conversation id, a positive integer")
	}
	return id, nil
}

// conversation reads the conversation of the path, refusing a store role
// one of another store (or of no store: the service team's).
func (a *API) conversation(r *http.Request) (*store.Conversation, error) {
	id, err := conversationID(r, "id")
	if err != nil {
		return nil, err
	}
	c, err := a.conversations.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if p := auth.FromContext(r.Context()); p != nil && p.Role.Scoped() && !p.InStore(c.StoreID) {
		return nil, notYourStore(p, c.StoreID)
	}
	return c, nil
}

func (a *API) getConversation(w http.ResponseWriter, r *http.Request) {
	c, err := a.conversation(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := a.conversations.Show(r.Context(), c.ID)
	a.reply(w, r, http.StatusOK, v, err)
}

// replyInput is the body of a reply or a note.
type replyInput struct {
	Channel    string `json:"channel"`
	Body       string `json:"body"`
	TemplateID string `json:"template_id"`
	Subject    string `json:"subject"`
	Key        string `json:"key"`
	Status     string `json:"status"`
	// Opening a conversation with a note.
	ProfileID int64  `json:"profile_id"`
	StoreID   string `json:"store_id"`
}

func (in replyInput) reply(r *http.Request) conversation.Reply {
	key := in.Key
	if key == "" {
		key = r.Header.Get("Idempotency-Key")
	}
	return conversation.Reply{Author: actor(r), Channel: in.Channel, Body: in.Body, TemplateID: in.TemplateID, Subject: in.Subject,
		Key: key, Status: in.Status}
}

// createConversation serves POST /api/v1/conversations: a phone or store
// note about a customer, in their active conversation or a new one.
func (a *API) createConversation(w http.ResponseWriter, r *http.Request) {
	var in replyInput
	if err := decodeBodyMax(r, &in, conversation.MaxBody+4096); err != nil {
		a.fail(w, r, err)
		return
	}
	storeID, err := scopedStore(r, in.StoreID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, m, err := a.conversations.Open(r.Context(), in.ProfileID, storeID, in.reply(r))
	a.reply(w, r, http.StatusCreated, map[string]any{"conversation": c, "message": m}, err)
}

// replyConversation serves POST /api/v1/conversations/{id}/messages: an
// answer to the customer (email, sms, whatsapp, chat) or a note.
func (a *API) replyConversation(w http.ResponseWriter, r *http.Request) {
	c, err := a.conversation(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in replyInput
	if err := decodeBodyMax(r, &in, conversation.MaxBody+4096); err != nil {
		a.fail(w, r, err)
		return
	}
	c, m, err := a.conversations.Reply(r.Context(), c.ID, in.reply(r))
	a.reply(w, r, http.StatusCreated, map[string]any{"conversation": c, "message": m}, err)
}

// assignConversation serves POST /api/v1/conversations/{id}/assign
// {"assignee": "ana@shop.example"} or {"round_robin": true}.
func (a *API) assignConversation(w http.ResponseWriter, r *http.Request) {
	c, err := a.conversation(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in struct {
		Assignee   string `json:"assignee"`
		RoundRobin bool   `json:"round_robin"`
	}
	if err := decodeBody(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if in.Assignee == "me" {
		in.Assignee = actor(r)
	}
	c, err = a.conversations.Assign(r.Context(), c.ID, in.Assignee, in.RoundRobin, actor(r))
	a.reply(w, r, http.StatusOK, c, err)
}

// conversationStatus serves POST /api/v1/conversations/{id}/resolve (and
// /reopen).
func (a *API) conversationStatus(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := a.conversation(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		c, err = a.conversations.SetStatus(r.Context(), c.ID, status, actor(r))
		a.reply(w, r, http.StatusOK, c, err)
	}
}

// mergeConversation serves POST /api/v1/conversations/{id}/merge
// {"into": ID}: the messages of {id} move into the other.
func (a *API) mergeConversation(w http.ResponseWriter, r *http.Request) {
	c, err := a.conversation(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in struct {
		Into int64 `json:"into"`
	}
	if err := decodeBody(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	into, err := a.conversations.Get(r.Context(), in.Into)
	if err == nil {
		err = checkStore(r, into.StoreID)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	into, err = a.conversations.Merge(r.Context(), c.ID, into.ID, actor(r))
	a.reply(w, r, http.StatusOK, into, err)
}

// patchConversation serves PATCH /api/v1/conversations/{id}: tags,
// priority, team, store_id.
func (a *API) patchConversation(w http.ResponseWriter, r *http.Request) {
	c, err := a.conversation(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in struct {
		Tags     *[]string `json:"tags"`
		Priority *string   `json:"priority"`
		Team     *string   `json:"team"`
		StoreID  *string   `json:"store_id"`
	}
	if err := decodeBody(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if in.StoreID != nil {
		if err := checkStore(r, *in.StoreID); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	c, err = a.conversations.Update(r.Context(), c.ID, conversation.Patch{Team: in.Team, StoreID: in.StoreID, Priority: in.Priority, Tags: in.Tags})
	a.reply(w, r, http.StatusOK, c, err)
}
