package message

import (
	"context"
	"sync"

	"github.com/parcours/parcours/internal/message/provider"
)

// InboundHandler takes the texts customers send that are not a stop or
// start keyword: a survey answer ("9"), a message to customer service.
// Handlers are asked in the order they were added; the first that takes
// the text ends the round. A handler that returns an error makes the
// provider's callback fail (503), so that the provider retries: handlers
// must therefore be idempotent on Inbound.ID.
type InboundHandler interface {
	// TakeInbound reports whether the handler took the text. profiles
	// are the profiles holding the sender's address (none for an
	// unknown sender), smallest first.
	TakeInbound(ctx context.Context, in Inbound, profiles []int64) (bool, error)
}

// inboundHandlers is the pipeline's handler chain.
type inboundHandlers struct {
	mu sync.RWMutex
	hs []InboundHandler
}

// OnInbound adds h at the end of the chain of handlers of the texts that
// are not keywords.
func (p *Pipeline) OnInbound(h InboundHandler) {
	p.inbound.mu.Lock()
	defer p.inbound.mu.Unlock()
	p.inbound.hs = append(p.inbound.hs, h)
}

// handOver gives a text that is not a keyword to the chain. It reports
// whether a handler took it.
func (p *Pipeline) handOver(ctx context.Context, in Inbound) (bool, error) {
	p.inbound.mu.RLock()
	hs := p.inbound.hs
	p.inbound.mu.RUnlock()
	if len(hs) == 0 {
		return false, nil
	}
	from, ok := inboundFrom(in)
	if !ok {
		p.log.Warn("messages: text from a number with a NUL character or bytes that are not UTF-8", "channel", in.Channel)
		return false, nil
	}
	ids, err := p.profilesOf(ctx, in.Channel, from)
	if err != nil {
		return false, err
	}
	in.From = from
	for _, h := range hs {
		if took, err := h.TakeInbound(ctx, in, ids); took || err != nil {
			return took, err
		}
	}
	return false, nil
}

// ProfilesOf returns the profiles holding addr as their address on ch
// (normalised as identity resolution does), smallest first.
func (p *Pipeline) ProfilesOf(ctx context.Context, ch provider.Channel, addr string) ([]int64, error) {
	return p.profilesOf(ctx, ch, addr)
}
