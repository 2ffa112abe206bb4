package conversation_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/store"
)

// BenchmarkQueueListing lists the first page (50) of queues among 10,000
// open conversations (and 2,000 resolved): the service team's unassigned
// ones, a store's (1 in 100 conversations), and a text search. It reports
// the p50 and p99 of one listing (target: p99 < 50 ms).
//
//	go test ./internal/conversation -run XXX -bench QueueListing -benchtime 2000x
func BenchmarkQueueListing(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	stores := []string{"lyon-01", "paris-02", "lille-03"}
	for i := range 12_000 {
		c := &store.Conversation{ProfileID: int64(i + 1), Status: store.ConversationOpen, Priority: "normal", Channel: "sms",
			Team: "service", CreatedAt: t0, UpdatedAt: t0, LastMessageAt: t0, FirstResponseDue: t0.Add(time.Hour)}
		if i%100 == 0 {
			c.Team, c.StoreID = "", stores[i/100%3]
		}
		if i%3 == 0 {
			c.Assignee = "ana@shop.example"
		}
		if _, err := w.st.OpenConversation(ctx, c); err != nil {
			b.Fatal(err)
		}
		if i >= 10_000 {
			c.Status = store.ConversationResolved
			if err := w.st.UpdateConversation(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
		if i%50 == 0 {
			if _, err := w.st.AddConversationMessage(ctx, &store.ConversationMessage{ConversationID: c.ID, ProfileID: c.ProfileID,
				Key: fmt.Sprint("m", i), Channel: "sms", Direction: store.DirectionInbound, Body: fmt.Sprintf("commande %d en retard", 1000+i), CreatedAt: t0}); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, q := range []struct {
		name string
		q    store.ConversationQuery
	}{
		{"TeamUnassigned", store.ConversationQuery{Status: "active", Team: "service", Assignee: "-", Limit: 50}},
		{"Store", store.ConversationQuery{Status: "active", StoreID: "paris-02", Limit: 50}},
		{"Text", store.ConversationQuery{Status: "active", Text: "commande 1500", Limit: 50}},
		{"Customer", store.ConversationQuery{ProfileID: 4242, Limit: 50}},
	} {
		b.Run(q.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				l, err := w.svc.List(ctx, q.q)
				lat = append(lat, time.Since(start))
				if err != nil || len(l) == 0 {
					b.Fatalf("%+v: %d, %v", q.q, len(l), err)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
