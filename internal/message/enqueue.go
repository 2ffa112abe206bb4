package message

import (
	"context"
	"sync"

	"github.com/parcours/parcours/internal/store"
)

// groupEnqueue commits concurrent Sends together: the first caller to find
// no commit running becomes the leader and commits everything pending, in
// rounds, while the others wait for their round. One durable commit then
// serves many API calls, which is what an fsync per message would not.
type groupEnqueue struct {
	mu      sync.Mutex
	pending []*enqueueReq
	busy    bool
}

type enqueueReq struct {
	m    *store.OutboxMessage
	done chan error
}

func (p *Pipeline) enqueue(ctx context.Context, m *store.OutboxMessage) error {
	g := &p.group
	r := &enqueueReq{m: m, done: make(chan error, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, r)
	if g.busy {
		g.mu.Unlock()
		return <-r.done
	}
	g.busy = true
	for len(g.pending) > 0 {
		batch := g.pending
		g.pending = nil
		g.mu.Unlock()
		ms := make([]*store.OutboxMessage, len(batch))
		for i, b := range batch {
			ms[i] = b.m
		}
		// Not cancelled by this caller's context: the others wait on it.
		_, err := p.st.EnqueueMessages(context.WithoutCancel(ctx), ms)
		for _, b := range batch {
			b.done <- err
		}
		g.mu.Lock()
	}
	g.busy = false
	g.mu.Unlock()
	return <-r.done
}
