package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/parcours/parcours/internal/bench"
	"github.com/parcours/parcours/internal/config"
)

type benchRecommendCmd struct {
	Customers  int      `help:"Customers of the generated period (parcours gen)." default:"20000"`
	Days       int      `help:"Days of the generated period." default:"90"`
	Seed       int64    `help:"Seed of the generated period." default:"1"`
	K          int      `help:"Cut-off of hit rate and NDCG." default:"10"`
	Strategies []string `help:"Recommendations to evaluate (default: every built-in one); the popularity baseline always is." placeholder:"NAME"`
}

func (c *benchRecommendCmd) Help() string {
	return `Generates a period of events (parcours gen), holds out each customer's last order (customers
with at least two orders, known by their userId), learns the recommendation model from the rest and
scores each recommendation's top K for each customer against the products of the order held out:
hit rate@K (any of them proposed) and NDCG@K, beside the popularity baseline (the most bought
everywhere, minus what the customer bought) measured in the same run. It also reports how long the
model took to learn the events, its memory, and the latency of one customer's query (model and
history in memory: the store's timeline read is measured through serve, docs/recommend.md).

  parcours bench recommend --customers 20000 --days 90
  parcours bench recommend --customers 5000 --days 30 --strategies for_you,popular --json`
}

func (c *benchRecommendCmd) Run(g *config.Globals, e *env) error {
	if c.Customers < 10 || c.Days < 2 {
		return fmt.Errorf("--customers must be at least 10 and --days at least 2: a holdout needs customers with two orders")
	}
	if !g.JSON {
		fmt.Fprintf(e.stderr, "generating %d customers over %d days, learning, evaluating ...\n", c.Customers, c.Days)
	}
	res, err := bench.Recommend(e.ctx, bench.RecommendOptions{Customers: c.Customers, Days: c.Days, Seed: c.Seed, K: c.K, Strategies: c.Strategies})
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, res)
	}
	w := e.stdout
	fmt.Fprintf(w, "%d events (%d learned), %d products, %d customers evaluated (last order held out)\n",
		res.Events, res.TrainingEvents, res.Items, res.Customers)
	fmt.Fprintf(w, "learned in %.2f s of CPU (%.0f ns/event), model %.1f MB (heap %.1f MB)\n\n",
		res.LearnSeconds, res.LearnNsPerEvt, float64(res.ModelBytes)/1e6, float64(res.HeapBytes)/1e6)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "RECOMMENDATION\tHIT RATE@%d\tNDCG@%d\tvs BASELINE\tEMPTY\tCPU ms/query\tP50 ms\tP99 ms\n", res.K, res.K)
	base := res.Strategies[0].HitRate
	for _, s := range res.Strategies {
		ratio := "-"
		if base > 0 {
			ratio = fmt.Sprintf("×%.2f", s.HitRate/base)
		}
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%s\t%.1f%%\t%.3f\t%.3f\t%.3f\n", s.Name, s.HitRate, s.NDCG, ratio, s.Empty*100, s.CPUms, s.P50, s.P99)
	}
	return tw.Flush()
}
