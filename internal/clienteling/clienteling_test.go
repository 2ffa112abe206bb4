package clienteling_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/clienteling"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store/sqlite"
)

func openSQLite(tb testing.TB) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), tb.TempDir())
	must(tb, err)
	tb.Cleanup(func() { st.Close() })
	must(tb, st.Migrate(context.Background()))
	return st
}

type sink struct{ events []*event.Event }

func (s *sink) Submit(_ context.Context, evs []*event.Event, _ []*event.Rejection) error {
	s.events = append(s.events, evs...)
	return nil
}

func service(f *fixture) *clienteling.Service {
	return &clienteling.Service{Profiles: f.st, Commerce: f.com.Store(), Clock: f.clk, Sink: &sink{}}
}

func TestFind(t *testing.T) {
	f := buildFixture(t, openSQLite(t), 20, 3)
	ctx := context.Background()
	// Customer 2's card number is also an order number of customer 3's:
	// a bare code that is both is ambiguous.
	_, err := f.com.PlaceOrder(ctx, &commerce.Order{ID: cardOf(2), Channel: "store", Fulfilment: commerce.ClickCollect, Location: "lyon",
		Customer: commerce.Customer{UserID: userOf(3)}, Lines: []commerce.Line{{SKU: skuOf(1), Price: 89, Quantity: 1}}, Currency: "EUR"})
	must(t, err)
	s := service(f)
	orders, err := f.st.ListOrders(ctx, commerce.OrderQuery{Customer: "user_id:" + userOf(1)})
	must(t, err)
	for _, c := range []struct {
		name string
		q    clienteling.Query
		want int64
		by   string
	}{
		{"phone as said", clienteling.Query{Phone: "06 00 00 00 05"}, 6, "phone:+33600000005"},
		{"phone in E.164", clienteling.Query{Phone: "+33600000005"}, 6, "phone:+33600000005"},
		{"email in capitals", clienteling.Query{Email: " C7@Example.FR "}, 8, "email:c7@example.fr"},
		{"card", clienteling.Query{Card: cardOf(9)}, 10, "loyalty_id:" + cardOf(9)},
		{"scanned card", clienteling.Query{Code: cardOf(4)}, 5, "loyalty_id:" + cardOf(4)},
		{"scanned order:ID", clienteling.Query{Code: "order:" + orders[0].ID}, 2, "order:" + orders[0].ID},
		{"scanned bare order id", clienteling.Query{Code: orders[0].ID}, 2, "order:" + orders[0].ID},
		{"scanned identifier", clienteling.Query{Code: "user_id:" + userOf(11)}, 12, "user_id:" + userOf(11)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.Find(ctx, c.q)
			if err != nil || got.Profile.ID != c.want || got.By != c.by {
				t.Fatalf("Find(%+v) = %+v, %v; want profile %d by %s", c.q, got, err, c.want, c.by)
			}
		})
	}
	for _, c := range []struct {
		name string
		q    clienteling.Query
		kind problem.Kind
		says string
	}{
		{"unknown phone", clienteling.Query{Phone: "0799999999"}, problem.KindNotFound, "no customer phone 0799999999: no profile holds this phone number"},
		{"unknown code", clienteling.Query{Code: "XYZ-1"}, problem.KindNotFound, "loyalty card number"},
		{"not a phone", clienteling.Query{Phone: "abc"}, problem.KindInvalid, "not a phone number"},
		{"two fields", clienteling.Query{Phone: "0600000005", Email: "c7@example.fr"}, problem.KindInvalid, "exactly one of phone, email, card or code"},
		{"nothing", clienteling.Query{}, problem.KindInvalid, "exactly one"},
		{"ambiguous code", clienteling.Query{Code: cardOf(2)}, problem.KindConflict, "matches 2 customers (profile 3 by loyalty_id:LC000000002; profile 4 by order:LC000000002)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.Find(ctx, c.q)
			p := problem.Describe(err)
			if err == nil || p.Kind != c.kind || !strings.Contains(p.Message, c.says) {
				t.Fatalf("Find(%+v) = %+v, %v (%+v); want a %v saying %q", c.q, got, err, p, c.kind, c.says)
			}
		})
	}
	var amb *clienteling.AmbiguousError
	if _, err := s.Find(ctx, clienteling.Query{Code: cardOf(2)}); !errors.As(err, &amb) || len(amb.Candidates) != 2 {
		t.Fatalf("ambiguous: %v", err)
	}
}

type convs struct{}

func (convs) OpenConversations(_ context.Context, id int64, _ int) ([]clienteling.Conversation, error) {
	return []clienteling.Conversation{{ID: "conv_1", Channel: "sms", Status: "open", LastMessage: "is it in stock?"}}, nil
}

type recs struct{}

func (recs) Recommend(_ context.Context, p *profile.Profile, storeID string, _ int) ([]clienteling.Recommendation, error) {
	return []clienteling.Recommendation{{SKU: skuOf(150), Name: "Boot", Reason: "bought with sneakers"}}, nil
}

func TestView(t *testing.T) {
	f := buildFixture(t, openSQLite(t), 10, 2)
	ctx := context.Background()
	s := service(f)
	found, err := s.Find(ctx, clienteling.Query{Phone: "0600000001"})
	must(t, err)
	v, err := s.View(ctx, found.Profile, found.By, clienteling.Viewer{Store: "paris"})
	must(t, err)
	if v.ProfileID != 2 || v.Store == nil || v.Store.Name != "Store paris" || v.Identity.Name != "Client 1" || v.Identity.LoyaltyCard != cardOf(1) {
		t.Fatalf("card header = %+v %+v %+v", v.ProfileID, v.Store, v.Identity)
	}
	if string(v.Sizes["shoe_size"]) != "37" || string(v.Traits["first_name"]) != `"Client"` {
		t.Fatalf("traits %s, sizes %s", v.Traits, v.Sizes)
	}
	email := v.Consent[slices.IndexFunc(v.Consent, func(c clienteling.ChannelConsent) bool { return c.Channel == "email" })]
	sms := v.Consent[slices.IndexFunc(v.Consent, func(c clienteling.ChannelConsent) bool { return c.Channel == "sms" })]
	if !email.Address || email.Granted == nil || !*email.Granted || !email.Marketing || !sms.Address || sms.Granted != nil || sms.Marketing {
		t.Fatalf("consent = %+v / %+v; want email granted, sms unknown", email, sms)
	}
	if v.Cart == nil || len(v.Cart.Items) != 2 || v.Cart.Customer != "user_id:u1" {
		t.Fatalf("cart = %+v", v.Cart)
	}
	if len(v.Orders) != 2 || v.Orders[0].Fulfilment != commerce.ClickCollect || v.Orders[1].Status != commerce.Delivered ||
		len(v.Orders[1].Returns) != 1 || len(v.Orders[0].Returns) != 0 {
		t.Fatalf("orders = %s", js(v.Orders))
	}
	if len(v.RecentViews) != 9 || v.RecentViews[0].SKU != skuOf(18) || v.RecentViews[8].SKU != skuOf(1) {
		t.Fatalf("recent views = %s", js(v.RecentViews))
	}
	if len(v.OpenTasks) != 1 || v.OpenTasks[0].StoreID != "paris" {
		t.Fatalf("tasks = %s", js(v.OpenTasks))
	}
	if len(v.Segments) != 1 || v.Segments[0].Segment != "shoe_lovers" {
		t.Fatalf("segments = %+v", v.Segments)
	}
	// Cart first, then the views; each SKU once, with the paris row.
	if len(v.Stock) != 11 || v.Stock[0].SKU != skuOf(2) || v.Stock[0].Why[0] != "in_cart" || v.Stock[0].OnHand == 0 || v.Stock[0].Available != v.Stock[0].OnHand {
		t.Fatalf("stock = %s", js(v.Stock))
	}
	raw := js(v)
	for _, want := range []string{`"conversations":null`, `"recommendations":null`, `"unavailable":{"conversations":"no conversation service`} {
		if !strings.Contains(raw, want) {
			t.Fatalf("view lacks %s: %s", want, raw)
		}
	}

	// A viewer of lyon only sees lyon's tasks; no store: no stock.
	v, err = s.View(ctx, found.Profile, found.By, clienteling.Viewer{Stores: []string{"lyon"}})
	must(t, err)
	if len(v.OpenTasks) != 0 || v.Stock != nil || v.Store != nil || v.Unavailable["stock"] == "" {
		t.Fatalf("lyon's view: tasks %s, stock %v, unavailable %v", js(v.OpenTasks), v.Stock, v.Unavailable)
	}
	if _, err := s.View(ctx, found.Profile, found.By, clienteling.Viewer{Store: "atlantis"}); !errors.Is(err, problem.ErrNotFound) ||
		!strings.Contains(err.Error(), "no store atlantis") {
		t.Fatalf("unknown store: %v", err)
	}

	// Wired conversations and recommendations show, and the recommended
	// product's stock.
	s.Conversations, s.Recommender = convs{}, recs{}
	v, err = s.View(ctx, found.Profile, found.By, clienteling.Viewer{Store: "paris"})
	must(t, err)
	if len(v.Conversations) != 1 || len(v.Recommendations) != 1 || v.Unavailable != nil ||
		!slices.ContainsFunc(v.Stock, func(s clienteling.Stock) bool { return s.SKU == skuOf(150) && s.Why[0] == "recommended" }) {
		t.Fatalf("wired view: %s", js(v))
	}

	// Without commerce: no cart, orders or stock, and it says so.
	s.Commerce = nil
	v, err = s.View(ctx, found.Profile, found.By, clienteling.Viewer{Store: "paris"})
	must(t, err)
	if v.Cart != nil || v.Orders != nil || v.Stock != nil || v.Unavailable["commerce"] == "" {
		t.Fatalf("without commerce: %s", js(v))
	}
}

func TestAddNote(t *testing.T) {
	f := buildFixture(t, openSQLite(t), 3, 0)
	ctx := context.Background()
	s := service(f)
	p, err := f.st.Profile(ctx, 2)
	must(t, err)
	got, err := s.AddNote(ctx, p, clienteling.NoteInput{Text: " Tried the 38, wants the blue one ", StoreID: "lyon", Author: "user:sam", Key: "k1"})
	must(t, err)
	again, err := s.AddNote(ctx, p, clienteling.NoteInput{Text: "Tried the 38, wants the blue one", StoreID: "lyon", Author: "user:sam", Key: "k1"})
	must(t, err)
	if got.MessageID != again.MessageID {
		t.Fatalf("the same key gave two message ids: %s, %s", got.MessageID, again.MessageID)
	}
	evs := s.Sink.(*sink).events
	e := evs[0]
	if e.Event != clienteling.EventStoreNoteAdded || e.Channel != "pos" || e.StoreID != "lyon" || e.UserID != userOf(1) ||
		string(e.Properties) != `{"text":"Tried the 38, wants the blue one","store_id":"lyon","author":"user:sam"}` {
		t.Fatalf("note event = %s", js(e))
	}
	// An agent's note (no store) is Parcours' own event naming the profile.
	_, err = s.AddNote(ctx, p, clienteling.NoteInput{Text: "Called about the delivery", Author: "user:agent"})
	must(t, err)
	if e := evs2(s)[2]; e.Channel != profile.InternalChannel || e.StoreID != "" || e.UserID != "" ||
		!strings.Contains(string(e.Properties), `"profileId":2`) || e.MessageID == got.MessageID {
		t.Fatalf("agent's note = %s", js(e))
	}
	for _, c := range []struct{ text, says string }{
		{"  ", "text: is required"},
		{strings.Repeat("é", clienteling.MaxNoteLength+1), "at most 2000"},
	} {
		if _, err := s.AddNote(ctx, p, clienteling.NoteInput{Text: c.text, StoreID: "lyon"}); problem.Describe(err).Kind != problem.KindInvalid ||
			!strings.Contains(err.Error(), c.says) {
			t.Fatalf("note %.10q: %v; want %q", c.text, err, c.says)
		}
	}
}

func evs2(s *clienteling.Service) []*event.Event { return s.Sink.(*sink).events }

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
