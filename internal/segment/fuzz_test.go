package segment_test

import (
	"testing"
	"time"

	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/segment"
)

// FuzzDefinition feeds the API's definition parser arbitrary bodies: it
// must refuse what is invalid with an error, never panic, and what it
// accepts must compile and evaluate.
func FuzzDefinition(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","name":"A","where":{"trait":"gender","equals":"female"}}`,
		`{"id":"b","name":"B","where":{"all":[{"performed":{"event":"Product Viewed","where":{"category":["shoes","bags"]},"within":"7d","count":{"gte":3}}},{"not":{"performed":{"event":"Order Completed","within":"30d"}}}]}}`,
		`{"id":"c","name":"C","where":{"any":[{"near":{"lat":45.7,"lon":4.8,"km":5}},{"computed":"days_since_last_purchase","gt":30}]}}`,
		`{"id":"d","name":"D","where":{"trait":"birthday","anniversary_within":"0d"}}`,
		`{"id":"e","name":"E","where":{"performed":{"event":"Order Completed","sum":{"property":"total","gte":100}}}}`,
		`{"where":{"all":[]}}`, `{"id":"x","name":"x","where":{"not":{}}}`, `[]`, `{"id":1}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := segment.ParseJSON(body)
		if err != nil {
			return
		}
		if err := segment.Validate(d, segment.Known{Segments: map[string]*segment.Definition{}}); err != nil {
			return
		}
		set, err := segment.NewSet([]*segment.Definition{d})
		if err != nil {
			t.Fatalf("valid definition does not compile: %v", err)
		}
		p := profile.New(1)
		set.Evaluate(segment.Input{Profile: p, State: segment.NewState(), Env: &profile.Env{Now: now}})
	})
}
