package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/loyalty"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// runLoyalty runs the tests of store.Loyalty: the ledger's rules
// (loyalty.Service) over the engine's rows, as serve writes through them.
func runLoyalty(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"ProgrammeVersions", testLoyaltyProgrammeVersions},
		{"ConcurrentRedemptionsNeverOverspend", testLoyaltyConcurrentRedemptions},
		{"CausesEarnAndSpendOnce", testLoyaltyIdempotency},
		{"ReturnsReverseReturnedLines", testLoyaltyReversals},
		{"ExpiryOldestFirstAndNoticedOnce", testLoyaltyExpiry},
		{"TiersAndMerge", testLoyaltyTiersAndMerge},
		{"TiersFallWhenPointsLeaveTheWindow", testLoyaltyTierReview},
		{"ExportedAndErasedWithThePerson", testLoyaltyPrivacy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// LoyaltyProgramme is the programme the conformance tests run: 1 point per
// euro, 2 in stores, 3 on shoes; silver from 0, gold from 500 (x2);
// points expire after a year, announced 30 days before.
func LoyaltyProgramme() *loyalty.Programme {
	return &loyalty.Programme{ID: "club", PointValue: 0.01,
		Earn:    []loyalty.EarnRule{{Category: "shoes", PointsPerEuro: 3}, {Channel: "store", PointsPerEuro: 2}, {PointsPerEuro: 1}},
		Bonuses: []loyalty.BonusRule{{ID: "review", On: "review", Points: 20, Once: "month"}},
		Tiers: loyalty.Tiers{PeriodDays: 365, Levels: []loyalty.Tier{{ID: "silver", Threshold: 0},
			{ID: "gold", Threshold: 500, Benefits: loyalty.Benefits{Multiplier: 2, FreeClickCollect: true}}}},
		Expiry:  loyalty.Expiry{AfterDays: 365, WarnDays: 30},
		Rewards: []loyalty.Reward{{ID: "voucher-5", Kind: loyalty.RewardVoucher, Cost: 500, Value: 5}},
	}
}

func loyaltyService(t *testing.T, s store.Store, clk clock.Clock) *loyalty.Service {
	t.Helper()
	svc := loyalty.New(s, loyalty.Options{Clock: clk})
	if _, _, err := svc.SaveProgramme(context.Background(), LoyaltyProgramme()); err != nil {
		t.Fatal(err)
	}
	return svc
}

func credit(t *testing.T, svc *loyalty.Service, m loyalty.Member, points int64, key string) {
	t.Helper()
	if _, err := svc.Earn(context.Background(), m, loyalty.EarnRequest{Points: points, Key: key}); err != nil {
		t.Fatalf("credit %d: %v", points, err)
	}
}

// checkLedger checks the account's invariants against the rows: the
// balance is the sum of the entries and of the lots' remaining points,
// and never negative.
func checkLedger(t *testing.T, s store.Store, profile, want int64) {
	t.Helper()
	ctx := context.Background()
	a, err := s.LoyaltyAccount(ctx, profile)
	if err != nil {
		t.Fatal(err)
	}
	es, err := s.LoyaltyEntries(ctx, loyalty.EntryQuery{Profile: profile, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	var sum, remaining int64
	for _, e := range es {
		sum += e.Points
		remaining += e.Remaining
	}
	if a.Balance != want || sum != want || remaining != want {
		t.Fatalf("member %d: balance %d, entries sum to %d, lots hold %d; want %d each", profile, a.Balance, sum, remaining, want)
	}
}

func testLoyaltyProgrammeVersions(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.LoyaltyProgramme(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no programme: %v, want ErrNotFound", err)
	}
	svc := loyalty.New(s, loyalty.Options{Clock: clock.NewFake(t0)})
	if _, err := svc.Redeem(ctx, loyalty.Member{ProfileID: 1}, loyalty.RedeemRequest{Points: 1, Key: "k"}); !errors.Is(err, loyalty.ErrNoProgramme) {
		t.Fatalf("redeem without a programme: %v", err)
	}
	p := LoyaltyProgramme()
	r, changed, err := svc.SaveProgramme(ctx, p)
	if err != nil || !changed || r.Version != 1 {
		t.Fatalf("first save = %+v, %v, %v", r, changed, err)
	}
	if r, changed, err = svc.SaveProgramme(ctx, LoyaltyProgramme()); err != nil || changed || r.Version != 1 {
		t.Fatalf("same again = %+v, %v, %v; want version 1 unchanged", r, changed, err)
	}
	p2 := LoyaltyProgramme()
	p2.PointValue = 0.02
	if r, changed, err = svc.SaveProgramme(ctx, p2); err != nil || !changed || r.Version != 2 {
		t.Fatalf("changed = %+v, %v, %v; want version 2", r, changed, err)
	}
}

// testLoyaltyConcurrentRedemptions fires 200 concurrent redemptions of
// one point, each with its own key, at a balance of 50: exactly 50 must
// succeed, the others be refused for want of points, and the balance end
// at 0 (the stock test's twin).
func testLoyaltyConcurrentRedemptions(t *testing.T, s store.Store) {
	ctx := context.Background()
	svc := loyaltyService(t, s, clock.NewFake(t0))
	m := loyalty.Member{ProfileID: 7, UserID: "u7"}
	credit(t, svc, m, 50, "seed")
	var ok, short atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	start := make(chan struct{})
	for i := range 200 {
		wg.Go(func() {
			<-start
			_, err := svc.Redeem(ctx, m, loyalty.RedeemRequest{Points: 1, Key: fmt.Sprintf("till-%03d", i), StoreID: "lyon"})
			var ie *loyalty.InsufficientPointsError
			switch {
			case err == nil:
				ok.Add(1)
			case errors.As(err, &ie):
				short.Add(1)
			default:
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if ok.Load() != 50 || short.Load() != 150 {
		t.Fatalf("%d redemptions succeeded and %d were refused; want exactly 50 and 150", ok.Load(), short.Load())
	}
	checkLedger(t, s, 7, 0)
	if a, _ := s.LoyaltyAccount(ctx, 7); a.Spent != 50 {
		t.Fatalf("spent %d, want 50", a.Spent)
	}
}

func testLoyaltyIdempotency(t *testing.T, s store.Store) {
	ctx := context.Background()
	svc := loyaltyService(t, s, clock.NewFake(t0))
	m := loyalty.Member{ProfileID: 3, UserID: "u3"}
	// The same order from the till and from the log earns once.
	order := loyalty.EarnRequest{OrderID: "o1", Channel: "web", Lines: []loyalty.Line{{SKU: "TEE", Price: 25, Quantity: 2}}}
	for range 3 {
		if _, err := svc.Earn(ctx, m, order); err != nil {
			t.Fatal(err)
		}
	}
	checkLedger(t, s, 3, 50)
	// A retried redemption spends once and gets the first answer.
	first, err := svc.Redeem(ctx, m, loyalty.RedeemRequest{Points: 20, Key: "pos-1"})
	if err != nil || first.Replayed || first.Balance != 30 {
		t.Fatalf("redeem = %+v, %v", first, err)
	}
	again, err := svc.Redeem(ctx, m, loyalty.RedeemRequest{Points: 20, Key: "pos-1"})
	if err != nil || !again.Replayed || again.Entry.ID != first.Entry.ID || again.Balance != 30 {
		t.Fatalf("retry = %+v, %v; want the first entry replayed", again, err)
	}
	var kr *loyalty.KeyReuseError
	if _, err := svc.Redeem(ctx, m, loyalty.RedeemRequest{Points: 5, Key: "pos-1"}); !errors.As(err, &kr) {
		t.Fatalf("same key, other request: %v, want KeyReuseError", err)
	}
	// Twenty tills retrying one key at once: one entry.
	var wg sync.WaitGroup
	ids := make([]int64, 20)
	for i := range ids {
		wg.Go(func() {
			r, err := svc.Redeem(ctx, m, loyalty.RedeemRequest{Points: 10, Key: "pos-2"})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = r.Entry.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent retries made entries %v", ids)
		}
	}
	checkLedger(t, s, 3, 20)
}

func testLoyaltyReversals(t *testing.T, s store.Store) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	svc := loyaltyService(t, s, clk)
	m := loyalty.Member{ProfileID: 4, UserID: "u4"}
	// 2 boots at 50 (shoes: 3/€ → 300) and a tee at 20 (1/€ → 20).
	order := loyalty.EarnRequest{OrderID: "o9", Channel: "web", Lines: []loyalty.Line{
		{SKU: "BOOT", Category: "shoes", Price: 50, Quantity: 2}, {SKU: "TEE", Price: 20, Quantity: 1}}}
	if r, err := svc.Earn(ctx, m, order); err != nil || r.Balance != 320 {
		t.Fatalf("earn = %+v, %v; want 320", r, err)
	}
	handle := func(events ...string) {
		t.Helper()
		batch := loyaltyEvents(t, events...)
		if err := svc.Handle(ctx, batch, fixedProfiles{m}); err != nil {
			t.Fatal(err)
		}
	}
	// One boot back: its 150 points, once however often it is replayed.
	ret := `{"order_id":"o9","return_id":"r1","products":[{"sku":"BOOT","quantity":1}]}`
	handle("Order Returned|"+ret, "Order Returned|"+ret)
	checkLedger(t, s, 4, 170)
	// Spend most of the rest, then cancel: what is left is taken back,
	// the balance stops at 0, never below.
	if _, err := svc.Redeem(ctx, m, loyalty.RedeemRequest{Points: 160, Key: "k"}); err != nil {
		t.Fatal(err)
	}
	handle(`Order Cancelled|{"order_id":"o9"}`)
	checkLedger(t, s, 4, 0)
	e, err := s.LoyaltyEntryByCause(ctx, loyalty.CancelCause("o9"))
	if err != nil || e.Points != -10 || e.Note == "" {
		t.Fatalf("cancel entry = %+v, %v; want -10 with a note on the 160 already spent", e, err)
	}
	// An order whose points expired takes nothing back when it is
	// returned: the member's later points stay.
	late := loyalty.Member{ProfileID: 40, UserID: "late"}
	if _, err := svc.Earn(ctx, late, loyalty.EarnRequest{OrderID: "old", Channel: "web", Total: 100}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(300 * 24 * time.Hour)
	credit(t, svc, late, 50, "later")
	clk.Advance(66 * 24 * time.Hour)
	if _, _, err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	late2 := fixedProfiles{late}
	if err := svc.Handle(ctx, loyaltyEvents(t, `Order Cancelled|{"order_id":"old"}`), late2); err != nil {
		t.Fatal(err)
	}
	checkLedger(t, s, 40, 50)
}

func testLoyaltyExpiry(t *testing.T, s store.Store) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	svc := loyaltyService(t, s, clk)
	m := loyalty.Member{ProfileID: 5, UserID: "u5"}
	credit(t, svc, m, 100, "a")
	clk.Advance(200 * 24 * time.Hour)
	credit(t, svc, m, 50, "b")
	clk.Advance(10 * 24 * time.Hour)
	// The oldest points go first: 30 of the first lot.
	if _, err := svc.Redeem(ctx, m, loyalty.RedeemRequest{Points: 30, Key: "r"}); err != nil {
		t.Fatal(err)
	}
	// 340 days in: the first lot's 70 points expire within 30 days,
	// announced once however often the sweep runs.
	clk.Set(t0.Add(340 * 24 * time.Hour))
	for range 2 {
		if _, _, err := svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	fresh := loyalty.New(s, loyalty.Options{Clock: clk}) // a restarted process
	if _, _, err := fresh.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	es, _ := s.LoyaltyEntries(ctx, loyalty.EntryQuery{Profile: 5})
	notices := 0
	for _, e := range es {
		if e.Kind == loyalty.KindNotice {
			notices++
		}
	}
	if notices != 1 {
		t.Fatalf("%d notices, want 1: %+v", notices, es)
	}
	clk.Set(t0.Add(366 * 24 * time.Hour))
	if x, _, err := svc.Sweep(ctx); err != nil || x != 1 {
		t.Fatalf("sweep = %d, %v; want one account expired", x, err)
	}
	checkLedger(t, s, 5, 50)
	// A redemption over what is left after expiry is refused.
	var ie *loyalty.InsufficientPointsError
	if _, err := svc.Redeem(ctx, m, loyalty.RedeemRequest{Points: 51, Key: "late"}); !errors.As(err, &ie) || ie.Balance != 50 {
		t.Fatalf("redeem 51 of 50: %v", err)
	}
}

func testLoyaltyTiersAndMerge(t *testing.T, s store.Store) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	svc := loyaltyService(t, s, clk)
	a, b := loyalty.Member{ProfileID: 10, UserID: "a"}, loyalty.Member{ProfileID: 11, UserID: "b"}
	credit(t, svc, a, 10, "x") // an adjustment does not qualify for tiers
	if _, err := svc.Earn(ctx, a, loyalty.EarnRequest{OrderID: "big", Channel: "web", Total: 450}); err != nil {
		t.Fatal(err)
	}
	if acct, _ := s.LoyaltyAccount(ctx, 10); acct.Tier != "silver" {
		t.Fatalf("tier %q at 450 qualifying points, want silver", acct.Tier)
	}
	if _, err := svc.Earn(ctx, b, loyalty.EarnRequest{OrderID: "small", Channel: "web", Total: 60}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := svc.Merge(ctx, 11, 10); err != nil {
			t.Fatal(err)
		}
	}
	checkLedger(t, s, 10, 520)
	if _, err := s.LoyaltyAccount(ctx, 11); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("merged account still there: %v", err)
	}
	if acct, _ := s.LoyaltyAccount(ctx, 10); acct.Tier != "gold" {
		t.Fatalf("tier %q at 510 qualifying points after the merge, want gold", acct.Tier)
	}
	// Gold doubles what orders earn.
	if r, err := svc.Earn(ctx, a, loyalty.EarnRequest{OrderID: "next", Channel: "web", Total: 10}); err != nil || r.Balance != 540 {
		t.Fatalf("gold earn = %+v, %v; want 20 more", r, err)
	}
	rep, err := svc.Liability(ctx, 30)
	if err != nil || rep.Members != 1 || rep.Outstanding != 540 || math.Abs(rep.Value-5.4) > 1e-9 {
		t.Fatalf("liability = %+v, %v", rep, err)
	}
	// The outbox holds the tier change, for the timeline and journeys.
	entries, err := s.Outbox(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		found = found || e.Event.Event == loyalty.EventTierChanged
	}
	if !found {
		t.Fatal("no Loyalty Tier Changed in the outbox")
	}
}

// testLoyaltyTierReview: a member's qualifying points leave the rolling
// window with no other activity; the sweep lowers the tier, once, with
// a tier entry and Loyalty Tier Changed (down), and a restarted sweep
// does not do it again.
func testLoyaltyTierReview(t *testing.T, s store.Store) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	prog := LoyaltyProgramme()
	prog.Tiers.PeriodDays = 90 // points last a year, tiers count 90 days
	svc := loyalty.New(s, loyalty.Options{Clock: clk})
	if _, _, err := svc.SaveProgramme(ctx, prog); err != nil {
		t.Fatal(err)
	}
	m := loyalty.Member{ProfileID: 20, UserID: "t"}
	if _, err := svc.Earn(ctx, m, loyalty.EarnRequest{OrderID: "o1", Channel: "web", Total: 600}); err != nil {
		t.Fatal(err)
	}
	if acct, _ := s.LoyaltyAccount(ctx, 20); acct.Tier != "gold" {
		t.Fatalf("tier %q at 600 qualifying points, want gold", acct.Tier)
	}
	// Within the window the sweep changes nothing.
	clk.Set(t0.Add(89 * 24 * time.Hour))
	if _, _, err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if acct, _ := s.LoyaltyAccount(ctx, 20); acct.Tier != "gold" {
		t.Fatalf("tier %q on day 89, want gold still", acct.Tier)
	}
	clk.Set(t0.Add(91 * 24 * time.Hour))
	for range 2 {
		if _, _, err := svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Hour)
	if _, _, err := loyalty.New(s, loyalty.Options{Clock: clk}).Sweep(ctx); err != nil { // a restarted process
		t.Fatal(err)
	}
	acct, err := s.LoyaltyAccount(ctx, 20)
	if err != nil || acct.Tier != "silver" || acct.Balance != 600 {
		t.Fatalf("account on day 91 = %+v, %v; want silver with its 600 points", acct, err)
	}
	es, _ := s.LoyaltyEntries(ctx, loyalty.EntryQuery{Profile: 20, Limit: 100})
	reviews := 0
	for _, e := range es {
		if e.Kind == loyalty.KindTier {
			reviews++
			if e.Points != 0 || !strings.Contains(e.Note, "gold → silver") {
				t.Errorf("tier entry %+v", e)
			}
		}
	}
	if reviews != 1 {
		t.Fatalf("%d tier entries, want 1: %+v", reviews, es)
	}
	checkLedger(t, s, 20, 600)
	entries, err := s.Outbox(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	downs := 0
	for _, e := range entries {
		if e.Event.Event == loyalty.EventTierChanged && strings.Contains(string(e.Event.Properties), `"direction":"down"`) {
			downs++
		}
	}
	if downs != 1 {
		t.Fatalf("%d Loyalty Tier Changed (down) in the outbox, want 1", downs)
	}
}

// loyaltyEvents builds track events from "Name|properties".
func loyaltyEvents(t *testing.T, specs ...string) []*event.Event {
	t.Helper()
	var out []*event.Event
	for i, s := range specs {
		name, props, _ := strings.Cut(s, "|")
		out = append(out, &event.Event{Seq: int64(i + 1), MessageID: fmt.Sprintf("m%d", i), Type: event.Track, Event: name,
			Properties: []byte(props), Timestamp: t0, ReceivedAt: t0, SourceID: "src", Channel: "web"})
	}
	return out
}

// fixedProfiles puts every event on one member's profile.
type fixedProfiles struct{ m loyalty.Member }

func (f fixedProfiles) EventProfiles(_ context.Context, batch []*event.Event) ([]*profile.Profile, error) {
	out := make([]*profile.Profile, len(batch))
	for i := range batch {
		p := profile.New(f.m.ProfileID)
		p.Identifiers = []identity.Identifier{{Kind: identity.UserID, Value: f.m.UserID}}
		out[i] = p
	}
	return out, nil
}

// testLoyaltyPrivacy: a member's account and entries are in their access
// request's archive, and erasure deletes them; another member's stay.
func testLoyaltyPrivacy(t *testing.T, s store.Store) {
	ctx := context.Background()
	svc := loyaltyService(t, s, clock.NewFake(t0))
	erin, other := loyalty.Member{ProfileID: 21, UserID: "erin"}, loyalty.Member{ProfileID: 22, UserID: "other"}
	credit(t, svc, erin, 40, "e")
	credit(t, svc, other, 60, "o")
	if _, err := svc.Redeem(ctx, erin, loyalty.RedeemRequest{Points: 15, Key: "r"}); err != nil {
		t.Fatal(err)
	}
	p := &store.Person{Profiles: []int64{21}, Identifiers: []identity.Identifier{{Kind: identity.UserID, Value: "erin"}}}
	rows, err := s.PersonRows(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows["loyalty_accounts"]) != 1 || len(rows["loyalty_entries"]) != 2 {
		t.Fatalf("archive: %d accounts, %d entries; want 1 and 2", len(rows["loyalty_accounts"]), len(rows["loyalty_entries"]))
	}
	er, err := s.ErasePerson(ctx, p, t0, "request")
	if err != nil {
		t.Fatal(err)
	}
	if er.Counts["loyalty_entries"] != 2 || er.Counts["loyalty_accounts"] != 1 {
		t.Fatalf("erasure counts %v", er.Counts)
	}
	if _, err := s.LoyaltyAccount(ctx, 21); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("erased account: %v", err)
	}
	checkLedger(t, s, 22, 60)
	if l, err := s.LoyaltyLiability(ctx, t0.Add(-time.Hour)); err != nil || l.Outstanding != 60 || l.Members != 1 {
		t.Fatalf("liability after erasure = %+v, %v", l, err)
	}
}
