package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/crashtest"
	"github.com/parcours/parcours/internal/store"
)

// TestCrashDuringReservations kills `serve` with SIGKILL while 8 clients
// reserve the last 300 pairs of a shoe in a store, one pair each, 500
// customers for 300 pairs, on each engine. A client that got no answer
// asks again after the restart with the same Idempotency-Key, as a shop's
// checkout would. The history checker then holds the store to what the
// clients were told: an acknowledged reservation exists exactly once, a
// refused one (out of stock) not at all, one without an answer at most
// once; and nothing is oversold: the active reservations never exceed the
// stock on hand, and the stock row's reserved count is their sum.
func TestCrashDuringReservations(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	for _, e := range crashEngines() {
		t.Run(e.name, func(t *testing.T) { crashReservations(t, e.prepare(t)) })
	}
}

func crashReservations(t *testing.T, e engine) {
	const onHand, customers = 300, 500
	ctx := context.Background()
	dir := t.TempDir()
	st := e.open(t, dir)
	// Through the service, as an import would: the SKU and the store
	// exist in the catalog (commerce refuses stock of unknown ones).
	svc := commerce.New(st, commerce.Options{})
	if err := svc.UpsertProducts(ctx, []*commerce.Product{{ID: "shoe", Name: "Shoe",
		Variants: []commerce.Variant{{SKU: "SHOE-42", Price: 90, Currency: "EUR"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.UpsertLocations(ctx, []*commerce.Location{{ID: "lyon", Name: "Lyon", Lat: 45.76, Lon: 4.83, TimeZone: "Europe/Paris",
		Capabilities: []string{commerce.CapClickCollect}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetStock(ctx, []commerce.StockLevel{{SKU: "SHOE-42", Location: "lyon", OnHand: onHand}}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	n := startNode(t, dir, e)
	admin := adminKey(t, dir)
	reserve := func(url, key string) (crashtest.Outcome, string) {
		body := `{"sku":"SHOE-42","location_id":"lyon","quantity":1,"ttl":"2h","customer":{"user_id":"` + key + `"}}`
		req, _ := http.NewRequest("POST", url+"/api/v1/reservations", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return crashtest.Unknown, ""
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var r commerce.Reservation
		switch {
		case resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK:
			if err := json.Unmarshal(b, &r); err != nil {
				t.Errorf("reserve %s: %v", key, err)
			}
			return crashtest.Acked, r.ID
		case resp.StatusCode == http.StatusConflict && strings.Contains(string(b), "insufficient_stock"):
			return crashtest.Refused, ""
		case resp.StatusCode < 500:
			t.Errorf("reserve %s: %d %s", key, resp.StatusCode, b)
			return crashtest.Refused, ""
		}
		return crashtest.Unknown, ""
	}
	// The same key twice must give the same reservation (issue 14.6);
	// without it the rest of the test would only find the double.
	_, first := reserve(n.url, "probe")
	_, second := reserve(n.url, "probe")
	if first == "" || first != second {
		t.Fatalf("POST /api/v1/reservations does not honour Idempotency-Key: the same key gave reservations %q and %q", first, second)
	}
	h := crashtest.New()
	h.Record("probe", crashtest.Acked)

	var mu sync.Mutex
	pending := make([]string, customers)
	for i := range pending {
		pending[i] = fmt.Sprintf("c-%03d", i)
	}
	clients := func(url string) *sync.WaitGroup {
		mu.Lock()
		next := make(chan string, len(pending))
		for _, k := range pending {
			next <- k
		}
		pending = nil
		mu.Unlock()
		close(next)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for k := range next {
					o, _ := reserve(url, k)
					h.Record(k, o)
					if o == crashtest.Unknown {
						mu.Lock()
						pending = append(pending, k)
						for k := range next { // the server is gone
							pending = append(pending, k)
						}
						mu.Unlock()
						return
					}
				}
			})
		}
		return &wg
	}
	wg := clients(n.url)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		if acked, _, _ := h.Counts(); acked >= 150 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than 150 reservations acknowledged in 30 s; server said: %s", n.log())
		}
	}
	n.kill()
	wg.Wait()
	acked, unknown, refused := h.Counts()
	t.Logf("at SIGKILL: %d acknowledged, %d without an answer, %d refused", acked, unknown, refused)

	n = startNode(t, dir, e)
	clients(n.url).Wait()
	n.stop()
	if len(pending) != 0 {
		t.Fatalf("%d customers still without an answer after the restart", len(pending))
	}

	st = e.open(t, dir)
	defer st.Close()
	checkReservations(t, st, h, onHand)
}

// checkReservations holds the store's reservations of SHOE-42 at lyon to
// the history (keyed by customer user id) and to the stock on hand.
func checkReservations(t *testing.T, st store.Store, h *crashtest.History, onHand int64) {
	t.Helper()
	ctx := context.Background()
	byKey := map[string]int{}
	var active int64
	for after := ""; ; {
		page, err := st.ListReservations(ctx, commerce.ReservationQuery{SKU: "SHOE-42", Location: "lyon", After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			byKey[r.Customer.UserID]++
			if r.Status == commerce.ReservationActive {
				active += r.Quantity
			}
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	r := h.CheckStored(byKey)
	if err := r.Err(); err != nil {
		t.Fatalf("history against the reservations: %v", err)
	}
	levels, err := st.StockOf(ctx, "SHOE-42")
	if err != nil || len(levels) != 1 {
		t.Fatalf("stock of SHOE-42: %+v, %v", levels, err)
	}
	if active > onHand || levels[0].Reserved != active || levels[0].OnHand != onHand {
		t.Fatalf("oversold or miscounted: %d reserved by active reservations, the stock row says %d reserved of %d on hand (want ≤ %d and equal)",
			active, levels[0].Reserved, levels[0].OnHand, onHand)
	}
	t.Logf("%s; %d of %d pairs reserved", r, active, onHand)
}
