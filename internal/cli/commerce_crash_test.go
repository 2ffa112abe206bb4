package cli

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/commerce"
)

// TestCrashLosesNoCommerceEvent kills the server with SIGKILL during a
// burst of order transitions, restarts it, and checks that every change
// committed (every step in an order's stored history, acknowledged or not)
// has exactly one event in the log, and that no event is there without its
// change: the outbox commits with the change, and the relay re-sends what
// the crash left, which the log's dedup makes harmless.
func TestCrashLosesNoCommerceEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	for _, e := range crashEngines() {
		t.Run(e.name, func(t *testing.T) { crashCommerceEvents(t, e.prepare(t)) })
	}
}

func crashCommerceEvents(t *testing.T, e engine) {
	ctx := context.Background()
	dir := t.TempDir()
	st := e.open(t, dir)
	if err := st.UpsertLocations(ctx, []*commerce.Location{{ID: "lyon", Name: "Lyon", Lat: 45.76, Lon: 4.83, TimeZone: "Europe/Paris",
		Capabilities: []string{commerce.CapClickCollect}, UpdatedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := (commerce.Writes{Store: st}).SetStock(ctx, []commerce.StockLevel{{SKU: "SHOE-42", Location: "lyon", OnHand: 1_000_000}}, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	st.Close()

	n := startNode(t, dir, e)
	key := adminKey(t, dir)
	post := func(path, body string) (int, error) {
		req, _ := http.NewRequest("POST", n.url+"/api/v1"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var mu sync.Mutex
	acked := map[string]bool{}
	ack := func(id string) { mu.Lock(); acked[id] = true; mu.Unlock() }
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%d-%04d", w, i)
				code, err := post("/orders", `{"id":"`+id+`","channel":"web","fulfilment":"click_collect","location_id":"lyon","currency":"EUR",
					"customer":{"user_id":"u-`+id+`"},"lines":[{"sku":"SHOE-42","quantity":1,"price":10}]}`)
				if err != nil {
					return // the server is gone
				}
				if code != http.StatusCreated {
					t.Errorf("order %s: %d", id, code)
					return
				}
				ack("commerce-order-" + id + "-placed")
				for _, to := range []string{"confirmed", "picking", "ready_for_pickup", "collected"} {
					code, err := post("/orders/"+id+"/transitions", `{"to":"`+to+`"}`)
					if err != nil {
						return
					}
					if code != http.StatusOK {
						t.Errorf("order %s → %s: %d", id, to, code)
						return
					}
					ack("commerce-order-" + id + "-" + to)
				}
			}
		})
	}
	for {
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 600 {
			break
		}
	}
	n.kill()
	wg.Wait()

	// Restarted, the relay delivers what the crash left in the outbox.
	n = startNode(t, dir, e)
	ro := e.open(t, dir)
	left := -1
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		es, err := ro.Outbox(ctx, 100000)
		if err != nil {
			t.Fatal(err)
		}
		if left < 0 {
			left = len(es)
		}
		if len(es) == 0 {
			break
		}
	}
	ro.Close()
	n.stop()

	st = e.open(t, dir)
	defer st.Close()
	if es, _ := st.Outbox(ctx, 10); len(es) != 0 {
		t.Fatalf("the outbox still holds %d+ events after the restart", len(es))
	}
	logged := map[string]int{}
	events, err := st.ReadAfter(ctx, 0, 10_000_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.SourceID == commerce.SourceID && strings.HasPrefix(e.MessageID, "commerce-order-") {
			logged[e.MessageID]++
		}
	}
	committed := map[string]bool{}
	for before := ""; ; {
		page, err := st.ListOrders(ctx, commerce.OrderQuery{Before: before, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page {
			for _, s := range o.History {
				committed["commerce-order-"+o.ID+"-"+string(s.Status)] = true
				// The spec's events that go with a status (OrderEvents).
				switch s.Status {
				case commerce.Placed:
					committed["commerce-order-"+o.ID+"-completed"] = true
				case commerce.Restocked:
					committed["commerce-order-"+o.ID+"-cancelled"] = true
				}
			}
		}
		if len(page) < 1000 {
			break
		}
		before = page[len(page)-1].ID
	}
	for id := range acked {
		if !committed[id] {
			t.Fatalf("acknowledged change %s is not in the store", id)
		}
	}
	for id := range committed {
		if logged[id] != 1 {
			t.Fatalf("committed change %s has %d events in the log, want 1", id, logged[id])
		}
	}
	for id := range logged {
		if !committed[id] {
			t.Fatalf("event %s is in the log but its change is not in the store", id)
		}
	}
	t.Logf("%d changes acknowledged before SIGKILL, %d committed, %d events still in the outbox when the restarted server was first looked at, all %d logged once",
		len(acked), len(committed), left, len(logged))
}
