package journey

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
)

// pass is one run of one due enrolment through its steps (runner.run):
// what the steps it takes share. Each kind of step has its method; each
// returns true when the enrolment stops here (it waits for a timer, an
// event or a retry, or it has ended), false to take its next step.
type pass struct {
	*runner
	en  *store.Enrolment
	p   *program
	st  *state
	now time.Time // when the run happens
	at  time.Time // when its steps happen: the due instant (see run)
	// send is the send the next trace entry reports.
	send *SendRequest
}

// step takes one step of the enrolment.
func (x *pass) step(ctx context.Context, n *node) (bool, error) {
	s := n.step
	switch {
	case s.Send != nil:
		return x.sendStep(ctx, n), nil
	case s.Webhook != nil:
		return x.webhookStep(ctx, n), nil
	case s.Task != nil:
		return x.taskStep(ctx, n), nil
	case s.Wait != nil:
		return x.waitStep(n), nil
	case s.WaitFor != nil:
		return x.waitForStep(n), nil
	case s.Branch != nil:
		return false, x.branchStep(ctx, n)
	case s.Split != nil:
		x.splitStep(n)
	case s.UpdateTrait != nil:
		x.updateTraitStep(n)
	case s.Exit != nil:
		x.exitStep(n)
		return true, nil
	}
	return false, nil
}

// trace reports a step taken.
func (x *pass) trace(n *node, kind, what, why string) {
	en := x.en
	x.e.trace(TraceEntry{At: x.at, Journey: en.Journey, Version: en.Version, Enrolment: en.ID, Profile: en.Profile,
		Step: n.addr, Name: n.step.Name, Kind: kind, What: what, Why: why, Due: en.DueAt, Send: x.send})
	x.send = nil
}

// finish ends the enrolment: completed, or exited with the reason.
func (x *pass) finish(status, reason string) {
	en := x.en
	en.Status, en.DueAt, en.EndedAt, en.Reason = status, time.Time{}, x.at, reason
	x.b.record(en, "", status, reason, "", x.at)
	x.e.trace(TraceEntry{At: x.at, Journey: en.Journey, Version: en.Version, Enrolment: en.ID, Profile: en.Profile,
		Kind: status, What: map[bool]string{true: "finished", false: "left the journey"}[status == EnrolCompleted], Why: reason})
}

// call is what a step that calls out (a send, a webhook, a task) made of
// its call.
type call struct {
	kind, channel string
	err           error
	// forGood: the failure will not get better with retries.
	forGood bool
	// failed says in the trace that the call failed ("send failed").
	failed string
	// On success (or when nothing was called): the outcome recorded and
	// the trace's what and why.
	outcome, what, why string
	// skipped, if set, is the trace's what and why when the step is
	// skipped after its last failed try; default "FAILED N times; step
	// skipped" and the error.
	skipped func(attempts int, err error) (what, why string)
}

// called ends a step that calls out. After a failure the step is tried
// again later while tries are left and the failure is not for good (true:
// the enrolment waits for its retry), else it is skipped; either way its
// outcome is recorded and traced and the enrolment moves on.
func (x *pass) called(n *node, c call) bool {
	if c.err != nil {
		if d, again := retry(x.st, x.en, x.now, c.forGood); again {
			x.trace(n, c.kind, c.failed+"; retry in "+d.String(), c.err.Error())
			return true
		}
		c.outcome = "failed"
		c.what, c.why = fmt.Sprintf("%s %d times; step skipped", c.failed, x.st.Attempts), c.err.Error()
		if c.skipped != nil {
			c.what, c.why = c.skipped(x.st.Attempts, c.err)
		}
	}
	x.st.Attempts = 0
	x.b.record(x.en, n.addr, c.kind, c.outcome, c.channel, x.at)
	x.trace(n, c.kind, c.what, c.why)
	x.en.Step = n.next
	return false
}

// sendStep hands a message to the sender, keyed by the journey, its
// version, the step, the profile and the enrolment.
func (x *pass) sendStep(ctx context.Context, n *node) bool {
	s, en, e := n.step.Send, x.en, x.e
	req := SendRequest{Key: sendKey(en.Journey, en.Version, n.addr, en.Profile, en.ID), Journey: en.Journey,
		Version: en.Version, Step: n.addr, Profile: en.Profile, Enrolment: en.ID,
		Channel: s.Channel, Template: s.Template, Topic: s.Topic, Survey: s.Survey, At: x.at}
	req.Data, req.Event, req.Store = sendData(x.st), x.st.Event, x.st.EventStore
	if s.PromoCode != nil {
		req.Data["promo_code"] = promoCode(e.o.CodeSecret, s.PromoCode.Prefix, req.Key)
	}
	if len(req.Data) == 0 {
		req.Data = nil
	}
	c := call{kind: "send", channel: s.Channel, failed: "send failed"}
	switch {
	case e.o.Sender == nil:
		e.noSender.Do(func() {
			e.log.Warn("journeys: no sender configured; send steps are traced and skipped", "journey", en.Journey)
		})
		c.outcome, c.what, c.why = "not sent", fmt.Sprintf("%s %s", s.Channel, s.Template), "no sender configured: not sent"
	default:
		c.err = x.runner.send(ctx, req)
		c.forGood = errors.Is(c.err, ErrRefused)
		if c.err == nil {
			x.send = &req
			c.outcome, c.what, c.why = "sent", fmt.Sprintf("%s %s", s.Channel, s.Template), "handed to the sender, key "+req.Key
		}
	}
	return x.called(n, c)
}

// webhookStep posts the enrolment to the step's URL.
func (x *pass) webhookStep(ctx context.Context, n *node) bool {
	s, en, e := n.step.Webhook, x.en, x.e
	req := WebhookRequest{URL: s.URL, Key: sendKey(en.Journey, en.Version, n.addr, en.Profile, en.ID),
		Journey: en.Journey, Version: en.Version, Step: n.addr, Profile: en.Profile, Enrolment: en.ID, At: x.at}
	c := call{kind: "webhook", failed: "call failed"}
	switch {
	case e.o.Webhooks == nil:
		c.outcome, c.what, c.why = "not called", s.URL, "no webhook caller configured: not called"
	default:
		c.err = e.o.Webhooks.Call(ctx, req)
		c.forGood = refused(c.err)
		c.outcome, c.what, c.why = "called", s.URL, "called, key "+req.Key
	}
	return x.called(n, c)
}

// taskStep creates a task for the staff of a store.
func (x *pass) taskStep(ctx context.Context, n *node) bool {
	outcome, what, err := x.task(ctx, x.en, n, x.st, x.at)
	return x.called(n, call{kind: "task", err: err, failed: "task not created", outcome: outcome, what: what, why: outcome,
		skipped: func(attempts int, err error) (string, string) {
			return fmt.Sprintf("task not created after %d tries; step skipped: %v", attempts, err), "failed"
		}})
}

// waitStep starts a wait (its timer set) or, once it fired, ends it.
func (x *pass) waitStep(n *node) bool {
	s, en, st := n.step.Wait, x.en, x.st
	if st.Waiting {
		st.Waiting = false
		en.Step = n.next
		return false
	}
	loc := x.location(s, en.Profile)
	if s.UntilTrait != "" {
		due, ok := x.untilTrait(s, en.Profile, x.at, loc)
		if !ok {
			x.trace(n, "wait", "not waiting", "no date in trait "+s.UntilTrait)
			en.Step = n.next
			return false
		}
		st.Waiting = true
		en.DueAt = due
		x.trace(n, "wait", "wait until "+en.DueAt.In(loc).Format("2006-01-02 15:04 MST"), "next "+s.UntilTrait+" "+loc.String())
		return true
	}
	st.Waiting = true
	en.DueAt = waitUntil(s, x.at, loc)
	x.trace(n, "wait", "wait until "+en.DueAt.In(loc).Format("2006-01-02 15:04 MST"), describeWait(s, loc))
	return true
}

// waitForStep starts waiting for an event, with a timeout; the event
// moves the enrolment on elsewhere (process.go), the timeout here.
func (x *pass) waitForStep(n *node) bool {
	s, en, st := n.step.WaitFor, x.en, x.st
	if st.Waiting { // the timer fired before the event
		st.Waiting = false
		x.b.record(en, n.addr, "wait_for", "timeout", "", x.at)
		x.trace(n, "wait_for", "timed out", "no "+s.describe()+" within "+human(time.Duration(s.Timeout)))
		en.Step = n.onTimeout
		return false
	}
	st.Waiting = true
	en.DueAt = x.at.Add(time.Duration(s.Timeout))
	x.trace(n, "wait_for", "wait for "+s.describe(), "at most "+human(time.Duration(s.Timeout)))
	return true
}

// branchStep takes the first case whose condition holds, else the else
// steps.
func (x *pass) branchStep(ctx context.Context, n *node) error {
	s, en := n.step.Branch, x.en
	next, why, outcome := n.other, "no case holds: else", "else"
	in := segment.Input{Profile: x.profile(en.Profile), State: x.segs[en.Profile], Env: &profile.Env{Now: x.at, Stores: x.e.o.Stores}}
	if x.e.o.Consent != nil && slices.ContainsFunc(s.Cases, func(c Case) bool { return c.When.MentionsConsent() }) {
		// reachable: sms holds for a customer the ledger says may get SMS
		// (a consent given through the API, a STOP), as the send will
		// check, not only by their opt-in traits.
		c, err := x.e.o.Consent(ctx, []int64{en.Profile})
		if err != nil {
			return fmt.Errorf("journey: consent of profile %d: %w", en.Profile, err)
		}
		in.Consent = c[en.Profile]
	}
	for i := range s.Cases {
		ok, detail, err := x.when(ctx, &s.Cases[i].When, in, en, x.st, x.at)
		if err != nil {
			return err
		}
		if ok {
			next, why, outcome = n.cases[i], fmt.Sprintf("case %d holds", i), fmt.Sprintf("case %d", i)
			if detail != "" {
				why += ": " + detail
			}
			break
		}
		if detail != "" {
			why += fmt.Sprintf(" (case %d: %s)", i, detail)
		}
	}
	x.b.record(en, n.addr, "branch", outcome, "", x.at)
	x.trace(n, "branch", "next: "+orEnd(next), why)
	en.Step = next
	return nil
}

// splitStep sends the customer down a variant, drawn by weight from the
// profile (the same variant every time).
func (x *pass) splitStep(n *node) {
	s := n.step.Split
	i := variant(x.p.def, n.addr, x.en.Profile, s)
	x.b.record(x.en, n.addr, "split", s.Variants[i].Name, "", x.at)
	x.trace(n, "split", "variant "+s.Variants[i].Name, fmt.Sprintf("weight %g of %g", s.Variants[i].Weight, totalWeight(s)))
	x.en.Step = n.variants[i]
}

// updateTraitStep sets a trait on the profile (an identify event).
func (x *pass) updateTraitStep(n *node) {
	s := n.step.UpdateTrait
	outcome := x.updateTrait(x.en, n, x.at)
	x.b.record(x.en, n.addr, "update_trait", outcome, "", x.at)
	x.trace(n, "update_trait", fmt.Sprintf("%s = %v", s.Trait, s.Value), outcome)
	x.en.Step = n.next
}

// exitStep ends the enrolment with the step's reason.
func (x *pass) exitStep(n *node) {
	reason := n.step.Exit.Reason
	if reason == "" {
		reason = "exit step"
	}
	x.finish(EnrolExited, n.addr+": "+reason)
}
