package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"syscall"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/gen"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/recommend"
	"github.com/parcours/parcours/internal/store"
)

// RecommendOptions configure the offline evaluation of recommendations.
type RecommendOptions struct {
	Customers int
	Days      int
	Seed      int64
	// K is the cut-off of hit rate and NDCG (default 10).
	K int
	// Strategies evaluated besides the popularity baseline; default
	// every built-in recommendation.
	Strategies []string
}

// StrategyScore is one strategy's offline figures.
type StrategyScore struct {
	Name    string  `json:"name"`
	HitRate float64 `json:"hit_rate"`
	NDCG    float64 `json:"ndcg"`
	// Empty is the share of customers it proposed nothing to.
	Empty float64 `json:"empty"`
	// P50 and P99 are the latency of one customer's query (the model and
	// the in-memory history; the store's timeline read is not in it).
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	// CPUms is the process's CPU time (user + system, getrusage) per
	// query: what a query costs whatever else the machine runs.
	CPUms float64 `json:"cpu_ms_per_query"`
}

// RecommendResult is what an evaluation measured.
type RecommendResult struct {
	Events    int64 `json:"events"`
	Customers int   `json:"customers_evaluated"`
	Items     int   `json:"items"`
	K         int   `json:"k"`
	// LearnSeconds is the CPU time to learn the training events
	// (decoded already: reading the log is not in it), and
	// LearnNsPerEvt its cost per event.
	LearnSeconds   float64         `json:"learn_seconds"`
	LearnNsPerEvt  float64         `json:"learn_ns_per_event"`
	ModelBytes     int64           `json:"model_bytes"`
	HeapBytes      uint64          `json:"heap_bytes"`
	Strategies     []StrategyScore `json:"strategies"`
	BaselineName   string          `json:"baseline"`
	DecodeSeconds  float64         `json:"decode_seconds"`
	TrainingEvents int64           `json:"training_events"`
}

// histories serves the customers' events before their held-out order.
type histories map[int64][]*event.Event

func (h histories) Timeline(_ context.Context, q store.TimelineQuery) ([]*event.Event, error) {
	evs := h[q.Profile]
	if len(evs) > q.Limit {
		evs = evs[:q.Limit]
	}
	return evs, nil
}

func (h histories) Profile(_ context.Context, id int64) (*profile.Profile, error) {
	return &profile.Profile{ID: id}, nil
}

// Recommend generates a period of events, holds out each customer's last
// order (customers with at least two, known by their userId), learns the
// model from everything else, and scores each strategy's top K against
// the held-out order's products: hit rate (any of them in the top K) and
// NDCG@K, with the popularity baseline (most bought everywhere, minus
// what the customer bought) measured in the same run.
func Recommend(ctx context.Context, o RecommendOptions) (*RecommendResult, error) {
	if o.K <= 0 {
		o.K = 10
	}
	g := gen.New(gen.Options{Customers: o.Customers, Days: o.Days, Seed: o.Seed})
	decodeStart := time.Now()
	var all []*event.Event
	for {
		ge, ok := g.Next()
		if !ok {
			break
		}
		var e event.Event
		if err := json.Unmarshal(ge.JSON, &e); err != nil {
			return nil, fmt.Errorf("bench recommend: decode a generated event: %w", err)
		}
		e.Seq = int64(len(all) + 1)
		if e.StoreID == "" {
			e.StoreID = ge.StoreID
		}
		all = append(all, &e)
	}
	res := &RecommendResult{Events: int64(len(all)), K: o.K, DecodeSeconds: time.Since(decodeStart).Seconds()}

	// Each customer's last order is held out; their events from it on
	// are not learned.
	users := map[string]int64{}
	lastOrder := map[string]int{}
	orders := map[string]int{}
	for k, e := range all {
		if e.Event == recommend.EventOrderCompleted && e.UserID != "" {
			lastOrder[e.UserID] = k
			orders[e.UserID]++
		}
	}
	cut := map[string]time.Time{}
	for u, k := range lastOrder {
		if orders[u] >= 2 {
			cut[u] = all[k].Timestamp
			users[u] = int64(len(users) + 1)
		}
	}
	var train []*event.Event
	hist := histories{}
	for _, e := range all {
		if t, held := cut[e.UserID]; held && !e.Timestamp.Before(t) {
			continue
		}
		train = append(train, e)
		if id, ok := users[e.UserID]; ok {
			hist[id] = append(hist[id], e)
		}
	}
	for _, evs := range hist {
		slices.Reverse(evs) // newest first, as a timeline
	}
	res.TrainingEvents = int64(len(train))

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := recommend.NewModel(recommend.Options{})
	cpu0 := cpuTime()
	for k := 0; k < len(train); k += 5000 { // the stage's batches
		m.LearnBatch(train[k:min(len(train), k+5000)])
	}
	res.LearnSeconds = (cpuTime() - cpu0).Seconds()
	res.LearnNsPerEvt = res.LearnSeconds * 1e9 / float64(max(1, len(train)))
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	res.HeapBytes = after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
	st := m.Stats()
	res.Items, res.ModelBytes = st.Items, st.Bytes
	train = nil

	r := &recommend.Recommender{Model: m, Profiles: hist}
	names := o.Strategies
	if len(names) == 0 {
		for _, d := range recommend.Builtins() {
			names = append(names, d.Name)
		}
	}
	// The held-out orders' products.
	truth := map[int64][]string{}
	for u, k := range lastOrder {
		id, ok := users[u]
		if !ok {
			continue
		}
		var p struct {
			Products []struct {
				ProductID string `json:"product_id"`
				SKU       string `json:"sku"`
			} `json:"products"`
		}
		_ = json.Unmarshal(all[k].Properties, &p)
		for _, l := range p.Products {
			pid := l.ProductID
			if pid == "" {
				pid = l.SKU
			}
			if !slices.Contains(truth[id], pid) {
				truth[id] = append(truth[id], pid)
			}
		}
	}
	ids := make([]int64, 0, len(truth))
	for id := range truth {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	res.Customers = len(ids)

	score := func(name string, query func(id int64) ([]string, error)) (StrategyScore, error) {
		s := StrategyScore{Name: name}
		lat := make([]float64, 0, len(ids))
		cpu0 := cpuTime()
		for _, id := range ids {
			t0 := time.Now()
			got, err := query(id)
			if err != nil {
				return s, err
			}
			lat = append(lat, float64(time.Since(t0).Microseconds())/1000)
			if len(got) == 0 {
				s.Empty++
			}
			hit, dcg := false, 0.0
			for rank, p := range got {
				if slices.Contains(truth[id], p) {
					hit = true
					dcg += 1 / math.Log2(float64(rank+2))
				}
			}
			idcg := 0.0
			for rank := 0; rank < min(len(truth[id]), o.K); rank++ {
				idcg += 1 / math.Log2(float64(rank+2))
			}
			if hit {
				s.HitRate++
			}
			if idcg > 0 {
				s.NDCG += dcg / idcg
			}
		}
		n := float64(max(1, len(ids)))
		s.CPUms = (cpuTime() - cpu0).Seconds() * 1000 / n
		s.HitRate, s.NDCG, s.Empty = s.HitRate/n, s.NDCG/n, s.Empty/n
		sort.Float64s(lat)
		if len(lat) > 0 {
			s.P50, s.P99 = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
		}
		return s, nil
	}

	// The baseline: the most bought everywhere, minus what the customer
	// bought (the same exclusion the strategies apply).
	baseline := recommend.Definition{Name: "baseline_popular", Strategy: recommend.StrategyPopular}
	r.SetDefinitions([]recommend.Definition{baseline})
	res.BaselineName = baseline.Name
	b, err := score(baseline.Name, func(id int64) ([]string, error) {
		// No store: the popularity of every store.
		return topK(ctx, r, recommend.Query{Name: baseline.Name, Profile: id, Limit: o.K, Home: "-"})
	})
	if err != nil {
		return nil, err
	}
	res.Strategies = append(res.Strategies, b)
	for _, name := range names {
		s, err := score(name, func(id int64) ([]string, error) {
			return topK(ctx, r, recommend.Query{Name: name, Profile: id, Limit: o.K, Available: recommend.AvailableAny})
		})
		if err != nil {
			return nil, err
		}
		res.Strategies = append(res.Strategies, s)
	}
	return res, nil
}

// cpuTime is the process's CPU time so far (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func topK(ctx context.Context, r *recommend.Recommender, q recommend.Query) ([]string, error) {
	res, err := r.Recommend(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(res.Items))
	for _, it := range res.Items {
		out = append(out, it.ProductID)
	}
	return out, nil
}
