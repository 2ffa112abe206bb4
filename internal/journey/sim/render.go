package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/unify"
)

// Options change how a scenario runs.
type Options struct {
	// Templates is a directory of template files (ID.json), as parcours
	// serve --templates reads them; it wins over the scenario's
	// templates. With templates, every send goes through the message
	// pipeline — the checks (address, suppression, consent, quiet hours)
	// and the template rendered with the variables the live server gives
	// it — into the temporary outbox, and the trace shows what the
	// customer would read.
	Templates string
	// Policy is the message policy (parcours serve --message-policy):
	// topics, quiet hours, time zone, fallback channels; zero: the
	// defaults.
	Policy message.Policy
	// PublicURL is the server's public URL (parcours serve --public-url),
	// the base of tracking and unsubscribe links; default DefaultPublicURL
	// (a server without one sends no marketing email: it could not carry
	// an unsubscribe link).
	PublicURL string
}

// DefaultPublicURL stands for the server's public URL in simulated
// messages when none is given.
const DefaultPublicURL = "https://parcours.example"

// templatesDir is the directory of templates to render with: the
// option's, else the scenario's (relative to its file), else none.
func (o Options) templatesDir(sc *Scenario) string {
	switch {
	case o.Templates != "":
		return o.Templates
	case sc.Templates == "" || filepath.IsAbs(sc.Templates):
		return sc.Templates
	}
	return filepath.Join(sc.dir, sc.Templates)
}

// simSecret signs the simulated messages' links: a fixed key, so that a
// scenario renders the same text at every run.
var simSecret = []byte("parcours-simulator")

// Delivery is what the message pipeline made of a send: the channel it
// chose ("best" sends), its outcome and, unless it was refused, the
// message as the provider would get it.
type Delivery struct {
	Channel string `json:"channel"`
	// Status is queued (it would go now), deferred (quiet hours: it
	// would go at DueAt), skipped or failed, with the Reason.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	To     string `json:"to,omitempty"`
	// Subject, Text and HTML are an email's; Body an SMS's, a WhatsApp
	// text's or a push's; Title a push's.
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text,omitempty"`
	HTML    string `json:"html,omitempty"`
	Body    string `json:"body,omitempty"`
	Title   string `json:"title,omitempty"`
	// WhatsApp is a WhatsApp template message: its name and parameters.
	WhatsApp *provider.WhatsAppTemplate `json:"whatsapp_template,omitempty"`
}

// Read is what the customer reads: an email's subject and text, a push's
// title and body, an SMS's or WhatsApp text's body.
func (d *Delivery) Read() string {
	switch {
	case d == nil:
		return ""
	case d.Subject != "" || d.Text != "":
		return d.Subject + "\n\n" + d.Text
	case d.Title != "":
		return d.Title + " | " + d.Body
	case d.WhatsApp != nil:
		return fmt.Sprintf("%s %q", d.WhatsApp.Name, d.WhatsApp.Params)
	}
	return d.Body
}

// renderer is the simulator's sender with templates: the live server's
// journey sender (internal/server's journeySender: the same request, the
// same check of send steps when a journey is saved), in front of a
// recorder for the trace; TestSimulatorMatchesLive (internal/stories)
// fails when the two part. Nothing delivers the outbox: its messages stay
// queued, so frequency caps, which count messages sent, never bite in a
// simulation.
type renderer struct {
	rec  *journey.Recorder
	msgs *message.Pipeline
	mu   sync.Mutex
	out  map[string]*store.OutboxMessage // by the journey's send key
}

func (r *renderer) Send(ctx context.Context, req journey.SendRequest) error {
	m, err := r.msgs.Send(ctx, message.Request{
		ProfileID: req.Profile, Channel: provider.Channel(req.Channel), Topic: req.Topic, TemplateID: req.Template,
		Journey: req.Journey, Version: req.Version, Step: req.Step, Enrolment: strconv.FormatInt(req.Enrolment, 10),
		Campaign: req.Journey, Data: req.Data, Event: req.Event, StoreID: req.Store,
	})
	// As live: an invalid request or a template that does not exist will
	// not get better with retries.
	if errors.Is(err, message.ErrInvalid) || errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %w", journey.ErrRefused, err)
	}
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.out[req.Key] = m
	r.mu.Unlock()
	return r.rec.Send(ctx, req)
}

// CheckSend refuses, when the journey is saved, a send step the live
// server refuses (a promotional template on a transactional topic).
func (r *renderer) CheckSend(ctx context.Context, s journey.Send) error {
	err := r.msgs.CheckSend(ctx, s.Template, s.Topic)
	if errors.Is(err, message.ErrInvalid) {
		return problem.Invalid("send.topic", strings.TrimPrefix(err.Error(), message.ErrInvalid.Error()+": "))
	}
	return err
}

// delivery returns what became of the send with the journey's key.
func (r *renderer) delivery(key string) (*Delivery, error) {
	r.mu.Lock()
	m := r.out[key]
	r.mu.Unlock()
	if m == nil {
		return nil, nil
	}
	d := &Delivery{Channel: m.Channel, Status: m.Status, Reason: m.Reason, To: m.Address}
	if len(m.Payload) == 0 {
		return d, nil
	}
	var pm provider.Message
	if err := json.Unmarshal(m.Payload, &pm); err != nil {
		return nil, fmt.Errorf("message %s: payload: %w", key, err)
	}
	d.Subject, d.Text, d.HTML, d.Body, d.Title, d.WhatsApp = pm.Subject, pm.Text, pm.HTML, pm.Body, pm.Title, pm.Template
	return d, nil
}

// consent records the consent identify traits carry, as the live
// server's consent consumer does between segments and journeys. Like it,
// it reads only what unify has passed: the events unify appended while
// processing (Traits Changed) wait for the next round.
func (p *pipeline) consent(ctx context.Context, batch []*event.Event) error {
	done, err := p.st.Checkpoint(ctx, unify.Consumer)
	if err != nil {
		return err
	}
	n := 0
	for n < len(batch) && batch[n].Seq <= done {
		n++
	}
	if n == 0 {
		return nil
	}
	if err := p.msgs.ProcessConsent(ctx, batch[:n]); err != nil {
		return err
	}
	return p.st.SaveCheckpoint(ctx, message.Consumer, batch[n-1].Seq)
}

// sent reports whether the message pipeline would send the message:
// true without templates (nothing renders it), else when it is queued or
// deferred.
func (d *Delivery) sent() bool {
	return d == nil || d.Status == store.MessageQueued || d.Status == store.MessageDeferred
}

// outcome says in words what the pipeline did with the message.
func (d *Delivery) outcome() string {
	if d == nil {
		return ""
	}
	what := map[string]string{store.MessageQueued: "rendered; would be sent now", store.MessageDeferred: "rendered; deferred",
		store.MessageSkipped: "not sent", store.MessageFailed: "failed"}[d.Status]
	if what == "" {
		what = d.Status
	}
	if d.Channel != "" {
		what = d.Channel + ": " + what
	}
	if d.Reason != "" {
		what += ": " + d.Reason
	}
	return what
}

// printMessages writes every rendered message in full, after the trace.
func (r *Result) printMessages(w io.Writer) {
	first := true
	for _, l := range r.Sends {
		d := l.Delivery
		if d == nil || d.Read() == "" {
			continue
		}
		if first {
			fmt.Fprintln(w, "\nMessages")
			first = false
		}
		fmt.Fprintf(w, "  %s  %s  %s %s → %s\n", l.At, l.User, d.Channel, l.Template, d.To)
		for _, line := range strings.Split(strings.TrimRight(d.Read(), "\n"), "\n") {
			fmt.Fprintln(w, strings.TrimRight("    │ "+line, " "))
		}
	}
}
