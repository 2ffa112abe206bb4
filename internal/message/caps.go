package message

import (
	"context"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/store"
)

// capReached returns why a marketing message would break a frequency cap,
// "" if none. It counts the messages sent (the outbox) plus those this
// process is sending right now and has not recorded yet. Caller holds the
// profile's stripe lock, so that two workers do not both take the last
// place under a cap.
func (p *Pipeline) capReached(ctx context.Context, m *store.OutboxMessage, now time.Time) (string, error) {
	for _, c := range p.o.Policy.Caps {
		if c.Max <= 0 || (c.Channel != "" && string(c.Channel) != m.Channel) || (c.Topic != "" && c.Topic != m.Topic) {
			continue
		}
		ids, err := p.profileIDs(ctx, m.ProfileID)
		if err != nil {
			return "", err
		}
		n, err := p.st.CountSent(ctx, store.SentQuery{ProfileIDs: ids, Since: now.Add(-time.Duration(c.Per)),
			Channel: string(c.Channel), Topic: c.Topic, Marketing: true})
		if err != nil {
			return "", err
		}
		n += p.pending.count(m.ProfileID, string(c.Channel), c.Topic)
		if n >= c.Max {
			return "frequency cap reached (" + c.String() + ")", nil
		}
	}
	return "", nil
}

// pendingSends are marketing messages being sent and not recorded yet,
// by profile, that caps count as sent.
type pendingSends struct {
	mu sync.Mutex
	m  map[int64][]pendingSend
}

type pendingSend struct {
	id             int64
	channel, topic string
}

func (ps *pendingSends) add(m *store.OutboxMessage) {
	ps.mu.Lock()
	ps.m[m.ProfileID] = append(ps.m[m.ProfileID], pendingSend{m.ID, m.Channel, m.Topic})
	ps.mu.Unlock()
}

func (ps *pendingSends) remove(profile, id int64) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	list := ps.m[profile]
	for i, s := range list {
		if s.id == id {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(ps.m, profile)
	} else {
		ps.m[profile] = list
	}
}

func (ps *pendingSends) count(profile int64, channel, topic string) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	n := 0
	for _, s := range ps.m[profile] {
		if (channel == "" || s.channel == channel) && (topic == "" || s.topic == topic) {
			n++
		}
	}
	return n
}
