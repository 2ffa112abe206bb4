package collect

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/store"
)

// blockingFinder knows one source and holds every other lookup until
// release is closed.
type blockingFinder struct {
	src     *source.Source
	release chan struct{}
	started chan struct{}
}

func (f *blockingFinder) SourceByWriteKey(_ context.Context, key string) (*source.Source, error) {
	if key == f.src.WriteKey {
		return f.src, nil
	}
	f.started <- struct{}{}
	<-f.release
	return nil, store.ErrNotFound
}

// TestKeyLookupsAreBounded: keys are checked before a request takes a slot,
// so a flood of random keys must not reach the store unbounded — and must
// not lock out a client whose key was known.
func TestKeyLookupsAreBounded(t *testing.T) {
	src, _ := source.New("Web", "web", "", time.Now())
	f := &blockingFinder{src: src, release: make(chan struct{}), started: make(chan struct{}, maxLookups)}
	clk := clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	k := NewKeys(f, clk, 5*time.Second)
	if _, err := k.Source(context.Background(), src.WriteKey); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range maxLookups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := k.Source(context.Background(), "wk_random"+string(rune('a'+i))); !errors.Is(err, ErrUnknownWriteKey) {
				t.Errorf("lookup %d: %v", i, err)
			}
		}()
	}
	for range maxLookups {
		<-f.started
	}
	if _, err := k.Source(context.Background(), "wk_one_more"); !errors.Is(err, ErrLookupsBusy) {
		t.Fatalf("a lookup beyond the bound: %v, want ErrLookupsBusy", err)
	}
	clk.Advance(time.Minute) // the known key's entry has expired
	if got, err := k.Source(context.Background(), src.WriteKey); err != nil || got.ID != src.ID {
		t.Fatalf("known key while lookups are busy: %v, %v; want its last answer", got, err)
	}
	close(f.release)
	wg.Wait()
}

// failingFinder knows one source until the store goes away.
type failingFinder struct {
	src  *source.Source
	down bool
}

func (f *failingFinder) SourceByWriteKey(_ context.Context, key string) (*source.Source, error) {
	switch {
	case f.down:
		return nil, errors.New("connection refused")
	case key == f.src.WriteKey:
		return f.src, nil
	}
	return nil, store.ErrNotFound
}

// TestKnownKeyOutlivesAStoreOutage: while the store cannot answer, a key
// looked up before keeps its last answer past its TTL; an unknown key is
// an error (not "unknown": the store could not say).
func TestKnownKeyOutlivesAStoreOutage(t *testing.T) {
	src, _ := source.New("Web", "web", "", time.Now())
	f := &failingFinder{src: src}
	clk := clock.NewFake(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	k := NewKeys(f, clk, 5*time.Second)
	if _, err := k.Source(context.Background(), src.WriteKey); err != nil {
		t.Fatal(err)
	}
	f.down = true
	clk.Advance(time.Minute)
	if got, err := k.Source(context.Background(), src.WriteKey); err != nil || got.ID != src.ID {
		t.Fatalf("known key while the store is down: %v, %v; want its last answer", got, err)
	}
	if _, err := k.Source(context.Background(), "wk_never_seen"); err == nil || errors.Is(err, ErrUnknownWriteKey) {
		t.Fatalf("unknown key while the store is down: %v; want the lookup's error", err)
	}
}
