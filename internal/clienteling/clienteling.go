// Package clienteling is the store associate's view of the customer in
// front of them (issue 21.5): found by phone, email, loyalty card or a
// scanned code, it gathers in one read who they are and what they agreed
// to be sent, their preferences and sizes, the one cart, what they looked
// at on the web, their orders and returns, open tasks and conversations,
// segments, and the stock of those products in this store. The
// associate's note goes back onto the timeline as a Store Note Added
// event; a sale goes through the order API like any till's.
//
// The package reads what the other parts keep (profiles, consent,
// segments, tasks, commerce) through the small interfaces below; it owns
// no table. Who may see whom (store roles see their stores' customers) is
// the API's business: View takes the stores the viewer works in.
package clienteling

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// Profiles is what the view reads of the unified profile and around it:
// the identity graph, the timeline, consent, segment memberships, tasks.
type Profiles interface {
	Holders(ctx context.Context, ids []identity.Identifier) (map[identity.Identifier]int64, error)
	Profile(ctx context.Context, id int64) (*profile.Profile, error)
	MergeLog(ctx context.Context, profileID int64) ([]store.MergeRecord, error)
	Timeline(ctx context.Context, q store.TimelineQuery) ([]*event.Event, error)
	ConsentState(ctx context.Context, profileIDs []int64) ([]store.ConsentRecord, error)
	Suppressions(ctx context.Context, channel string, addresses []string) ([]store.Suppression, error)
	SegmentStates(ctx context.Context, profiles []int64) (map[int64][]byte, error)
	ListTasks(ctx context.Context, q store.TaskQuery) ([]*store.Task, error)
}

// Commerce is what the view reads of commerce: the one cart, orders and
// their returns, stock, the store's name. commerce.Store has it.
type Commerce interface {
	Cart(ctx context.Context, customer string) (*commerce.Cart, error)
	Order(ctx context.Context, id string) (*commerce.Order, error)
	ListOrders(ctx context.Context, q commerce.OrderQuery) ([]*commerce.Order, error)
	Returns(ctx context.Context, orderID string) ([]*commerce.Return, error)
	StockOf(ctx context.Context, sku string) ([]commerce.StockLevel, error)
	Location(ctx context.Context, id string) (*place.Location, error)
}

// Conversations lists a customer's open conversations (the conversation
// lane, issue 21.1, implements it). Without one the view says so.
type Conversations interface {
	OpenConversations(ctx context.Context, profileID int64, limit int) ([]Conversation, error)
}

// Conversation is one open conversation as the associate sees it.
type Conversation struct {
	ID          string    `json:"id"`
	Channel     string    `json:"channel"` // of the last message
	Status      string    `json:"status"`
	StoreID     string    `json:"store_id,omitempty"`
	Assignee    string    `json:"assignee,omitempty"`
	LastMessage string    `json:"last_message,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Recommender proposes products for a customer in a store (the
// recommendations issue implements it). Without one the view says so.
type Recommender interface {
	Recommend(ctx context.Context, p *profile.Profile, storeID string, limit int) ([]Recommendation, error)
}

// Recommendation is one product proposed to the customer; the view adds
// its stock in the store.
type Recommendation struct {
	SKU    string `json:"sku"`
	Name   string `json:"name,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Sink appends events to the log (the server's committer).
type Sink interface {
	Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error
}

// Service finds customers and assembles their view.
type Service struct {
	Profiles Profiles
	// Commerce is nil when commerce is not wired: the cart, orders and
	// stock sections are then null, with a note.
	Commerce      Commerce
	Conversations Conversations // nil: not built yet
	Recommender   Recommender   // nil: not built yet
	Sink          Sink          // nil: notes are refused
	Rules         *identity.Rules
	Clock         clock.Clock
	// Limits of the view's lists; zero: the defaults.
	Limits Limits
}

// Limits bound the lists of a view (what fits on a tablet, and what keeps
// a view to a few dozen indexed reads).
type Limits struct {
	Views, Purchases, Notes, Orders, Tasks, Conversations, Recommendations, StockSKUs int
}

// DefaultLimits are the limits of a Service whose Limits are zero.
var DefaultLimits = Limits{Views: 10, Purchases: 10, Notes: 5, Orders: 10, Tasks: 20, Conversations: 10, Recommendations: 6, StockSKUs: 20}

func (s *Service) limits() Limits {
	if s.Limits == (Limits{}) {
		return DefaultLimits
	}
	return s.Limits
}

func (s *Service) rules() *identity.Rules {
	if s.Rules == nil {
		return identity.DefaultRules()
	}
	return s.Rules
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC()
	}
	return s.Clock.Now()
}
