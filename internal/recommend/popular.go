package recommend

import (
	"maps"
	"strings"
	"time"
)

// rankRefresh is how stale a popularity ranking may be while events keep
// arriving: ranking 50,000 items costs milliseconds, a query must not pay
// it each time.
const rankRefresh = time.Second

// rankKeep is how many items a popularity ranking keeps.
const rankKeep = 500

// Scope names a popularity ranking: "" every store and channel,
// "store:ID", "region:NAME" or "category:NAME".
func storeScope(id string) string   { return "store:" + id }
func regionScope(r string) string   { return "region:" + r }
func categoryScope(c string) string { return "category:" + c }

// popular returns the ranking of scope, most bought first (net of
// returns, time-decayed). Read lock must NOT be held.
func (m *Model) popular(scope string) []int32 {
	m.rankMu.Lock()
	r := m.ranks[scope]
	m.rankMu.Unlock()
	m.mu.RLock()
	version := m.version
	m.mu.RUnlock()
	if r != nil && (r.version == version || time.Since(r.at) < rankRefresh) {
		return r.items
	}
	m.mu.RLock()
	items := m.rank(scope)
	m.mu.RUnlock()
	m.rankMu.Lock()
	m.ranks[scope] = &ranking{version: version, at: time.Now(), items: items}
	m.rankMu.Unlock()
	return items
}

// rank computes a ranking. Read lock should be held.
func (m *Model) rank(scope string) []int32 {
	var s []Scored
	kind, name, _ := strings.Cut(scope, ":")
	switch kind {
	case "store", "region":
		src := m.byStore
		if kind == "region" {
			src = m.byRegion
		}
		for i, w := range src[name] {
			if w > 0 {
				s = append(s, Scored{i, w})
			}
		}
	default:
		for i, w := range m.bought {
			if w > 0 && (kind != "category" || m.items[i].Category == name) {
				s = append(s, Scored{int32(i), w})
			}
		}
	}
	sortScored(s)
	if len(s) > rankKeep {
		s = s[:rankKeep]
	}
	out := make([]int32, len(s))
	for k := range s {
		out[k] = s[k].Item
	}
	return out
}

// complementCategories returns the categories bought together with cat,
// most often first. Read lock should be held.
func (m *Model) complementCategories(cat string) []string {
	w := map[string]float64{}
	for k, v := range m.catPair {
		switch cat {
		case k[0]:
			w[k[1]] += v
		case k[1]:
			w[k[0]] += v
		}
	}
	out := make([]string, 0, len(w))
	for c := range maps.Keys(w) {
		out = append(out, c)
	}
	sortByWeight(out, w)
	return out
}
