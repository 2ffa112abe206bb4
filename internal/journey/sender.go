package journey

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/problem"
)

// Sender hands a journey's message to the message pipeline, which picks
// the channel for "best", checks consent, frequency caps and quiet hours,
// renders the template and delivers. It must be idempotent by Key: the
// engine sends again, with the same key, a step whose outcome it could not
// record (a crash between the send and the write).
type Sender interface {
	Send(ctx context.Context, r SendRequest) error
}

// BatchSender is a Sender that also takes many sends at once, for the
// enrolments of a claimed batch that reach a send step together (a
// broadcast). errs[i] is rs[i]'s outcome, as Send would have returned it;
// the same idempotency by Key applies.
type BatchSender interface {
	Sender
	SendBatch(ctx context.Context, rs []SendRequest) (errs []error)
}

// maxSendBatch is the most sends handed to a BatchSender at once.
const maxSendBatch = 500

// sendGroup gathers the sends of concurrent enrolments into batches: the
// first to find no batch under way becomes the leader and sends what is
// pending, in rounds of up to maxSendBatch, while the others wait for
// their round's outcome. Whatever arrives while a batch is being sent
// goes in the next one, so batches grow with the load and a lone send
// waits for nobody.
type sendGroup struct {
	mu      sync.Mutex
	pending []*groupedSend
	busy    bool
}

type groupedSend struct {
	req  SendRequest
	done chan error
}

func (g *sendGroup) send(ctx context.Context, bs BatchSender, req SendRequest) error {
	s := &groupedSend{req: req, done: make(chan error, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, s)
	if g.busy {
		g.mu.Unlock()
		return <-s.done
	}
	g.busy = true
	for len(g.pending) > 0 {
		n := min(len(g.pending), maxSendBatch)
		round := g.pending[:n:n]
		g.pending = append([]*groupedSend(nil), g.pending[n:]...)
		g.mu.Unlock()
		rs := make([]SendRequest, len(round))
		for i, x := range round {
			rs[i] = x.req
		}
		errs := bs.SendBatch(ctx, rs)
		for i, x := range round {
			if i < len(errs) {
				x.done <- errs[i]
			} else {
				x.done <- fmt.Errorf("journey: the sender returned %d outcomes for %d sends", len(errs), len(rs))
			}
		}
		g.mu.Lock()
	}
	g.busy = false
	g.mu.Unlock()
	return <-s.done
}

// SendChecker is implemented by a Sender that can tell, when a journey
// is saved, that a send step cannot work: the message pipeline refuses a
// promotional template on a transactional topic. A refusal is a
// *problem.ValidationError whose Path is within the step ("send.topic").
type SendChecker interface {
	CheckSend(ctx context.Context, s Send) error
}

// checkSends asks the sender, if it can check, about every send step of
// d, in the order of their paths.
func (e *Engine) checkSends(ctx context.Context, d *Definition) error {
	c, ok := e.o.Sender.(SendChecker)
	if !ok {
		return nil
	}
	p := compile(d, 0)
	addrs := slices.Sorted(maps.Keys(p.nodes))
	for _, a := range addrs {
		if s := p.nodes[a].step.Send; s != nil {
			if err := c.CheckSend(ctx, *s); err != nil {
				// A ValidationError is the definition's fault (its path
				// is within the step); any other, the store's.
				var ve *problem.ValidationError
				if errors.As(err, &ve) {
					return invalid(d.ID, a+"."+ve.Path, ve.Reason)
				}
				return err
			}
		}
	}
	return nil
}

// ErrRefused marks a send the sender refuses for good (an unknown
// template, an invalid request): retrying cannot help, so the step is
// recorded as failed, with the reason, and the journey goes on.
var ErrRefused = errors.New("send refused")

// SendRequest is one send step of one enrolment.
type SendRequest struct {
	// Key is unique per (journey, version, step, profile, enrolment).
	Key       string    `json:"key"`
	Journey   string    `json:"journey_id"`
	Version   int       `json:"version"`
	Step      string    `json:"step"`
	Profile   int64     `json:"profile_id"`
	Enrolment int64     `json:"enrolment_id"`
	Channel   string    `json:"channel"`
	Template  string    `json:"template"`
	Topic     string    `json:"topic,omitempty"`
	At        time.Time `json:"at"`
	// Data is extra template data (promo_code; store, the store an
	// in_stock case found).
	Data map[string]any `json:"data,omitempty"`
	// Event holds the properties of the event that enrolled the
	// customer (all of them, within MaxEventProperties); templates read
	// them as event, and as order when they name an order_id.
	Event map[string]any `json:"event,omitempty"`
	// Store is the store that event names (its store_id property, else
	// its point-of-sale source's store); templates read it as store.
	Store string `json:"store_id,omitempty"`
	// Survey is the survey the message invites to answer (Send.Survey).
	Survey string `json:"survey,omitempty"`
}

// sendKey builds a send's idempotency key.
func sendKey(journey string, version int, step string, profile, enrolment int64) string {
	return fmt.Sprintf("journey:%s:v%d:%s:p%d:e%d", journey, version, step, profile, enrolment)
}

// Recorder is a Sender that remembers what it was asked, once per key:
// for tests and the simulator. Fail, if set, is returned by the sends it
// selects.
type Recorder struct {
	mu   sync.Mutex
	sent []SendRequest
	keys map[string]bool
	// Calls counts every call, repeats included.
	Calls int
	Fail  func(SendRequest) error
}

// Send records r unless its key was seen.
func (r *Recorder) Send(_ context.Context, req SendRequest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Calls++
	if r.Fail != nil {
		if err := r.Fail(req); err != nil {
			return err
		}
	}
	if r.keys == nil {
		r.keys = map[string]bool{}
	}
	if !r.keys[req.Key] {
		r.keys[req.Key] = true
		r.sent = append(r.sent, req)
	}
	return nil
}

// Sent returns the distinct sends, in order.
func (r *Recorder) Sent() []SendRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]SendRequest(nil), r.sent...)
}
