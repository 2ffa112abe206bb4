package server

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/clienteling"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/recommend"
)

// startRecommend runs the recommendation stage: it learns the whole log
// into the model at start, then follows the log, restarting after a
// failure.
func (s *Server) startRecommend(ctx context.Context) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for ctx.Err() == nil {
			err := s.pipeline.RecommendStage.Run(ctx, s.notifier)
			if err == nil || ctx.Err() != nil {
				return
			}
			s.log.Error("recommend stage stopped; restarting in 5 seconds", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	}()
}

// storeRecommender is the store associate's recommendations: the
// customer's for_you, available in the store the associate stands in (or
// anywhere, when no store is given).
type storeRecommender struct{ r *recommend.Recommender }

func (s storeRecommender) Recommend(ctx context.Context, p *profile.Profile, storeID string, limit int) ([]clienteling.Recommendation, error) {
	q := recommend.Query{Name: "for_you", Profile: p.ID, Store: storeID, Limit: limit, Channel: "store"}
	res, err := s.r.Recommend(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]clienteling.Recommendation, 0, len(res.Items))
	for _, it := range res.Items {
		sku := it.SKU
		if sku == "" {
			sku = it.ProductID
		}
		out = append(out, clienteling.Recommendation{SKU: sku, Name: it.Name, Reason: it.Reason})
	}
	return out, nil
}
