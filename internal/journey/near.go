package journey

import (
	"encoding/json"

	"github.com/parcours/parcours/internal/place"
)

// position reads an event's position: latitude and longitude properties
// (or lat and lon), else its context.location.
func (s *seen) position() (lat, lon float64, ok bool) {
	num := func(keys ...string) (float64, bool) {
		for _, k := range keys {
			if v, isNum := s.props[k].(float64); isNum {
				return v, true
			}
		}
		return 0, false
	}
	if la, ok1 := num("latitude", "lat"); ok1 {
		if lo, ok2 := num("longitude", "lon"); ok2 {
			return la, lo, true
		}
	}
	var ctx struct {
		Location *struct {
			Latitude  *float64 `json:"latitude"`
			Longitude *float64 `json:"longitude"`
		} `json:"location"`
	}
	if len(s.e.Context) > 0 && json.Unmarshal(s.e.Context, &ctx) == nil && ctx.Location != nil &&
		ctx.Location.Latitude != nil && ctx.Location.Longitude != nil {
		return *ctx.Location.Latitude, *ctx.Location.Longitude, true
	}
	return 0, 0, false
}

// near reports whether the event happened within n.Km of the store (any
// store when n.Store is empty); an event without a position is not near.
func (s *seen) near(n *Near) bool {
	lat, lon, ok := s.position()
	if !ok {
		return false
	}
	for _, st := range s.stores {
		if (n.Store == "" || st.ID == n.Store) && place.DistanceKm(lat, lon, st.Lat, st.Lon) <= n.Km {
			return true
		}
	}
	return false
}
