package server

import (
	"github.com/parcours/parcours/internal/clienteling"
	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/store"
)

// newClienteling assembles the store associate's customer card over the
// store, commerce and the committer (notes are appended like journeys'
// events). Conversations and recommendations are wired when their parts
// land (issue 21.1, the recommendations issue): until then the card says
// they are unavailable.
func newClienteling(st store.Store, com *commerce.Service, sink clienteling.Sink, rules *identity.Rules, clk clock.Clock) *clienteling.Service {
	s := &clienteling.Service{Profiles: st, Sink: sink, Rules: rules, Clock: clk}
	if com != nil {
		s.Commerce = com.Store()
	}
	return s
}
