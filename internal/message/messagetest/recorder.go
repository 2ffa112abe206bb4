// Package messagetest has a recording provider for tests of the message
// pipeline and of what is built on it.
package messagetest

import (
	"context"
	"fmt"
	"sync"

	"github.com/parcours/parcours/internal/message/provider"
)

// Recorder is a provider that keeps what it is sent. Fail, when set,
// decides the outcome of each send (attempt counts from 1 per key).
type Recorder struct {
	ProviderName string
	Ch           provider.Channel
	Fail         func(m *provider.Message, attempt int) error

	mu    sync.Mutex
	sent  []*provider.Message
	tries map[string]int
}

// NewRecorder returns a recorder for ch.
func NewRecorder(name string, ch provider.Channel) *Recorder {
	return &Recorder{ProviderName: name, Ch: ch, tries: map[string]int{}}
}

// Name returns the provider's name.
func (r *Recorder) Name() string { return r.ProviderName }

// Channel returns the channel.
func (r *Recorder) Channel() provider.Channel { return r.Ch }

// Close does nothing.
func (r *Recorder) Close() error { return nil }

// Send records m, or returns Fail's error.
func (r *Recorder) Send(ctx context.Context, m *provider.Message) (provider.Result, error) {
	r.mu.Lock()
	r.tries[m.Key]++
	n := r.tries[m.Key]
	fail := r.Fail
	r.mu.Unlock()
	if fail != nil {
		if err := fail(m, n); err != nil {
			return provider.Result{}, err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, m)
	return provider.Result{ProviderID: fmt.Sprintf("%s-%d", r.ProviderName, len(r.sent))}, nil
}

// Sent returns the messages accepted so far.
func (r *Recorder) Sent() []*provider.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*provider.Message(nil), r.sent...)
}

// Tries returns how many times a key was attempted.
func (r *Recorder) Tries(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tries[key]
}
