package message

import (
	"context"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/store"
)

// ServiceTopic is the topic of an agent's answer to a customer who wrote
// to the brand (a conversation's reply). It is transactional: the
// customer asked, so marketing opt-outs, frequency caps and quiet hours
// do not hold the answer back. What still does: a STOP on the channel
// (the customer withdrew the channel itself), a suppressed address (a
// hard bounce, a complaint), and, on WhatsApp, the 24-hour customer
// service window (the conversation package refuses free text outside
// it). Every policy has it, with this description unless the policy
// file gives its own.
const ServiceTopic = "customer_service"

var serviceTopic = Topic{Transactional: true, Description: "answers to customers who wrote to the brand (conversations)"}

// SendService sends r on ServiceTopic to the address to (the number or
// email the customer wrote from; empty: the profile's) with extra email
// headers (a conversation's Reply-To), once per r's send key.
func (p *Pipeline) SendService(ctx context.Context, r Request, to string, headers map[string]string) (*store.OutboxMessage, error) {
	r.Topic, r.to, r.headers = ServiceTopic, to, headers
	return p.Send(ctx, r)
}

// DeliveryObserver hears what becomes of the messages the pipeline sends:
// their state as it is announced (sent, failed, skipped, deferred) and
// the providers' receipts (delivered, bounced, read, ...). It must be
// quick and idempotent (a state may be heard twice); its error is logged,
// never holds the message back.
type DeliveryObserver func(ctx context.Context, m *store.OutboxMessage, status string, at time.Time) error

type deliveryObservers struct {
	mu sync.RWMutex
	fs []DeliveryObserver
}

// OnDelivery adds an observer of the messages' fate (a conversation
// following its replies).
func (p *Pipeline) OnDelivery(f DeliveryObserver) {
	p.watch.mu.Lock()
	defer p.watch.mu.Unlock()
	p.watch.fs = append(p.watch.fs, f)
}

func (p *Pipeline) observe(ctx context.Context, m *store.OutboxMessage, status string, at time.Time) {
	p.watch.mu.RLock()
	fs := p.watch.fs
	p.watch.mu.RUnlock()
	for _, f := range fs {
		if err := f(ctx, m, status, at); err != nil {
			p.log.Warn("messages: a delivery observer failed", "message", m.ID, "status", status, "err", err)
		}
	}
}
