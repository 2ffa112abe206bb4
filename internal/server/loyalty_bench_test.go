package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/loyalty"
)

// BenchmarkLoyaltyRedeem redeems one point at a time through serve's HTTP
// API (a real listener), as tills do: 32 requests in flight over 8 hot
// members (every redemption of a member waits on the one before it),
// each with its own Idempotency-Key. It reports redemptions/s, the
// latency percentiles and the process's CPU time per redemption (steadier
// than wall time on a shared machine), and fails on any double spend: the
// members' balances must have dropped by exactly the redemptions that
// succeeded, each with an entry of its own.
//
// Service is the baseline measured in the same run: the same redemptions
// made by calling the ledger (loyalty.Service) in the server's process,
// without HTTP, authentication, member lookup or audit.
func BenchmarkLoyaltyRedeem(b *testing.B) {
	b.Run("HTTP", func(b *testing.B) { benchmarkRedeem(b, true, 32) })
	b.Run("Service", func(b *testing.B) { benchmarkRedeem(b, false, 32) })
	// Four tills at once: the latency a till sees when the store is not
	// saturated (with 32 in flight, a request waits behind the others).
	b.Run("HTTP4", func(b *testing.B) { benchmarkRedeem(b, true, 4) })
}

func benchmarkRedeem(b *testing.B, viaHTTP bool, inFlight int) {
	const members = 8
	h := newHarness(b)
	h.applyClub()
	cards := make([]string, members)
	for i := range cards {
		cards[i] = fmt.Sprintf("40063813%05d", 33931+i*7)
		h.ingest("/v1/identify", fmt.Sprintf(`{"userId":"m%d","traits":{"loyaltyId":%q}}`, i, cards[i]))
	}
	h.waitUnify()
	const start = 1_000_000_000
	for i, card := range cards {
		if code, _, out := h.keyed("/api/v1/loyalty/"+card+"/earn", fmt.Sprintf("seed-%d", i), fmt.Sprintf(`{"points":%d}`, start)); code != 201 {
			b.Fatalf("seed %s: %d %v", card, code, out)
		}
	}
	svc := h.srv.Pipeline().Loyalty
	ms := make([]loyalty.Member, members)
	for i, card := range cards {
		st := h.waitBalanceOf(card)
		ms[i] = loyalty.Member{ProfileID: int64(st["profile_id"].(float64)), UserID: fmt.Sprintf("m%d", i)}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: inFlight, MaxConnsPerHost: inFlight}}
	var next, failed atomic.Int64
	ok := make([]atomic.Int64, members)
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := cpuTime()
	for range inFlight {
		wg.Go(func() {
			for {
				n := next.Add(1) - 1
				if n >= int64(b.N) {
					return
				}
				m := int(n) % members
				key := fmt.Sprintf("bench-%d-%d", b.N, n)
				if !viaHTTP {
					t0 := time.Now()
					_, err := svc.Redeem(context.Background(), ms[m], loyalty.RedeemRequest{Points: 1, StoreID: "lyon-01", Key: key})
					lat[n] = time.Since(t0)
					if err != nil {
						failed.Add(1)
					} else {
						ok[m].Add(1)
					}
					continue
				}
				req, _ := http.NewRequest("POST", h.http.URL+"/api/v1/loyalty/"+cards[m]+"/redeem", bytes.NewReader([]byte(`{"points":1,"store_id":"lyon-01"}`)))
				req.Header.Set("Authorization", "Bearer "+h.admin)
				req.Header.Set("Idempotency-Key", key)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[n] = time.Since(t0)
				if resp.StatusCode == 201 {
					ok[m].Add(1)
				} else {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d redemptions failed", failed.Load())
	}
	for i, card := range cards {
		st := h.waitBalanceOf(card)
		if spent := start - int64(st["balance"].(float64)); spent != ok[i].Load() {
			b.Fatalf("member %s: %d points spent, %d redemptions succeeded: double spend", card, spent, ok[i].Load())
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "redemptions/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}

// waitBalanceOf returns a member's statement.
func (h *harness) waitBalanceOf(member string) map[string]any {
	h.t.Helper()
	code, out := h.api("/api/v1/loyalty/" + member + "/statement?limit=1")
	if code != 200 {
		h.t.Fatalf("statement of %s: %d %v", member, code, out)
	}
	return out
}
