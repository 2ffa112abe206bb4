package recommend

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// onlyReader hides the store's fast read: what the stage's LearnBatch sees.
type onlyReader struct{ r eventlog.Reader }

func (o onlyReader) ReadAfter(ctx context.Context, after int64, limit int) ([]*event.Event, error) {
	return o.r.ReadAfter(ctx, after, limit)
}

// TestCatchUpLearnsWhatTheStageLearns stores a random log (views, cart
// adds, orders in stores, returns, events the model does not read, an
// escaped name, a saved definition) in the embedded store and learns it
// both ways: the fast catch-up (the store skips unread events, a scanner
// decodes a few fields, batches decoded in parallel) must give the same
// model as every event read and decoded in full.
func TestCatchUpLearnsWhatTheStageLearns(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var es []*event.Event
	product := func() map[string]any {
		k := rnd.IntN(40)
		return map[string]any{"product_id": fmt.Sprint("p", k), "sku": fmt.Sprint("SKU-", k), "name": fmt.Sprintf("Prod \"%d\" é", k),
			"category": fmt.Sprint("cat", k%5), "price": 10 + float64(k), "quantity": 1 + rnd.IntN(2)}
	}
	for n := range 25_000 {
		at := t0.Add(time.Duration(n) * 37 * time.Second)
		user := fmt.Sprint("u", rnd.IntN(300))
		e := &event.Event{MessageID: fmt.Sprint("m", n), Type: event.Track, UserID: user, Timestamp: at, ReceivedAt: at,
			SourceID: "web", Channel: "web", Context: json.RawMessage(`{"page":{"url":"https://x/?a=[1]&b={2}"},"userAgent":"Moz \"q\""}`)}
		var props any
		switch r := rnd.IntN(10); {
		case r < 5:
			e.Event, props = EventProductViewed, product()
		case r < 6:
			e.Event, props = EventProductAdded, product()
		case r < 8:
			e.Event = EventOrderCompleted
			e.StoreID, e.SourceID, e.Channel = fmt.Sprint("s", rnd.IntN(4)), "pos", "pos"
			props = map[string]any{"order_id": n, "products": []any{product(), product(), product()}}
		case r < 9:
			e.Event, props = EventProductReturn, product()
			e.StoreID = "s1"
		default:
			e.Event, props = "Page Scrolled", map[string]any{"depth": 3}
		}
		if n%7 == 0 {
			e.UserID, e.AnonymousID = "", fmt.Sprint("anon-", rnd.IntN(50))
		}
		e.Properties, _ = json.Marshal(props)
		es = append(es, e)
	}
	saved := SavedEvent(Definition{Name: "shoes_for_you", Strategy: StrategyPersonalised}, t0)
	saved.MessageID = "saved-1"
	es = append(es, saved)
	for k := 0; k < len(es); k += 5000 {
		if err := st.Append(ctx, es[k:min(len(es), k+5000)], nil); err != nil {
			t.Fatal(err)
		}
	}

	fast := NewModel(Options{})
	n, err := fast.CatchUp(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	slow := NewModel(Options{})
	if _, err := slow.CatchUp(ctx, onlyReader{st}, nil); err != nil {
		t.Fatal(err)
	}
	if n >= int64(len(es)) || n == 0 {
		t.Fatalf("the fast catch-up read %d of %d events: the store should skip those the model does not read", n, len(es))
	}
	fs, ss := fast.Stats(), slow.Stats()
	fs.LastSeq, ss.LastSeq = 0, 0 // the fast read stops at the last event it reads
	if fs != ss {
		t.Fatalf("stats differ: fast %+v, slow %+v", fs, ss)
	}
	if !reflect.DeepEqual(fast.items, slow.items) || !reflect.DeepEqual(fast.occ, slow.occ) || !reflect.DeepEqual(fast.nbrs, slow.nbrs) ||
		!reflect.DeepEqual(fast.bought, slow.bought) || !reflect.DeepEqual(fast.byStore, slow.byStore) || !reflect.DeepEqual(fast.catPair, slow.catPair) {
		t.Fatal("the fast catch-up learned another model than the stage's LearnBatch")
	}
	if _, ok := fast.defs["shoes_for_you"]; !ok {
		t.Fatalf("the saved definition was not learned by the fast catch-up: %v", fast.defs)
	}
	if fast.items[0].Name == "" || fast.items[0].Name[:5] != "Prod " {
		t.Fatalf("escaped name read as %q", fast.items[0].Name)
	}
}

// TestScanSlimMatchesEncodingJSON: the scanner reads what encoding/json
// reads of the fields it knows.
func TestScanSlimMatchesEncodingJSON(t *testing.T) {
	bodies := []string{
		`{"seq":1,"messageId":"m","type":"track","event":"Product Viewed","userId":"u\"1","properties":{"product_id":"p1","price":3.5},"context":{"a":[{"b":"}"}]},"timestamp":"2026-03-01T08:00:00.123Z","channel":"web","storeId":null}`,
		` { "type" : "track" , "event":"Order Completed","anonymousId":"a","properties":{"products":[{"sku":"S","quantity":2}],"store_id":"s1"},"timestamp":"2026-03-01T08:00:00Z"} `,
	}
	for _, b := range bodies {
		var want, got slim
		if err := json.Unmarshal([]byte(b), &want); err != nil {
			t.Fatal(err)
		}
		if err := scanSlim([]byte(b), &got); err != nil {
			t.Fatalf("scan %s: %v", b, err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("scan %s:\n got %+v\nwant %+v", b, got, want)
		}
	}
	for _, bad := range []string{`[1]`, `{"type":`, `{"event":"x"`, `{"properties":{"a":"}`} {
		var s slim
		if scanSlim([]byte(bad), &s) == nil {
			t.Fatalf("scan %s: no error", bad)
		}
	}
}
