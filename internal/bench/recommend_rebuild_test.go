package bench

import (
	"context"
	"os"
	"testing"
)

// BenchmarkRecommendRebuild rebuilds the model from the embedded store in
// $PARCOURS_BENCH_REBUILD_DIR (filled by parcours bench recommend
// --rebuild-events N --store-dir DIR): profile it with -cpuprofile.
func BenchmarkRecommendRebuild(b *testing.B) {
	dir := os.Getenv("PARCOURS_BENCH_REBUILD_DIR")
	if dir == "" {
		b.Skip("PARCOURS_BENCH_REBUILD_DIR is not set")
	}
	for range b.N {
		res, err := RecommendRebuild(context.Background(), RebuildOptions{Dir: dir}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.CPUPerMillion, "cpu-s/Mevent")
	}
}
