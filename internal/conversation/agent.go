package conversation

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/store"
)

// TakeInbound takes every SMS and WhatsApp text that is not a keyword
// (and that the handlers before it, surveys, left): it becomes a message
// of the sender's conversation (message.InboundHandler).
func (s *Service) TakeInbound(ctx context.Context, in message.Inbound, profiles []int64) (bool, error) {
	ch := string(in.Channel)
	if ch != SMS && ch != WhatsApp {
		return false, nil
	}
	inc := Incoming{Channel: ch, From: in.From, Body: in.Body, Key: inboundKey(in, s.o.Clock.Now()), Provider: in.Provider, ProviderID: in.ID, At: in.At}
	if len(profiles) > 0 {
		inc.ProfileID = slices.Min(profiles)
	} else {
		inc.Contact = in.From
	}
	_, _, err := s.Receive(ctx, inc)
	return err == nil, err
}

// Open records a note about a customer — a phone call, a visit in store —
// in their active conversation, opening one (for storeID's queue when
// given) if they have none.
func (s *Service) Open(ctx context.Context, profileID int64, storeID string, r Reply) (*store.Conversation, *store.ConversationMessage, error) {
	if profileID <= 0 {
		return nil, nil, invalid("profile_id: is required (the customer's profile)")
	}
	if !IsNote(r.Channel) {
		return nil, nil, invalid("channel: %q; a conversation is opened by agents with a phone_note, store_note or note (customers open theirs by writing)", r.Channel)
	}
	c := s.newConversation(profileID, "", r.Channel, storeID, s.o.Clock.Now())
	if _, err := s.st.OpenConversation(ctx, c); err != nil {
		return nil, nil, err
	}
	return s.Reply(ctx, c.ID, r)
}

// SetStatus moves a conversation to open, pending or resolved.
func (s *Service) SetStatus(ctx context.Context, id int64, status, by string) (*store.Conversation, error) {
	switch status {
	case store.ConversationOpen, store.ConversationPending, store.ConversationResolved:
	default:
		return nil, invalid("status: %q is not a status: open, pending or resolved", status)
	}
	return s.change(ctx, id, func(c *store.Conversation) ([]*event.Event, error) {
		if c.MergedInto > 0 {
			return nil, invalid("conversation %d was merged into %d", c.ID, c.MergedInto)
		}
		return s.setStatus(c, status, by, s.o.Clock.Now()), nil
	})
}

// Patch changes what agents file a conversation under; nil fields stay.
type Patch struct {
	Team, StoreID, Priority *string
	Tags                    *[]string
}

// Update applies p to conversation id.
func (s *Service) Update(ctx context.Context, id int64, p Patch) (*store.Conversation, error) {
	if p.Priority != nil && !slices.Contains(Priorities, *p.Priority) {
		return nil, invalid("priority: %q is not a priority: %s", *p.Priority, strings.Join(Priorities, ", "))
	}
	if p.Tags != nil {
		tags := []string{}
		for _, t := range *p.Tags {
			t = strings.TrimSpace(t)
			if t == "" || len(t) > 50 || strings.ContainsAny(t, "\"\\\x00") {
				return nil, invalid("tags: %q is not a tag (1 to 50 characters, no quote or backslash)", t)
			}
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
		if len(tags) > 20 {
			return nil, invalid("tags: %d tags; at most 20", len(tags))
		}
		p.Tags = &tags
	}
	return s.change(ctx, id, func(c *store.Conversation) ([]*event.Event, error) {
		if p.Team != nil {
			c.Team = *p.Team
		}
		if p.StoreID != nil {
			c.StoreID = *p.StoreID
		}
		if p.Priority != nil {
			c.Priority = *p.Priority
		}
		if p.Tags != nil {
			c.Tags = *p.Tags
		}
		return nil, nil
	})
}

// Queue is the queue a conversation waits in: its store's when it has
// one, else its team's.
func Queue(c *store.Conversation) string {
	if c.StoreID != "" {
		return "store:" + c.StoreID
	}
	return "team:" + c.Team
}

// Assign gives conversation id to assignee ("" unassigns), or, with
// roundRobin, to the next agent of its queue in turn: the enabled users
// who may work it (agents for a team's queue; the store's staff and
// managers for a store's).
func (s *Service) Assign(ctx context.Context, id int64, assignee string, roundRobin bool, by string) (*store.Conversation, error) {
	if roundRobin {
		c, err := s.st.Conversation(ctx, id)
		if err != nil {
			return nil, err
		}
		agents, err := s.agents(ctx, c)
		if err != nil {
			return nil, err
		}
		if len(agents) == 0 {
			return nil, invalid("queue %s has nobody to assign to: no enabled user with the role %s", Queue(c),
				map[bool]string{true: "store_staff or store_manager of store " + c.StoreID, false: "agent"}[c.StoreID != ""])
		}
		if assignee, err = s.st.NextAssignee(ctx, Queue(c), agents); err != nil {
			return nil, err
		}
	}
	return s.change(ctx, id, func(c *store.Conversation) ([]*event.Event, error) {
		if c.Assignee == assignee {
			return nil, nil
		}
		c.Assignee = assignee
		return []*event.Event{s.event(c, EventAssigned, "assign-v"+strconv.FormatInt(c.Version+1, 10), s.o.Clock.Now(),
			map[string]any{"assignee": assignee, "by": by, "roundRobin": roundRobin, "queue": Queue(c)})}, nil
	})
}

// agents are the users who take turns in c's queue, by email.
func (s *Service) agents(ctx context.Context, c *store.Conversation) ([]string, error) {
	users, err := s.st.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range users {
		if u.Disabled {
			continue
		}
		switch {
		case c.StoreID != "" && (u.Role == auth.RoleStoreStaff || u.Role == auth.RoleStoreManager) && slices.Contains(u.Stores, c.StoreID):
		case c.StoreID == "" && u.Role == auth.RoleAgent:
		default:
			continue
		}
		out = append(out, u.Email)
	}
	return out, nil
}

// Merge moves every message of conversation from into into, and resolves
// from as merged: one customer's two conversations (two profiles that
// identity resolution merged, a customer who wrote from a number no
// profile held) become one.
func (s *Service) Merge(ctx context.Context, from, into int64, by string) (*store.Conversation, error) {
	if from == into {
		return nil, invalid("into: a conversation cannot be merged into itself")
	}
	a, err := s.st.Conversation(ctx, from)
	if err != nil {
		return nil, err
	}
	b, err := s.st.Conversation(ctx, into)
	if err != nil {
		return nil, err
	}
	if b.MergedInto > 0 {
		return nil, invalid("conversation %d was merged into %d already: merge into that one", b.ID, b.MergedInto)
	}
	if a.MergedInto > 0 {
		if a.MergedInto == into {
			return b, nil // done before
		}
		return nil, invalid("conversation %d was merged into %d already", a.ID, a.MergedInto)
	}
	now := s.o.Clock.Now()
	if err := s.st.MergeConversations(ctx, from, into, now); err != nil {
		return nil, err
	}
	return s.change(ctx, into, func(c *store.Conversation) ([]*event.Event, error) {
		if a.LastMessageAt.After(c.LastMessageAt) {
			c.LastMessageAt, c.Channel = a.LastMessageAt, a.Channel
		}
		for _, t := range a.Tags {
			if !slices.Contains(c.Tags, t) {
				c.Tags = append(c.Tags, t)
			}
		}
		return []*event.Event{s.event(c, EventMerged, "merged-"+strconv.FormatInt(from, 10), now,
			map[string]any{"from": from, "by": by})}, nil
	})
}

// CheckSLA announces the SLAs due by now that were not met (an event
// each, Conversation SLA Breached) and stops their timers. The timers are
// rows (their due instants, indexed): they outlive restarts, and a check
// after a crash announces a breach once (its event id is the timer's).
func (s *Service) CheckSLA(ctx context.Context) (int, error) {
	now := s.o.Clock.Now()
	due, err := s.st.DueConversationSLAs(ctx, now, 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range due {
		_, err := s.change(ctx, d.ID, func(c *store.Conversation) ([]*event.Event, error) {
			var evs []*event.Event
			for _, sla := range []struct {
				name string
				due  *time.Time
			}{{SLAFirstResponse, &c.FirstResponseDue}, {SLAResolution, &c.ResolutionDue}} {
				if sla.due.IsZero() || sla.due.After(now) {
					continue
				}
				evs = append(evs, s.event(c, EventSLABreached, "sla-"+sla.name+"-"+strconv.FormatInt(sla.due.UnixMicro(), 10), *sla.due,
					map[string]any{"sla": sla.name, "due": *sla.due, "queue": Queue(c), "assignee": c.Assignee, "priority": c.Priority}))
				if !slices.Contains(c.Breaches, sla.name) {
					c.Breaches = append(c.Breaches, sla.name)
				}
				*sla.due = time.Time{}
			}
			n += len(evs)
			return evs, nil
		})
		if err != nil {
			return n, fmt.Errorf("conversation %d: SLA: %w", d.ID, err)
		}
	}
	return n, nil
}

// RunSLA checks the SLAs every interval until ctx ends.
func (s *Service) RunSLA(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.CheckSLA(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("conversations: SLA check failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// View is a conversation with its messages.
type View struct {
	*store.Conversation
	Messages []*store.ConversationMessage `json:"messages"`
	// WhatsAppWindowEnds is when a free-text WhatsApp answer stops being
	// possible (zero: the customer never wrote on WhatsApp).
	WhatsAppWindowEnds time.Time `json:"whatsapp_window_ends,omitzero"`
	ReplyTo            string    `json:"reply_to,omitempty"`
}

// Show returns conversation id with its messages.
func (s *Service) Show(ctx context.Context, id int64) (*View, error) {
	c, err := s.st.Conversation(ctx, id)
	if err != nil {
		return nil, err
	}
	ms, err := s.st.ConversationMessages(ctx, id)
	if err != nil {
		return nil, err
	}
	end, err := s.WindowEnd(ctx, c.ProfileID)
	if err != nil {
		return nil, err
	}
	return &View{Conversation: c, Messages: ms, WhatsAppWindowEnds: end, ReplyTo: s.ReplyAddress(c.ID)}, nil
}

// Get returns one conversation.
func (s *Service) Get(ctx context.Context, id int64) (*store.Conversation, error) {
	return s.st.Conversation(ctx, id)
}

// List returns the conversations q selects.
func (s *Service) List(ctx context.Context, q store.ConversationQuery) ([]*store.Conversation, error) {
	return s.st.ListConversations(ctx, q)
}
