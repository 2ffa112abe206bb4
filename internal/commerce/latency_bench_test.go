package commerce_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// BenchmarkEventLatency measures how long a commerce event takes to reach
// the event log through the outbox, as `parcours serve` runs it: the
// embedded store, the group committer, and the relay woken by each commit
// (polling every second as a fallback). Each iteration places an order and
// confirms it, one at a time; for both changes it times from the call (and
// from its acknowledgement: the change committed) until the event can be
// read from the log. It reports p50 and p99 of both.
func BenchmarkEventLatency(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlite.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	notifier := eventlog.NewNotifier()
	c := collect.NewCommitter(st, collect.CommitterOptions{Logger: log, OnCommit: notifier.Publish})
	go c.Run()
	defer c.Close()
	svc := commerce.New(st, commerce.Options{Clock: clock.System{}, Sink: c, Logger: log})
	if err := svc.UpsertLocations(ctx, []*commerce.Location{{ID: "lyon", Name: "Lyon", Lat: 45.76, Lon: 4.83, TimeZone: "Europe/Paris",
		Capabilities: []string{commerce.CapClickCollect}}}); err != nil {
		b.Fatal(err)
	}
	if err := svc.UpsertProducts(ctx, []*commerce.Product{{ID: "shoe", Name: "Shoe", Variants: []commerce.Variant{{SKU: "SHOE-42", Price: 10, Currency: "EUR"}}}}); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.SetStock(ctx, []commerce.StockLevel{{SKU: "SHOE-42", Location: "lyon", OnHand: int64(b.N) + 1000}}); err != nil {
		b.Fatal(err)
	}
	go svc.RunRelay(ctx, time.Second)

	var last int64
	waitLogged := func(id string) time.Time {
		for {
			evs, err := st.ReadAfter(ctx, last, 1000)
			if err != nil {
				b.Fatal(err)
			}
			for _, e := range evs {
				last = e.Seq
				if e.MessageID == id {
					return time.Now()
				}
			}
			notifier.Wait(ctx, last, 100*time.Millisecond)
		}
	}
	var fromCall, fromAck []time.Duration
	measure := func(id string, change func() error) {
		start := time.Now()
		if err := change(); err != nil {
			b.Fatal(err)
		}
		acked := time.Now()
		logged := waitLogged(id)
		fromCall = append(fromCall, logged.Sub(start))
		fromAck = append(fromAck, logged.Sub(acked))
	}
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("o%06d", i)
		measure("commerce-order-"+id+"-placed", func() error {
			_, err := svc.PlaceOrder(ctx, &commerce.Order{ID: id, Channel: "web", Fulfilment: commerce.ClickCollect, Location: "lyon", Currency: "EUR",
				Customer: commerce.Customer{UserID: "u" + id}, Lines: []commerce.Line{{SKU: "SHOE-42", Quantity: 1, Price: 10}}})
			return err
		})
		measure("commerce-order-"+id+"-confirmed", func() error {
			_, err := svc.Transition(ctx, id, commerce.Confirmed, "")
			return err
		})
	}
	b.StopTimer()
	pct := func(ds []time.Duration, p float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[min(len(s)-1, int(float64(len(s))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(fromCall, 0.50), "call→log-p50-ms")
	b.ReportMetric(pct(fromCall, 0.99), "call→log-p99-ms")
	b.ReportMetric(pct(fromAck, 0.50), "ack→log-p50-ms")
	b.ReportMetric(pct(fromAck, 0.99), "ack→log-p99-ms")
}
