package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store/storetest"
)

// cpuTime is the CPU (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendCPU is the CPU (utime+stime, clock ticks of 10 ms) of the
// PostgreSQL backends serving connections named app, read from /proc: 0
// when the server runs on another machine, where the figure is not
// reported. Other clients of the same server (other tests) are not counted.
func backendCPU(ctx context.Context, admin *pgx.Conn, app string) time.Duration {
	rows, err := admin.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1", app)
	if err != nil {
		return 0
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0
	}
	var ticks int64
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		// fields[0] is the state (field 3); utime and stime are 14 and 15.
		for _, f := range fields[11:13] {
			n, _ := strconv.ParseInt(f, 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// BenchmarkAppend measures the event log's append on PostgreSQL: commits
// of 100 events of ~600 bytes (one /v1/batch request, as at 8 requests in
// flight) and of 1,000 (the group committer under load). Besides this
// process's CPU per event it reports, when PostgreSQL runs on this
// machine, the CPU per event of the database's backends serving it, and the WAL written per event
// (pg_current_wal_lsn), the two costs issue 16.3 is about.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) { benchmarkAppend(b, size) })
	}
}

func benchmarkAppend(b *testing.B, size int) {
	dsn, admin := freshSchema(b)
	const app = "parcours_bench_append"
	s := connect(b, dsn+"&application_name="+app)
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	// PARCOURS_BENCH_APPEND_SQL runs on the fresh schema before the
	// appends: what an index or a table costs the append is measured by
	// dropping it (docs/benchmarks.md, issue 16).
	if q := os.Getenv("PARCOURS_BENCH_APPEND_SQL"); q != "" {
		if _, err := admin.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	lsn := func() int64 {
		var n int64
		if err := admin.QueryRow(ctx, "SELECT pg_current_wal_lsn() - '0/0'").Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	props := json.RawMessage(`{"product_id":"SKU-00042","sku":"SHOE-RUN-42","category":"shoes","name":"Trail runner","brand":"Parcours","price":89.9,"currency":"EUR","url":"https://shop.example/p/trail-runner"}`)
	ctxJSON := json.RawMessage(`{"library":{"name":"bench","version":"1.0"},"page":{"path":"/p/trail-runner","referrer":"https://instagram.com/"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64)","locale":"fr-FR","ip":"192.0.2.1"}`)
	now := time.Now()
	var cpu, db time.Duration
	var wal int64
	b.ResetTimer()
	for n := range b.N {
		b.StopTimer()
		batch := make([]*event.Event, size)
		for i := range batch {
			// Random message ids, as clients' UUIDs are.
			e := storetest.Event("src_bench", fmt.Sprintf("%016x-%d-%d", uint64(now.UnixNano())*2654435761+uint64(n*size+i)*11400714819323198485, n, i), fmt.Sprintf("user-%d", i%5000), now)
			e.AnonymousID = fmt.Sprintf("anon-%d", i%7000)
			e.Properties, e.Context = props, ctxJSON
			batch[i] = e
		}
		w0, d0, c0 := lsn(), backendCPU(ctx, admin, app), cpuTime()
		b.StartTimer()
		if err := s.Append(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuTime() - c0
		db += backendCPU(ctx, admin, app) - d0
		wal += lsn() - w0
		b.StartTimer()
	}
	events := float64(b.N * size)
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Microseconds())/events, "cpu-µs/event")
	if db > 0 {
		b.ReportMetric(float64(db.Microseconds())/events, "db-cpu-µs/event")
	}
	b.ReportMetric(float64(wal)/events, "wal-B/event")
}
