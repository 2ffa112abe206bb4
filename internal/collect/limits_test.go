package collect_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlite"
)

func sqliteStore(t *testing.T) store.Store {
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

const oneTrack = `{"userId":"u","event":"Product Viewed","messageId":"%s"}`

// TestSlowBodiesWithoutKeyDoNotStarveKeyedClients: 520 connections sending
// a byte a second without an Authorization header used to take every slot
// and answer every real client 503 for a minute.
func TestSlowBodiesWithoutKeyDoNotStarveKeyedClients(t *testing.T) {
	r := newRig(t, sqliteStore(t), collect.HandlerOptions{MaxInFlight: 4, MaxUnkeyed: 4, MaxUnkeyedPerClient: 100,
		UnkeyedBodyTimeout: time.Minute})
	var slow []net.Conn
	for range 12 {
		slow = append(slow, r.stalled("/v1/batch", nil, 1000, `{"batch":[`))
	}
	defer func() {
		for _, c := range slow {
			c.Close()
		}
	}()
	waitFor(t, "the unkeyed pool to fill", func() bool { return r.h.Saturation().Unkeyed == 4 })
	// The stalled requests beyond the unkeyed pool were refused at once;
	// the four in it are still waiting for their bodies.
	var mu sync.Mutex
	var wg sync.WaitGroup
	refused := 0
	for _, c := range slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return // still reading its body
			}
			resp.Body.Close()
			mu.Lock()
			if resp.StatusCode == 503 {
				refused++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if refused != 8 {
		t.Fatalf("%d of the 8 unkeyed requests beyond the pool refused with 503", refused)
	}
	for i := range 10 {
		if code, _, body := r.post("/v1/track", fmt.Sprintf(oneTrack, fmt.Sprint("k-", i))); code != 200 {
			t.Fatalf("keyed client %d: %d %v; want it served while unkeyed bodies crawl", i, code, body)
		}
	}
	if s := r.h.Saturation(); s.Saturated {
		t.Fatalf("saturation %+v: a full unkeyed pool must not make the server unready", s)
	}
}

func TestUnkeyedRequestsPerClientAreCapped(t *testing.T) {
	r := newRig(t, sqliteStore(t), collect.HandlerOptions{MaxUnkeyed: 10, MaxUnkeyedPerClient: 2, UnkeyedBodyTimeout: time.Minute})
	a := r.stalled("/v1/track", nil, 100, `{`)
	defer a.Close()
	b := r.stalled("/v1/track", nil, 100, `{`)
	defer b.Close()
	waitFor(t, "two unkeyed requests", func() bool { return r.h.Saturation().Unkeyed == 2 })
	c := r.stalled("/v1/track", nil, 100, `{`)
	defer c.Close()
	if code, body := response(t, c); code != 503 || errorCode(body) != "overloaded" || !strings.Contains(errorMessage(body), "from your address") {
		t.Fatalf("third unkeyed request from one address: %d %v", code, body)
	}
	// A body writeKey still works for a client under its cap.
	a.Close()
	waitFor(t, "the slot to come back", func() bool { return r.h.Saturation().Unkeyed == 1 })
	d := r.stalled("/v1/track", nil, len(fmt.Sprintf(`{"writeKey":%q,"userId":"u","event":"X"}`, r.src.WriteKey)),
		fmt.Sprintf(`{"writeKey":%q,"userId":"u","event":"X"}`, r.src.WriteKey))
	defer d.Close()
	if code, body := response(t, d); code != 200 {
		t.Fatalf("body writeKey: %d %v", code, body)
	}
}

// TestSlowBodiesAreCut: a body must arrive within its deadline; the slot
// is then free for the next client.
func TestSlowBodiesAreCut(t *testing.T) {
	r := newRig(t, sqliteStore(t), collect.HandlerOptions{MaxInFlight: 1, BodyTimeout: 100 * time.Millisecond,
		UnkeyedBodyTimeout: 100 * time.Millisecond})
	for _, hdr := range []map[string]string{{"Authorization": r.auth()}, nil} {
		conn := r.stalled("/v1/track", hdr, 100, `{"userId":`)
		start := time.Now()
		code, body := response(t, conn)
		conn.Close()
		if code != 408 || errorCode(body) != "body_timeout" || time.Since(start) > 5*time.Second {
			t.Fatalf("stalled body (header %v): %d %v after %v; want 408 at the deadline", hdr, code, body, time.Since(start))
		}
	}
	if code, _, body := r.post("/v1/track", fmt.Sprintf(oneTrack, "after")); code != 200 {
		t.Fatalf("after a cut body: %d %v", code, body)
	}
}

func TestConnectionsPerClientAreCapped(t *testing.T) {
	var mu sync.Mutex
	refused := 0
	r := newRig(t, sqliteStore(t), collect.HandlerOptions{}, func(l net.Listener) net.Listener {
		return collect.LimitConnsPerClient(l, 3, func() { mu.Lock(); refused++; mu.Unlock() })
	})
	var held []net.Conn
	for range 3 {
		held = append(held, r.stalled("/v1/track", map[string]string{"Authorization": r.auth()}, 100, ""))
	}
	extra, err := net.Dial("tcp", r.server.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if code, body := response(t, extra); code != 503 || errorCode(body) != "too_many_connections" {
		t.Fatalf("fourth connection: %d %v", code, body)
	}
	mu.Lock()
	if refused != 1 {
		t.Fatalf("refused counted %d times", refused)
	}
	mu.Unlock()
	for _, c := range held {
		c.Close()
	}
	// Closed connections give their places back.
	waitFor(t, "a connection to be accepted again", func() bool {
		code, _, _ := r.postMaybe("/v1/track", fmt.Sprintf(oneTrack, "again"))
		return code == 200
	})
}

func TestBatchEventsAreCapped(t *testing.T) {
	r := newRig(t, sqliteStore(t), collect.HandlerOptions{MaxBatchEvents: 10})
	batch := func(n int) string {
		var events []string
		for i := range n {
			events = append(events, fmt.Sprintf(`{"type":"track","userId":"u","event":"E","messageId":"%d-%d"}`, n, i))
		}
		return `{"batch":[` + strings.Join(events, ",") + `]}`
	}
	code, _, body := r.post("/v1/batch", batch(11))
	if code != 400 || errorCode(body) != collect.CodeTooManyEvents || !strings.Contains(errorMessage(body), "11 events; the limit is 10") {
		t.Fatalf("11 events: %d %v", code, body)
	}
	if code, _, body := r.post("/v1/batch", batch(10)); code != 200 || body["stored"] != 10.0 {
		t.Fatalf("10 events: %d %v", code, body)
	}
}

// TestMemoryIsCountedByDecodedSize: 50,000 tiny events are a small body but
// a large decoded request; with another request in flight, it must not fit
// a budget its body alone fits.
func TestMemoryIsCountedByDecodedSize(t *testing.T) {
	r := newRig(t, sqliteStore(t), collect.HandlerOptions{MaxMemory: 20 << 20, MaxBody: 32 << 20, MaxBatchEvents: 100_000, BodyTimeout: time.Minute})
	var events []string
	for i := range 50_000 {
		events = append(events, fmt.Sprintf(`{"type":"track","userId":"u","event":"E","messageId":"%d"}`, i))
	}
	body := `{"batch":[` + strings.Join(events, ",") + `]}`
	if len(body) > 5<<20 {
		t.Fatalf("body of %d bytes: the test wants it well under the budget", len(body))
	}
	other := r.stalled("/v1/track", map[string]string{"Authorization": r.auth()}, 4096, "{")
	defer other.Close()
	waitFor(t, "the other request", func() bool { return r.h.Saturation().MemoryBytes > 0 })
	code, retry, resp := r.post("/v1/batch", body)
	if code != 503 || retry != "1" || !strings.Contains(errorMessage(resp), "too much data in flight") {
		t.Fatalf("50,000 events with another request in flight: %d %q %v", code, retry, resp)
	}
	// A body over the budget is refused before it is read.
	big := r.stalled("/v1/batch", map[string]string{"Authorization": r.auth()}, 21<<20, "{")
	defer big.Close()
	if code, resp := response(t, big); code != 503 || !strings.Contains(errorMessage(resp), "too much data in flight") {
		t.Fatalf("a 21 MB body with another request in flight: %d %v", code, resp)
	}
}
