package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/gen"
	"github.com/parcours/parcours/internal/recommend"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// RebuildOptions configure the rebuild benchmark: Events generated events
// (parcours gen, Customers people over Days) are appended to an embedded
// store in Dir, straight through the store (no HTTP, no stages), then the
// recommendation model is rebuilt from it. A Dir that already holds a log
// is rebuilt from as it is (re-measure on a quiet machine without
// generating again).
type RebuildOptions struct {
	Dir       string
	Events    int64
	Customers int
	Days      int
	Seed      int64
	// Compare also rebuilds the old way (every event read and decoded
	// by the store, then its properties by the model).
	Compare bool
}

// RebuildResult is what the rebuild benchmark measured.
type RebuildResult struct {
	LogEvents      int64   `json:"log_events"`
	Learned        int64   `json:"events_learned"`
	Items          int     `json:"items"`
	GenerateSecs   float64 `json:"generate_seconds,omitempty"`
	Seconds        float64 `json:"rebuild_seconds"`
	CPUSeconds     float64 `json:"rebuild_cpu_seconds"`
	CPUPerMillion  float64 `json:"rebuild_cpu_seconds_per_million_events"`
	SlowSeconds    float64 `json:"slow_rebuild_seconds,omitempty"`
	SlowCPUSeconds float64 `json:"slow_rebuild_cpu_seconds,omitempty"`
	SlowCPUPerM    float64 `json:"slow_rebuild_cpu_seconds_per_million_events,omitempty"`
	ModelBytes     int64   `json:"model_bytes"`
	Cores          int     `json:"cores"`
}

// RecommendRebuild runs the rebuild benchmark.
func RecommendRebuild(ctx context.Context, o RebuildOptions, logf func(format string, a ...any)) (*RebuildResult, error) {
	st, err := sqlite.Open(ctx, o.Dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	res := &RebuildResult{Cores: runtime.GOMAXPROCS(0)}
	last, err := st.LastSeq(ctx)
	if err != nil {
		return nil, err
	}
	if last == 0 {
		t0 := time.Now()
		if o.Customers <= 0 {
			o.Customers = max(1000, int(o.Events/20))
		}
		if o.Days <= 0 {
			o.Days = 60
		}
		g := gen.New(gen.Options{Customers: o.Customers, Days: o.Days, Seed: o.Seed})
		batch := make([]*event.Event, 0, 5000)
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			if err := st.Append(ctx, batch, nil); err != nil {
				return fmt.Errorf("bench recommend: append generated events: %w", err)
			}
			batch = batch[:0]
			return nil
		}
		var n int64
		for o.Events <= 0 || n < o.Events {
			ge, ok := g.Next()
			if !ok {
				break
			}
			e := new(event.Event)
			if err := json.Unmarshal(ge.JSON, e); err != nil {
				return nil, fmt.Errorf("bench recommend: decode a generated event: %w", err)
			}
			e.Channel, e.SourceID, e.ReceivedAt = ge.Channel, "src_gen_"+ge.Channel, ge.Time
			if ge.StoreID != "" {
				e.StoreID, e.SourceID = ge.StoreID, "src_gen_pos_"+ge.StoreID
			}
			batch = append(batch, e)
			n++
			if len(batch) == cap(batch) {
				if err := flush(); err != nil {
					return nil, err
				}
				if logf != nil && n%500_000 == 0 {
					logf("appended %d events (%.0f s)", n, time.Since(t0).Seconds())
				}
			}
		}
		if err := flush(); err != nil {
			return nil, err
		}
		if err := st.Flush(ctx); err != nil {
			return nil, err
		}
		res.GenerateSecs = time.Since(t0).Seconds()
		if last, err = st.LastSeq(ctx); err != nil {
			return nil, err
		}
	}
	res.LogEvents = last
	runtime.GC()
	cpu0, t0 := cpuTime(), time.Now()
	m := recommend.NewModel(recommend.Options{})
	n, err := m.CatchUp(ctx, st, nil)
	if err != nil {
		return nil, err
	}
	res.Seconds, res.CPUSeconds = time.Since(t0).Seconds(), (cpuTime() - cpu0).Seconds()
	res.Learned = n
	res.CPUPerMillion = res.CPUSeconds * 1e6 / float64(max(1, last))
	s := m.Stats()
	res.Items, res.ModelBytes = s.Items, s.Bytes
	if o.Compare {
		runtime.GC()
		cpu0, t0 = cpuTime(), time.Now()
		slow := recommend.NewModel(recommend.Options{})
		if _, err := slow.CatchUp(ctx, readerOnly{st}, nil); err != nil {
			return nil, err
		}
		res.SlowSeconds, res.SlowCPUSeconds = time.Since(t0).Seconds(), (cpuTime() - cpu0).Seconds()
		res.SlowCPUPerM = res.SlowCPUSeconds * 1e6 / float64(max(1, last))
	}
	return res, nil
}

// readerOnly hides a store's fast read: the old rebuild.
type readerOnly struct{ st *sqlite.Store }

func (r readerOnly) ReadAfter(ctx context.Context, after int64, limit int) ([]*event.Event, error) {
	return r.st.ReadAfter(ctx, after, limit)
}
