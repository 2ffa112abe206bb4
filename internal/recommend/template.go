package recommend

import (
	"context"
	"encoding/json"
)

// ForTemplate is the recommendations variable of a message template: for
// each named recommendation the template mentions (recommendations.NAME),
// its products for the profile, shaped for the channel, as plain maps
// with the JSON names ({{ p.name }}, {{ p.price }}, {{ p.url }},
// {{ p.image_url }}, {{ p.availability.status }}). Names it does not
// mention are not computed; a name nobody defined is absent (an empty
// list in Liquid).
func (r *Recommender) ForTemplate(ctx context.Context, profileID int64, channel, storeID string, mentions func(string) bool) (map[string]any, error) {
	out := map[string]any{}
	for _, d := range r.Definitions() {
		if !mentions("recommendations."+d.Name) && !mentions(`recommendations["`+d.Name) {
			continue
		}
		res, err := r.Recommend(ctx, Query{Name: d.Name, Profile: profileID, Channel: channel, Home: storeID})
		if err != nil {
			return nil, err
		}
		var items []any
		b, err := json.Marshal(res.Items)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, err
		}
		if items == nil {
			items = []any{}
		}
		out[d.Name] = items
	}
	return out, nil
}
