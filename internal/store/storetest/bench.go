package storetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store"
)

// BenchOpener returns a fresh, migrated, empty store for a benchmark,
// closed when b ends.
type BenchOpener func(b *testing.B) store.Store

// ReserveHot is the reservations benchmark every engine runs (its
// BenchmarkReserveHot calls it): one-unit reservations from 16 or 64
// concurrent clients (goroutines) at 4 hot SKUs of one store, with stock
// for 90% of them, so that every reservation contends for the same few
// rows and the last ones find the shelves empty. Each reservation writes
// the events the service would (Product Reserved, Low Stock when it
// crosses 3) to the outbox in its transaction. It reports the successful
// reservations per second and fails on any oversell, or if the outbox does
// not hold exactly one Product Reserved per reservation that holds stock.
func ReserveHot(b *testing.B, open BenchOpener) {
	for _, clients := range []int{16, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { reserveHot(b, open, clients) })
	}
}

func reserveHot(b *testing.B, open BenchOpener, clients int) {
	s := open(b)
	w := commerce.Writes{Store: s}
	ctx := context.Background()
	const hot = 4
	stock := int64(b.N*9/10/hot) + 1
	var levels []commerce.StockLevel
	for i := range hot {
		levels = append(levels, commerce.StockLevel{SKU: fmt.Sprintf("HOT-%d", i), Location: "lyon", OnHand: stock + 2, Safety: 2})
	}
	if _, err := w.SetStock(ctx, levels, time.Now(), nil); err != nil {
		b.Fatal(err)
	}
	var ok, refused, seq atomic.Int64
	at := time.Now()
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			r := &commerce.Reservation{ID: fmt.Sprintf("r%d", n), SKU: fmt.Sprintf("HOT-%d", n%hot), Location: "lyon",
				Quantity: 1, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
			_, err := w.Reserve(ctx, []*commerce.Reservation{r}, func(e commerce.Effect) []*event.Event {
				return append(commerce.StockEvents(e.Changes, 3, at), commerce.ReservationEvent(r, "web", at))
			})
			var ie *commerce.InsufficientStockError
			switch {
			case err == nil:
				ok.Add(1)
			case errors.As(err, &ie):
				refused.Add(1)
			default:
				b.Fatal(err)
			}
		}
	})
	b.StopTimer()
	var reserved int64
	for i := range hot {
		rows, err := s.StockOf(ctx, fmt.Sprintf("HOT-%d", i))
		if err != nil {
			b.Fatal(err)
		}
		if rows[0].Available() < 0 || rows[0].Reserved > stock {
			b.Fatalf("oversold: %+v with %d to sell", rows[0], stock)
		}
		reserved += rows[0].Reserved
	}
	if reserved != ok.Load() || ok.Load() > hot*stock {
		b.Fatalf("%d reservations succeeded, %d units reserved, %d to sell", ok.Load(), reserved, hot*stock)
	}
	es, err := s.Outbox(ctx, int(b.N)+1000)
	if err != nil {
		b.Fatal(err)
	}
	logged := 0
	for _, e := range es {
		if e.Event.Event == commerce.EventProductReserved {
			logged++
		}
	}
	if int64(logged) != ok.Load() {
		b.Fatalf("%d reservations hold stock, %d Product Reserved in the outbox", ok.Load(), logged)
	}
	b.ReportMetric(float64(ok.Load())/b.Elapsed().Seconds(), "reservations/s")
	b.ReportMetric(float64(ok.Load()+refused.Load())/b.Elapsed().Seconds(), "attempts/s")
	b.ReportMetric(0, "ns/op")
}
