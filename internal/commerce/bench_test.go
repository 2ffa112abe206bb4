package commerce_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// BenchmarkServiceReserve is BenchmarkReserveHot (internal/store/sqlite)
// through the service, as the API runs it: each reservation also writes
// its Product Reserved event (and Low Stock when it crosses the threshold)
// to the outbox in its transaction, and the relay moves them through a
// group committer into the log on the same embedded store. It reports
// reservations/s, and how long the outbox took to drain after the last
// reservation (drain-ms).
func BenchmarkServiceReserve(b *testing.B) {
	for _, clients := range []int{16, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { serviceReserve(b, clients) })
	}
}

func serviceReserve(b *testing.B, clients int) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := collect.NewCommitter(st, collect.CommitterOptions{Logger: log})
	go c.Run()
	defer c.Close()
	svc := commerce.New(st, commerce.Options{Clock: clock.System{}, Sink: c, Logger: log})
	rctx, stopRelay := context.WithCancel(ctx)
	defer stopRelay()
	go svc.RunRelay(rctx, time.Second)
	const hot = 4
	stock := int64(b.N*9/10/hot) + 1
	var levels []commerce.StockLevel
	for i := range hot {
		levels = append(levels, commerce.StockLevel{SKU: fmt.Sprintf("HOT-%d", i), Location: "lyon", OnHand: stock})
	}
	p := &commerce.Product{ID: "hot", Name: "Hot"}
	for _, l := range levels {
		p.Variants = append(p.Variants, commerce.Variant{SKU: l.SKU, Price: 10, Currency: "EUR"})
	}
	if err := svc.UpsertProducts(ctx, []*commerce.Product{p}); err != nil {
		b.Fatal(err)
	}
	if err := svc.UpsertLocations(ctx, []*commerce.Location{{ID: "lyon", Name: "Lyon", Lat: 45.76, Lon: 4.83, TimeZone: "Europe/Paris"}}); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.SetStock(ctx, levels); err != nil {
		b.Fatal(err)
	}
	var ok, seq atomic.Int64
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			_, err := svc.Reserve(ctx, commerce.ReserveRequest{SKU: fmt.Sprintf("HOT-%d", n%hot), Location: "lyon", Quantity: 1,
				Customer: commerce.Customer{UserID: fmt.Sprint("u", n)}})
			var ie *commerce.InsufficientStockError
			if err == nil {
				ok.Add(1)
			} else if !errors.As(err, &ie) {
				b.Fatal(err)
			}
		}
	})
	b.StopTimer()
	drainStart := time.Now()
	for {
		es, err := st.Outbox(ctx, 1)
		if err != nil {
			b.Fatal(err)
		}
		if len(es) == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(time.Since(drainStart).Microseconds())/1000, "drain-ms")
	var reserved int64
	for i := range hot {
		rows, _ := st.StockOf(ctx, fmt.Sprintf("HOT-%d", i))
		if rows[0].Available() < 0 {
			b.Fatalf("oversold: %+v", rows[0])
		}
		reserved += rows[0].Reserved
	}
	if reserved != ok.Load() {
		b.Fatalf("%d reservations succeeded, %d units reserved", ok.Load(), reserved)
	}
	b.ReportMetric(float64(ok.Load())/b.Elapsed().Seconds(), "reservations/s")
	b.ReportMetric(0, "ns/op")
}
