package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parcours/parcours/internal/store"
)

// Result is a simulation's trace and the verdict on its expectations.
type Result struct {
	Journey  string    `json:"journey"`
	Version  int       `json:"version"`
	Scenario string    `json:"scenario,omitempty"`
	Start    time.Time `json:"start"`
	// End is where the clock stopped.
	End   Offset `json:"end"`
	Trace []Line `json:"trace"`
	// Sends are the messages handed to the sender, in order.
	Sends  []Line    `json:"sends"`
	Checks []Check   `json:"expectations"`
	Passed bool      `json:"passed"`
	Ends   []EndLine `json:"enrolments"`
	// carts are the carts of the tasks created, by task id (JSON).
	carts map[int64]string
}

// Line is one line of the trace.
type Line struct {
	At   Offset `json:"at"`
	User string `json:"user"`
	Step string `json:"step,omitempty"`
	// Name is the step's name, if the journey gives it one.
	Name string `json:"name,omitempty"`
	Kind string `json:"kind"`
	What string `json:"what"`
	Why  string `json:"why,omitempty"`
	// Channel and Template are set on sends.
	Channel  string `json:"channel,omitempty"`
	Template string `json:"template,omitempty"`
	Key      string `json:"key,omitempty"`
	// Data is the send's extra template data (promo_code).
	Data map[string]any `json:"data,omitempty"`
	// Delivery is what the message pipeline made of a send, with
	// templates: the channel, the outcome, the rendered message.
	Delivery *Delivery `json:"delivery,omitempty"`
}

// EndLine is where a customer's enrolment stands at the end.
type EndLine struct {
	User   string `json:"user"`
	Status string `json:"status"`
	Step   string `json:"step,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Check is one expectation and whether it held.
type Check struct {
	Expect string `json:"expect"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// MarshalJSON writes an offset as text.
func (o Offset) MarshalJSON() ([]byte, error) { return json.Marshal(o.String()) }

// finish builds the readable trace and checks the expectations.
func (p *pipeline) finish(ctx context.Context, sc *Scenario, res *Result) error {
	users := map[int64]string{}
	profiles := map[string]int64{}
	names := []string{}
	for _, c := range sc.Customers {
		names = append(names, c.User)
	}
	for _, a := range sc.Steps {
		if a.User != "" {
			names = append(names, a.User)
		}
	}
	for _, u := range names {
		id, err := p.profileOf(ctx, u)
		if err != nil {
			return err
		}
		users[id], profiles[u] = u, id
	}
	for _, t := range p.trace {
		u := t.user
		if u == "" {
			u = users[t.Profile]
			if u == "" {
				u = fmt.Sprintf("profile %d", t.Profile)
			}
		}
		l := Line{At: Offset(t.At.Sub(res.Start)), User: u, Step: t.Step, Name: t.Name, Kind: t.Kind, What: t.What, Why: t.Why}
		if t.Send != nil {
			l.Channel, l.Template, l.Key, l.Data = t.Send.Channel, t.Send.Template, t.Send.Key, t.Send.Data
			if p.rend != nil {
				d, err := p.rend.delivery(t.Send.Key)
				if err != nil {
					return err
				}
				l.Delivery = d
				l.Why = d.outcome()
			}
			res.Sends = append(res.Sends, l)
		}
		res.Trace = append(res.Trace, l)
	}
	ends := map[string]string{}
	for _, u := range uniq(names) {
		all, err := p.st.ProfileEnrolments(ctx, []int64{profiles[u]})
		if err != nil {
			return err
		}
		for _, en := range all {
			if en.Journey == res.Journey {
				ends[u] = en.Status
				res.Ends = append(res.Ends, EndLine{User: u, Status: en.Status, Step: en.Step, Reason: en.Reason})
			}
		}
	}
	res.carts = map[int64]string{}
	tasks, err := p.st.ListTasks(ctx, store.TaskQuery{Limit: 100_000})
	if err != nil {
		return err
	}
	for _, t := range tasks {
		var d struct {
			Cart json.RawMessage `json:"cart"`
		}
		_ = json.Unmarshal(t.Detail, &d)
		res.carts[t.ID] = string(d.Cart)
	}
	res.Passed = true
	for _, e := range sc.Expect {
		c := check(e, res, ends)
		res.Checks = append(res.Checks, c)
		res.Passed = res.Passed && c.OK
	}
	return nil
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// matches reports whether a send is one s describes and reaches the
// customer: with templates, the message pipeline would send it (not skip
// it, nor fail to render it).
func (s *SendSpec) matches(l Line) bool {
	if !l.Delivery.sent() || (s.Text != "" && (l.Delivery == nil || !strings.Contains(l.Delivery.Read(), s.Text))) {
		return false
	}
	return s.handed(l)
}

// handed reports whether the journey handed over a send s matches,
// whatever the message pipeline made of it.
func (s *SendSpec) handed(l Line) bool {
	if s.PromoCode != "" {
		if c, _ := l.Data["promo_code"].(string); !strings.HasPrefix(c, s.PromoCode+"-") {
			return false
		}
	}
	if s.Store != "" {
		if st, _ := l.Data["store"].(map[string]any); st == nil || st["id"] != s.Store {
			return false
		}
	}
	return (s.Channel == "" || s.Channel == l.Channel) && (s.Template == "" || s.Template == l.Template)
}

func check(e Expect, res *Result, ends map[string]string) Check {
	switch {
	case e.Send != nil:
		c := Check{Expect: fmt.Sprintf("%s receives %s", e.User, e.Send)}
		if e.At != nil {
			c.Expect += " at " + e.At.String()
		}
		var near []string
		for _, l := range res.Sends {
			if l.User != e.User || !e.Send.matches(l) {
				continue
			}
			if e.At == nil || sameSecond(l.At, *e.At) {
				c.OK = true
				return c
			}
			near = append(near, l.At.String())
		}
		c.Detail = "not sent"
		if len(near) > 0 {
			c.Detail = "sent at " + strings.Join(near, ", ") + " instead"
		}
		for _, l := range res.Sends {
			if l.User == e.User && e.Send.handed(l) && (e.At == nil || sameSecond(l.At, *e.At)) && !l.Delivery.sent() {
				c.Detail = l.At.String() + ": handed over, " + l.Delivery.outcome()
				break
			}
		}
		return c
	case e.Converts != nil:
		got := false
		for _, l := range res.Trace {
			got = got || (l.User == e.User && l.Kind == "goal")
		}
		c := Check{Expect: fmt.Sprintf("%s converts", e.User), OK: got == *e.Converts}
		if !*e.Converts {
			c.Expect = fmt.Sprintf("%s does not convert", e.User)
		}
		if !c.OK {
			c.Detail = map[bool]string{true: "converted", false: "did not convert"}[got]
		}
		return c
	case e.Task != nil:
		c := Check{Expect: fmt.Sprintf("a task about %s", e.User)}
		if e.Task.Store != "" {
			c.Expect += " for store " + e.Task.Store
		}
		if e.Task.Cart != "" {
			c.Expect += " with " + e.Task.Cart + " in the cart"
		}
		if e.At != nil {
			c.Expect += " at " + e.At.String()
		}
		c.Detail = "no task"
		for _, l := range res.Trace {
			if l.User != e.User || l.Kind != "task" || l.Why != "created" {
				continue
			}
			if (e.Task.Store == "" || strings.Contains(l.What, " for store "+e.Task.Store+":")) &&
				strings.Contains(l.What, e.Task.Title) && (e.At == nil || sameSecond(l.At, *e.At)) {
				var id int64
				_, _ = fmt.Sscanf(l.What, "task %d ", &id)
				if cart := res.carts[id]; e.Task.Cart != "" && !strings.Contains(cart, `"`+e.Task.Cart+`"`) {
					c.Detail = fmt.Sprintf("%s: task %d's cart is %s", l.At, id, cart)
					continue
				}
				c.OK, c.Detail = true, ""
				return c
			}
			c.Detail = l.At.String() + ": " + l.What
		}
		return c
	case e.NoSend != nil:
		c := Check{Expect: fmt.Sprintf("%s never receives %s", e.User, e.NoSend), OK: true}
		if e.At != nil {
			c.Expect = fmt.Sprintf("%s does not receive %s at %s", e.User, e.NoSend, e.At)
		}
		for _, l := range res.Sends {
			if l.User == e.User && e.NoSend.matches(l) && (e.At == nil || sameSecond(l.At, *e.At)) {
				c.OK, c.Detail = false, "sent at "+l.At.String()
				break
			}
		}
		return c
	default:
		got := ends[e.User]
		c := Check{Expect: fmt.Sprintf("%s ends %s", e.User, e.Ends), OK: got == e.Ends}
		if !c.OK {
			c.Detail = "ends " + orNone(got)
		}
		return c
	}
}

func orNone(s string) string {
	if s == "" {
		return "never enrolled"
	}
	return s
}

// Print writes the trace and the verdict for people.
func (r *Result) Print(w io.Writer) {
	title := fmt.Sprintf("Journey %s v%d", r.Journey, r.Version)
	if r.Scenario != "" {
		title += " · " + r.Scenario
	}
	fmt.Fprintf(w, "%s · +0 is %s · ran to %s\n\n", title, r.Start.Format("Mon 2006-01-02 15:04 MST"), r.End)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  AT\tWHO\tSTEP\tWHAT\tWHY")
	for _, l := range r.Trace {
		// A step reads best by its name; unnamed, by its address.
		step := l.Kind
		switch {
		case l.Name != "":
			step = l.Kind + " “" + l.Name + "”"
		case l.Step != "":
			step = l.Kind + " " + l.Step
		}
		what := l.What
		switch {
		case l.Kind == "input":
			step, what = "▶ "+l.Step, l.What
		case l.Channel != "":
			what = "✉ " + l.Channel + " " + l.Template
			if d := l.Delivery; d != nil && d.To != "" {
				what += " → " + d.To
			}
			if c, ok := l.Data["promo_code"]; ok {
				what += fmt.Sprintf(" (promo_code %v)", c)
			}
			if st, ok := l.Data["store"].(map[string]any); ok {
				what += fmt.Sprintf(" (store %v)", st["name"])
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", l.At, l.User, step, what, l.Why)
	}
	tw.Flush()
	r.printMessages(w)
	if len(r.Ends) > 0 {
		fmt.Fprintln(w, "\nEnrolments at the end")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, e := range r.Ends {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.User, e.Status, firstOf(e.Reason, e.Step))
		}
		tw.Flush()
	}
	if len(r.Checks) == 0 {
		fmt.Fprintln(w, "\nNo expectations.")
		return
	}
	fmt.Fprintln(w, "\nExpectations")
	ok := 0
	for _, c := range r.Checks {
		mark := "✓"
		if c.OK {
			ok++
		} else {
			mark = "✗"
		}
		line := fmt.Sprintf("  %s %s", mark, c.Expect)
		if c.Detail != "" {
			line += " — " + c.Detail
		}
		fmt.Fprintln(w, line)
	}
	verdict := "PASS"
	if !r.Passed {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\n%s: %d of %d expectations hold\n", verdict, ok, len(r.Checks))
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// sameSecond compares offsets to the second: expectations are written to
// the minute or second, and some instants are a millisecond past one (a
// segment's "older than 90d" holds 1 ms after the 90 days).
func sameSecond(a, b Offset) bool {
	return time.Duration(a).Truncate(time.Second) == time.Duration(b).Truncate(time.Second)
}
