package message

import (
	"context"
	"fmt"

	"github.com/parcours/parcours/internal/message/template"
)

// Recommendations give templates the recommendations variable:
// recommendations.for_you, recommendations.similar, ... one list of
// products per named recommendation the template mentions, shaped for
// the channel (an SMS and a push get one product, an email a grid).
// The pipeline passes internal/recommend's; nil: every list is empty.
type Recommendations interface {
	ForTemplate(ctx context.Context, profileID int64, channel, storeID string, mentions func(string) bool) (map[string]any, error)
}

// recommendationsData is the recommendations variable of a template that
// mentions it: a name it does not know, or a customer with nothing to
// propose, is an empty list, so that {% for p in recommendations.x %}
// renders nothing and {% if recommendations.x.size > 0 %} guards a block.
func (p *Pipeline) recommendationsData(ctx context.Context, profileID int64, channel string, store map[string]any, tpl *template.Template) (map[string]any, error) {
	if p.o.Recommendations == nil {
		return map[string]any{}, nil
	}
	storeID := ""
	if store != nil {
		storeID = idOf(store["id"])
	}
	recs, err := p.o.Recommendations.ForTemplate(ctx, profileID, channel, storeID, tpl.Mentions)
	if err != nil {
		return nil, fmt.Errorf("%w: recommendations: %w", errLookup, err)
	}
	return recs, nil
}
