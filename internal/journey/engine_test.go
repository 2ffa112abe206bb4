package journey_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/store"
)

const cart = `
kind: journey
id: cart
name: Cart
triggers: [{event: Product Added}]
exit_on: [{event: Order Completed}]
steps:
  - wait: {for: 1h}
  - send: {channel: email, template: offer}
  - wait: {for: 1h}
  - send: {channel: sms, template: nudge}
`

// failingStore makes the engine's next write of due enrolments fail: the
// process dies between handing a message over and recording it.
type failingStore struct {
	journey.Store
	fail bool
}

func (f *failingStore) ApplyJourneys(ctx context.Context, b *store.JourneyBatch) error {
	if f.fail && b.Owner != "" {
		f.fail = false
		return errors.New("crash")
	}
	return f.Store.ApplyJourneys(ctx, b)
}

func TestCrashAfterSendRepeatsNoSendAndLosesNoStep(t *testing.T) {
	w := newWorld(t)
	w.apply(cart)
	w.track("ana", "Product Added", nil)
	fs := &failingStore{Store: w.st}
	crashing := journey.New(fs, journey.Options{Clock: w.clk, Sender: w.rec, Owner: "before-crash", Lease: time.Minute})
	if err := crashing.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.clk.Set(t0.Add(time.Hour))
	if _, err := crashing.Tick(context.Background()); err != nil { // starts the wait
		t.Fatal(err)
	}
	w.clk.Set(t0.Add(2 * time.Hour))
	fs.fail = true
	if _, err := crashing.Tick(context.Background()); err == nil {
		t.Fatal("the write should have failed")
	}
	if w.rec.Calls == 0 {
		t.Fatal("the crashed worker never sent")
	}
	// Restart: another engine sees nothing due until the dead worker's
	// lease expires, then redoes the step with the same key.
	w.eng = w.engine(journey.Options{Sender: w.rec, Owner: "after-restart", Lease: time.Minute})
	w.tick()
	if got := w.templates("ana"); !slices.Equal(got, []string{"offer"}) {
		t.Fatalf("before the lease expired: %v", got)
	}
	w.at(4 * time.Hour)
	if got := w.templates("ana"); !slices.Equal(got, []string{"offer", "nudge"}) {
		t.Fatalf("after restart: sent %v, want the offer once and the nudge", got)
	}
	if w.rec.Calls != 3 {
		t.Fatalf("%d calls: the repeated offer should reach the sender once more, with its key", w.rec.Calls)
	}
	if en := w.enrolments("ana"); len(en) != 1 || en[0].Status != journey.EnrolCompleted {
		t.Fatalf("enrolment: %+v", en[0])
	}
}

// TestRestartedNodeTakesBackItsLeases: a node killed while it held due
// enrolments goes on with them at once when it restarts under the same
// owner (its node id), without waiting for its lease; another node's
// leases are left alone.
func TestRestartedNodeTakesBackItsLeases(t *testing.T) {
	w := newWorld(t)
	w.apply(cart)
	w.track("ana", "Product Added", nil)
	fs := &failingStore{Store: w.st}
	crashing := journey.New(fs, journey.Options{Clock: w.clk, Sender: w.rec, Owner: "node-1", Lease: time.Hour})
	if err := crashing.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.clk.Set(t0.Add(time.Hour))
	if _, err := crashing.Tick(context.Background()); err != nil { // starts the wait
		t.Fatal(err)
	}
	w.clk.Set(t0.Add(2 * time.Hour))
	fs.fail = true
	if _, err := crashing.Tick(context.Background()); err == nil {
		t.Fatal("the write should have failed")
	}
	other := w.engine(journey.Options{Sender: w.rec, Owner: "node-2", Lease: time.Hour})
	if n, err := other.TakeBackLeases(context.Background()); err != nil || n != 0 {
		t.Fatalf("node-2 took back %d leases, %v", n, err)
	}
	w.eng = w.engine(journey.Options{Sender: w.rec, Owner: "node-1", Lease: time.Hour})
	if n, err := w.eng.TakeBackLeases(context.Background()); err != nil || n != 1 {
		t.Fatalf("node-1 took back %d leases, %v; want ana's", n, err)
	}
	calls := w.rec.Calls
	w.tick() // the same instant: no lease to wait out
	if w.rec.Calls != calls+1 {
		t.Fatalf("the restarted node redid nothing at once (%d calls, then %d): it waited for its own lease", calls, w.rec.Calls)
	}
	w.at(3 * time.Hour)
	if got := w.templates("ana"); !slices.Equal(got, []string{"offer", "nudge"}) {
		t.Fatalf("after restart: sent %v, want the offer once and the nudge", got)
	}
}

func TestExitOnPurchaseAndWaitForBranches(t *testing.T) {
	w := newWorld(t)
	w.apply(strings.Replace(cart, "  - wait: {for: 1h}\n  - send: {channel: sms", `  - wait_for:
      event: Page Viewed
      where: {page: checkout}
      timeout: 1h
      on_event: [{send: {channel: email, template: checkout-help}}]
      on_timeout: [{exit: {reason: gone}}]
  - send: {channel: sms`, 1))
	w.track("ana", "Product Added", nil)
	w.track("bob", "Product Added", nil)
	w.track("cyd", "Product Added", nil)
	w.at(90 * time.Minute)
	w.track("ana", "Page Viewed", map[string]any{"page": "home"}) // filtered out
	w.track("bob", "Page Viewed", map[string]any{"page": "checkout"})
	w.track("cyd", "Order Completed", nil)
	w.at(5 * time.Hour)
	if got := w.templates("ana"); !slices.Equal(got, []string{"offer"}) {
		t.Fatalf("ana: %v", got)
	}
	if got := w.templates("bob"); !slices.Equal(got, []string{"offer", "checkout-help", "nudge"}) {
		t.Fatalf("bob: %v", got)
	}
	if got := w.templates("cyd"); !slices.Equal(got, []string{"offer"}) {
		t.Fatalf("cyd: %v", got)
	}
	for user, want := range map[string]string{"ana": "exited", "bob": "completed", "cyd": "exited"} {
		if en := w.enrolments(user); en[0].Status != want {
			t.Fatalf("%s: %s (%s), want %s", user, en[0].Status, en[0].Reason, want)
		}
	}
	if r := w.enrolments("cyd")[0].Reason; !strings.Contains(r, "exit_on[0]: Order Completed") {
		t.Fatalf("cyd's exit reason: %q", r)
	}
	st, err := w.st.JourneyStats(context.Background(), "cart")
	if err != nil {
		t.Fatal(err)
	}
	if st.Entered != 3 || st.Handed["email"] != 4 || st.Handed["sms"] != 1 || st.Enrolments["exited"] != 2 ||
		st.Exits["exit_on[0]: Order Completed"] != 1 || st.Exits["steps[2].wait_for.on_timeout[0]: gone"] != 1 {
		t.Fatalf("stats: %+v", st)
	}
	outcomes := map[string]int64{}
	for _, c := range st.Steps {
		if c.Kind == "wait_for" {
			outcomes[c.Outcome] += c.Count
		}
	}
	if outcomes["event"] != 1 || outcomes["timeout"] != 1 {
		t.Fatalf("wait_for outcomes: %v", outcomes)
	}
}

func TestCustomersFinishOnTheirVersion(t *testing.T) {
	w := newWorld(t)
	w.apply(cart)
	w.track("ana", "Product Added", nil)
	w.at(30 * time.Minute)
	recs := w.apply(strings.ReplaceAll(cart, "template: offer", "template: offer-v2"))
	if recs[0].Version != 2 {
		t.Fatalf("version %d", recs[0].Version)
	}
	w.track("bob", "Product Added", nil)
	w.at(3 * time.Hour)
	if got := w.templates("ana"); !slices.Equal(got, []string{"offer", "nudge"}) {
		t.Fatalf("ana entered v1: %v", got)
	}
	if got := w.templates("bob"); !slices.Equal(got, []string{"offer-v2", "nudge"}) {
		t.Fatalf("bob entered v2: %v", got)
	}
	if again := w.apply(strings.ReplaceAll(cart, "template: offer", "template: offer-v2")); again[0].Version != 2 {
		t.Fatalf("an unchanged definition made version %d", again[0].Version)
	}
}

func TestReEntryPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy string
		want   int
	}{{"{policy: once}", 1}, {"{policy: always}", 3}, {"{policy: cooldown, cooldown: 1d}", 2}} {
		t.Run(tc.policy, func(t *testing.T) {
			w := newWorld(t)
			w.apply(strings.Replace(cart, "exit_on:", "re_entry: "+tc.policy+"\nexit_on:", 1))
			for _, at := range []time.Duration{0, time.Hour, 5 * time.Hour, 6 * time.Hour, 26 * time.Hour} {
				w.at(at)
				w.track("ana", "Product Added", nil) // at 1h: still inside
			}
			if n := len(w.enrolments("ana")); n != tc.want {
				t.Fatalf("%d enrolments, want %d", n, tc.want)
			}
		})
	}
}

func TestControlGroupGetsNothing(t *testing.T) {
	w := newWorld(t)
	w.apply(strings.Replace(cart, "exit_on:", "control_group: 30\nexit_on:", 1))
	control := 0
	for i := range 60 {
		w.track(fmt.Sprintf("u%d", i), "Product Added", nil)
	}
	w.at(3 * time.Hour)
	for i := range 60 {
		u := fmt.Sprintf("u%d", i)
		en := w.enrolments(u)[0]
		if en.Status == journey.EnrolControl {
			control++
			if got := w.templates(u); len(got) != 0 {
				t.Fatalf("%s is in the control group and got %v", u, got)
			}
		} else if got := w.templates(u); len(got) != 2 {
			t.Fatalf("%s: %v", u, got)
		}
	}
	if control < 8 || control > 30 {
		t.Fatalf("%d of 60 in a 30%% control group", control)
	}
}

func TestNoSenderConfiguredMovesOn(t *testing.T) {
	w := newWorld(t)
	var trace []journey.TraceEntry
	w.eng = w.engine(journey.Options{Trace: func(e journey.TraceEntry) { trace = append(trace, e) }})
	w.apply(cart)
	w.track("ana", "Product Added", nil)
	w.at(3 * time.Hour)
	if en := w.enrolments("ana"); en[0].Status != journey.EnrolCompleted {
		t.Fatalf("%+v", en[0])
	}
	if !slices.ContainsFunc(trace, func(e journey.TraceEntry) bool { return strings.Contains(e.Why, "no sender configured") }) {
		t.Fatal("the trace does not say that nothing was sent")
	}
}

func TestEnrolThroughTheAPI(t *testing.T) {
	w := newWorld(t)
	w.identify("ana", map[string]any{"email": "ana@example.fr"})
	w.apply(cart)
	ctx := context.Background()
	var refused *journey.RefusedError
	if _, err := w.eng.Enrol(ctx, "cart", w.profile("ana")); !errors.As(err, &refused) || !strings.Contains(refused.Reason, "api trigger") {
		t.Fatalf("want a refusal for the missing api trigger, got %v", err)
	}
	w.apply(strings.Replace(cart, "triggers: [{event: Product Added}]", "triggers: [{api: true}]", 1))
	en, err := w.eng.Enrol(ctx, "cart", w.profile("ana"))
	if err != nil || en.ID == 0 {
		t.Fatalf("enrol: %+v, %v", en, err)
	}
	if _, err := w.eng.Enrol(ctx, "cart", w.profile("ana")); !errors.As(err, &refused) || !strings.Contains(refused.Reason, "already in") {
		t.Fatalf("second enrol: %v", err)
	}
	if _, err := w.eng.Enrol(ctx, "cart", 999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown profile: %v", err)
	}
	w.at(3 * time.Hour)
	if got := w.templates("ana"); len(got) != 2 {
		t.Fatalf("sent %v", got)
	}
}

func TestPausedTimersWaitAndArchiveEnds(t *testing.T) {
	w := newWorld(t)
	w.apply(cart)
	ctx := context.Background()
	w.track("ana", "Product Added", nil)
	if err := w.eng.SetStatus(ctx, "cart", journey.StatusPaused); err != nil {
		t.Fatal(err)
	}
	w.track("bob", "Product Added", nil) // paused: does not enter
	w.at(3 * time.Hour)
	if got := w.rec.Sent(); len(got) != 0 {
		t.Fatalf("a paused journey sent %v", got)
	}
	if err := w.eng.SetStatus(ctx, "cart", journey.StatusLive); err != nil {
		t.Fatal(err)
	}
	w.tick()
	// The first wait started late (at the resume, past MaxLateness):
	// it counts from then.
	w.at(4*time.Hour - time.Minute)
	if got := w.templates("ana"); len(got) != 0 {
		t.Fatalf("before the hour after resume: %v", got)
	}
	w.at(4 * time.Hour)
	if got := w.templates("ana"); !slices.Equal(got, []string{"offer"}) {
		t.Fatalf("after resume: %v", got)
	}
	if err := w.eng.SetStatus(ctx, "cart", journey.StatusArchived); err != nil {
		t.Fatal(err)
	}
	if en := w.enrolments("ana")[0]; en.Status != journey.EnrolExited || en.Reason != "journey archived" {
		t.Fatalf("after archive: %+v", en)
	}
}

func TestEntryConditions(t *testing.T) {
	w := newWorld(t)
	w.apply(strings.Replace(cart, "exit_on:", "entry_when: {trait: country, equals: FR}\nexit_on:", 1))
	w.identify("ana", map[string]any{"country": "FR"})
	w.identify("bob", map[string]any{"country": "DE"})
	w.track("ana", "Product Added", nil)
	w.track("bob", "Product Added", nil)
	if n := len(w.enrolments("ana")); n != 1 {
		t.Fatalf("ana: %d enrolments", n)
	}
	if n := len(w.enrolments("bob")); n != 0 {
		t.Fatalf("bob entered although entry_when does not hold for him")
	}
}

func TestMergedProfilesGoOnInOneEnrolment(t *testing.T) {
	w := newWorld(t)
	w.apply(cart)
	// The same person, anonymous on the phone and signed in on the laptop,
	// enters twice; then signs in on the phone: the profiles merge.
	w.log(&event.Event{Type: event.Track, Event: "Product Added", AnonymousID: "phone-1"})
	w.track("ana", "Product Added", nil)
	w.at(30 * time.Minute)
	w.log(&event.Event{Type: event.Identify, UserID: "ana", AnonymousID: "phone-1"})
	w.at(3 * time.Hour)
	all := w.enrolments("ana")
	if len(all) != 2 {
		t.Fatalf("%d enrolments on the merged profile", len(all))
	}
	var active, merged int
	for _, en := range all {
		switch {
		case en.Status == journey.EnrolCompleted:
			active++
		case en.Status == journey.EnrolExited && strings.Contains(en.Reason, "profile merged into"):
			merged++
		}
	}
	if active != 1 || merged != 1 {
		t.Fatalf("enrolments: %+v %+v", all[0], all[1])
	}
	if got := w.templates("ana"); !slices.Equal(got, []string{"offer", "nudge"}) {
		t.Fatalf("sent %v: one series for one customer", got)
	}
}

func TestMigrateMovesWhereTheStepStillExists(t *testing.T) {
	w := newWorld(t)
	w.apply(cart)
	w.track("ana", "Product Added", nil)
	w.at(90 * time.Minute) // ana waits at steps[2]
	w.track("bob", "Product Added", nil)
	w.at(100 * time.Minute) // bob waits at steps[0]
	// v2: the first wait becomes a send; the second wait is still a wait.
	w.apply(strings.Replace(strings.ReplaceAll(cart, "template: nudge", "template: nudge-v2"),
		"  - wait: {for: 1h}\n  - send: {channel: email", "  - send: {channel: push, template: hello}\n  - send: {channel: email", 1))
	ctx := context.Background()
	if _, err := w.eng.Migrate(ctx, "cart", 2); err == nil {
		t.Fatal("migrating from the latest version should be refused")
	}
	res, err := w.eng.Migrate(ctx, "cart", 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Moved != 1 || res.Kept["steps[0]"] != 1 || res.To != 2 {
		t.Fatalf("%+v", res)
	}
	w.at(4 * time.Hour)
	if got := w.templates("ana"); !slices.Equal(got, []string{"offer", "nudge-v2"}) {
		t.Fatalf("ana moved to v2 at her wait: %v", got)
	}
	if got := w.templates("bob"); !slices.Equal(got, []string{"offer", "nudge"}) {
		t.Fatalf("bob stayed on v1: %v", got)
	}
}

func TestWaitUntilTimeOfDayInTheCustomersZone(t *testing.T) {
	w := newWorld(t)
	w.apply(`
kind: journey
id: morning
name: Morning
triggers: [{event: Signed Up}]
steps:
  - wait: {until: "10:00", zone: customer}
  - send: {channel: email, template: hello}
`)
	w.identify("ana", map[string]any{"timezone": "America/New_York"}) // 04:00 there
	w.identify("bob", nil)                                            // no zone: UTC
	w.track("ana", "Signed Up", nil)
	w.track("bob", "Signed Up", nil)
	sentAt := func(user string) time.Duration {
		for _, s := range w.rec.Sent() {
			if s.Profile == w.profile(user) {
				return s.At.Sub(t0)
			}
		}
		return -1
	}
	w.at(8 * time.Hour)
	if got := sentAt("bob"); got != time.Hour {
		t.Fatalf("bob (UTC) got it at +%v, want +1h", got)
	}
	if got := sentAt("ana"); got != 6*time.Hour {
		t.Fatalf("ana (New York, UTC-5) got it at +%v, want +6h", got)
	}
}
