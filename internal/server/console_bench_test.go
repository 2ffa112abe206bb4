package server_test

import (
	"net/url"
	"strconv"
	"testing"
)

// BenchmarkConsolePages measures the console's cost per page, signed in
// with the admin key, over a store with 2,000 customers' events: the CPU
// of the whole process (the page, its in-process API calls, the store)
// per page, which wall-clock figures on a shared machine cannot give.
//
//	go test ./internal/server -run '^$' -bench ConsolePages -benchtime 200x
func BenchmarkConsolePages(b *testing.B) {
	h := newHarness(b)
	for i := range 2000 {
		body := `{"userId":"bench-` + strconv.Itoa(i) + `","event":"Product Viewed","properties":{"sku":"SKU-1","category":"shoes"}}`
		if code, out := h.ingest("/v1/track", body); code != 200 {
			b.Fatalf("ingest: %d %v", code, out)
		}
	}
	_, _, owner := h.consoleLogin(url.Values{"key": {h.admin}})
	asOwner := map[string]string{"Cookie": owner, "Accept-Language": "fr"}
	// The baseline: the API call the customers page makes, alone.
	b.Run("api/v1/profiles?limit=25", func(b *testing.B) {
		cpu0 := cpuTime()
		for b.Loop() {
			if code, _ := h.raw("GET", "/api/v1/profiles?limit=25", "", bearer(h.admin)); code != 200 {
				b.Fatalf("profiles: %d", code)
			}
		}
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/page")
	})
	for _, p := range []string{"/console/", "/console/customers", "/console/customers/1", "/console/segments", "/console/journeys",
		"/console/templates", "/console/orders", "/console/store/store-lyon-01", "/console/settings"} {
		b.Run(p, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				if code, _ := h.raw("GET", p, "", asOwner); code != 200 {
					b.Fatalf("%s: %d", p, code)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/page")
		})
	}
}
