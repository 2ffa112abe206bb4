package console

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
)

// Outbox is the demo's providers: one per channel, each capturing the
// messages it is given instead of sending them, like a mail catcher. It
// keeps the newest Max messages in memory.
type Outbox struct {
	Max   int
	clock clock.Clock

	mu   sync.Mutex
	seq  int
	msgs []Captured // oldest first
}

// Captured is one message a capturing provider took.
type Captured struct {
	N       int
	At      time.Time
	Channel string
	To      string
	Subject string
	Title   string
	Body    string
	HTML    string
	Key     string
}

// NewOutbox returns an empty outbox keeping the newest 1,000 messages.
func NewOutbox(clk clock.Clock) *Outbox {
	if clk == nil {
		clk = clock.System{}
	}
	return &Outbox{Max: 1000, clock: clk}
}

// Providers is a provider per channel, all capturing into the outbox.
func (o *Outbox) Providers() message.ProviderSet {
	set := message.ProviderSet{}
	for _, ch := range []provider.Channel{provider.Email, provider.SMS, provider.WhatsApp, provider.Push, provider.Webhook} {
		set[ch] = message.Configured{Provider: &capture{o: o, ch: ch}}
	}
	return set
}

// List returns the newest messages first, n at most, skipping the first
// skip.
func (o *Outbox) List(skip, n int) (page []Captured, more bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.msgs) - 1 - skip; i >= 0 && len(page) < n; i-- {
		page = append(page, o.msgs[i])
	}
	return page, len(o.msgs)-skip > n
}

// Get returns the message numbered n.
func (o *Outbox) Get(n int) (Captured, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range o.msgs {
		if m.N == n {
			return m, true
		}
	}
	return Captured{}, false
}

func (o *Outbox) add(m Captured) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq++
	m.N = o.seq
	o.msgs = append(o.msgs, m)
	if len(o.msgs) > o.Max {
		o.msgs = append(o.msgs[:0:0], o.msgs[len(o.msgs)-o.Max:]...)
	}
	return m.N
}

// capture is one channel's capturing provider.
type capture struct {
	o  *Outbox
	ch provider.Channel
}

func (p *capture) Name() string              { return "demo-" + string(p.ch) }
func (p *capture) Channel() provider.Channel { return p.ch }
func (p *capture) Close() error              { return nil }

func (p *capture) Send(_ context.Context, m *provider.Message) (provider.Result, error) {
	n := p.o.add(Captured{At: p.o.clock.Now(), Channel: string(p.ch), To: m.To, Subject: m.Subject, Title: m.Title,
		Body: firstOf(m.Body, m.Text), HTML: m.HTML, Key: m.Key})
	return provider.Result{ProviderID: "demo-" + strconv.Itoa(n)}, nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// outbox serves GET /console/outbox: the messages the demo's providers
// captured, newest first, paged.
func (c *Console) outbox(w http.ResponseWriter, r *http.Request, s *session) {
	skip, _ := strconv.Atoi(r.URL.Query().Get("skip"))
	skip = max(skip, 0)
	page, more := c.opts.Outbox.List(skip, pageSize)
	next := ""
	if more {
		next = "skip=" + strconv.Itoa(skip+pageSize)
	}
	c.render(w, r, s, "outbox", http.StatusOK, map[string]any{"Messages": page, "Next": next})
}

// outboxMessage serves GET /console/outbox/{n}: one captured message, the
// email in a sandboxed frame.
func (c *Console) outboxMessage(w http.ResponseWriter, r *http.Request, s *session) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	m, ok := c.opts.Outbox.Get(n)
	if !ok {
		c.fail(w, r, s, &APIError{Status: http.StatusNotFound, Code: "not_found", Message: "no captured message " + r.PathValue("n") + " (the outbox keeps the newest 1,000)"})
		return
	}
	c.render(w, r, s, "outbox_message", http.StatusOK, m)
}
