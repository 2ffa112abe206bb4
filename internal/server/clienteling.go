package server

import (
	"context"
	"strconv"

	"github.com/parcours/parcours/internal/clienteling"
	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/store"
)

// newClienteling assembles the store associate's customer card over the
// store, commerce, the customer's conversations and the committer (notes
// are appended like journeys' events) and the recommender (the
// customer's for_you, in stock in the associate's store).
func newClienteling(st store.Store, com *commerce.Service, sink clienteling.Sink, rules *identity.Rules, clk clock.Clock, rec clienteling.Recommender) *clienteling.Service {
	s := &clienteling.Service{Profiles: st, Sink: sink, Rules: rules, Clock: clk, Conversations: openConversations{st}, Recommender: rec}
	if com != nil {
		s.Commerce = com.Store()
	}
	return s
}

// openConversations gives the card a customer's conversations that are
// not resolved (open, or waiting for the customer).
type openConversations struct{ st store.Conversations }

func (o openConversations) OpenConversations(ctx context.Context, profileID int64, limit int) ([]clienteling.Conversation, error) {
	cs, err := o.st.ListConversations(ctx, store.ConversationQuery{ProfileID: profileID, Status: "active", Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]clienteling.Conversation, 0, len(cs))
	for _, c := range cs {
		out = append(out, clienteling.Conversation{ID: strconv.FormatInt(c.ID, 10), Channel: c.Channel, Status: c.Status,
			StoreID: c.StoreID, Assignee: c.Assignee, LastMessage: c.Subject, UpdatedAt: c.UpdatedAt})
	}
	return out, nil
}
