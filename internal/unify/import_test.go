package unify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/unify"
)

// TestImportsResolveLikeLiveEvents imports a CRM customers file and a POS
// transactions file that know customers by different identifiers, next to a
// live web identify: one profile per customer comes out.
func TestImportsResolveLikeLiveEvents(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	crm, _ := source.New("CRM", "crm", "", t0)
	pos, _ := source.New("Lyon tills", "pos", "lyon-01", t0)
	for _, src := range []*source.Source{crm, pos} {
		if err := s.CreateSource(ctx, src); err != nil {
			t.Fatal(err)
		}
	}
	in := collect.NewIngester(collect.Direct{Appender: s}, nil, nil)
	customers := "customer_id,email,phone,loyalty,first_name,updated\n" +
		"C-1,Sophie@Example.fr,06 12 34 56 78,L-77,Sophie,2026-10-01T00:00:00Z\n" +
		"C-2,marc@example.fr,,L-88,Marc,2026-10-01T00:00:00Z\n"
	if _, err := collect.Import(ctx, strings.NewReader(customers), in, collect.ImportOptions{Source: crm, Format: "csv", Clock: clock.NewFake(t0),
		Mapping: &collect.Mapping{Set: map[string]string{"type": "identify"}, Columns: map[string]string{
			"customer_id": "userId", "email": "traits.email", "phone": "traits.phone", "loyalty": "traits.loyaltyId",
			"first_name": "traits.firstName", "updated": "timestamp"}}}); err != nil {
		t.Fatal(err)
	}
	sales := "ticket,card,amount,at\nT-1,L-77,89.90,2026-10-05T15:00:00Z\nT-2,L-88,20,2026-10-06T10:00:00Z\nT-3,L-77,10.10,2026-10-07T10:00:00Z\n"
	if _, err := collect.Import(ctx, strings.NewReader(sales), in, collect.ImportOptions{Source: pos, Format: "csv", Clock: clock.NewFake(t0),
		Mapping: &collect.Mapping{Set: map[string]string{"type": "track", "event": "Order Completed"}, Columns: map[string]string{
			"ticket": "anonymousId", "card": "context.traits.loyaltyId", "amount": "properties.total:number", "at": "timestamp"}}}); err != nil {
		t.Fatal(err)
	}
	// Tills know the card and the receipt (as anonymousId); the web shop
	// logs customers in with their CRM id.
	feed(t, s, ev(`identify user=C-1 anon=web-1 at=0`))
	run(t, s, unify.NewProcessor(s, unify.Options{}), 100)

	sophie := find(t, s, identity.Identifier{Kind: identity.AnonymousID, Value: "web-1"})
	for _, id := range []identity.Identifier{{Kind: identity.UserID, Value: "C-1"}, {Kind: identity.Email, Value: "sophie@example.fr"}, {Kind: identity.AnonymousID, Value: "T-3"},
		{Kind: identity.Phone, Value: "+33612345678"}, {Kind: identity.LoyaltyID, Value: "L-77"}} {
		if got := find(t, s, id); got.ID != sophie.ID {
			t.Fatalf("%s on profile %d, want %d", id, got.ID, sophie.ID)
		}
	}
	if sophie.Agg.Orders != 2 || sophie.Agg.Revenue != 10000 || string(sophie.Traits["firstName"].Value) != `"Sophie"` ||
		sophie.Agg.Channels["pos"] != 2 || sophie.Agg.Channels["crm"] != 1 {
		t.Fatalf("sophie: %d orders, %d cents, traits %v, channels %v", sophie.Agg.Orders, sophie.Agg.Revenue, sophie.Traits, sophie.Agg.Channels)
	}
	marc := find(t, s, identity.Identifier{Kind: identity.LoyaltyID, Value: "L-88"})
	if marc.ID == sophie.ID || marc.Agg.Orders != 1 || !marc.Agg.LastOrderAt.Equal(time.Date(2026, 10, 6, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("marc: %+v", marc.Agg)
	}
}
