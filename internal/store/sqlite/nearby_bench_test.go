package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// nearbyDB is the seeded database of BenchmarkNearby, built once per test
// process (seeding 10M rows takes a while) and removed by TestMain.
var nearbyDB struct {
	once sync.Once
	dir  string
	err  error
	skus int
}

func TestMain(m *testing.M) {
	code := m.Run()
	if nearbyDB.dir != "" {
		os.RemoveAll(nearbyDB.dir)
	}
	os.Exit(code)
}

const nearbyLocations = 200

// seedNearby creates a store with 200 locations across France and one
// stock row for every (SKU, location): skus × 200 rows, written in key
// order in one transaction through a separate connection, which is the
// fastest way SQLite loads.
func seedNearby(skus int) (string, error) {
	dir, err := os.MkdirTemp("", "parcours-nearby-")
	if err != nil {
		return "", err
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		return dir, err
	}
	if err := st.Migrate(ctx); err != nil {
		return dir, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var locs []*commerce.Location
	for i := range nearbyLocations {
		locs = append(locs, &commerce.Location{ID: fmt.Sprintf("store-%03d", i), Name: fmt.Sprintf("Store %d", i), Kind: "store",
			Lat: 43 + rng.Float64()*6, Lon: -1 + rng.Float64()*8, TimeZone: "Europe/Paris", UpdatedAt: time.Now()})
	}
	if err := st.UpsertLocations(ctx, locs); err != nil {
		return dir, err
	}
	st.Close()

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
	if err != nil {
		return dir, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.Begin()
	if err != nil {
		return dir, err
	}
	defer tx.Rollback()
	const per = 200 // rows per statement: one SKU at every location
	stmt, err := tx.Prepare("INSERT INTO stock (sku, location_id, on_hand, reserved, safety, version, updated_at) VALUES " +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, 0, 0, 1, 0),", per), ","))
	if err != nil {
		return dir, err
	}
	args := make([]any, 0, per*3)
	for s := range skus {
		sku := "SKU-" + strconv.Itoa(1000000+s)
		args = args[:0]
		for l := range nearbyLocations {
			args = append(args, sku, locs[l].ID, rng.IntN(4)) // a quarter of rows have none
		}
		if _, err := stmt.Exec(args...); err != nil {
			return dir, err
		}
	}
	return dir, tx.Commit()
}

// BenchmarkNearby measures "where is this SKU available near me": the 10
// nearest of 200 locations holding a random SKU, from a random point in
// France, over 200 locations × PARCOURS_BENCH_SKUS SKUs (default 50,000:
// 10M stock rows). It reports p50 and p99 latencies.
func BenchmarkNearby(b *testing.B) {
	skus := 50000
	if v := os.Getenv("PARCOURS_BENCH_SKUS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("PARCOURS_BENCH_SKUS=%q: want a positive number", v)
		}
		skus = n
	}
	nearbyDB.once.Do(func() {
		start := time.Now()
		nearbyDB.skus = skus
		nearbyDB.dir, nearbyDB.err = seedNearby(skus)
		b.Logf("seeded %d stock rows in %s", skus*nearbyLocations, time.Since(start).Round(time.Second))
	})
	if nearbyDB.err != nil {
		b.Fatal(nearbyDB.err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, nearbyDB.dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc := commerce.New(st, commerce.Options{LocationsTTL: time.Hour})
	rng := rand.New(rand.NewPCG(3, 4))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		sku := "SKU-" + strconv.Itoa(1000000+rng.IntN(nearbyDB.skus))
		t := time.Now()
		got, err := svc.Nearby(ctx, sku, 43+rng.Float64()*6, -1+rng.Float64()*8, 10)
		lat = append(lat, time.Since(t))
		if err != nil || len(got) != 10 {
			b.Fatalf("Nearby(%s) = %d locations, %v", sku, len(got), err)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(nearbyDB.skus*nearbyLocations), "stock-rows")
}
