// Package place is the one model of the brand's physical places: a
// Location is a store or a warehouse, as commerce keeps it (address, time
// zone, opening hours, what it offers) and as profiles, segments, journeys
// and templates read it (the nearest store, near conditions, a task's
// store, {{ store }}). The stores file (--stores-file) lists the same
// type. The distance between two points is computed here, and only here.
package place

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Location is a store or a warehouse.
type Location struct {
	ID   string `json:"id" yaml:"id"`
	Name string `json:"name" yaml:"name"`
	// Kind is store or warehouse (commerce.KindStore, KindWarehouse).
	Kind     string  `json:"kind" yaml:"kind"`
	Address  Address `json:"address" yaml:"address"`
	Lat      float64 `json:"lat" yaml:"lat"`
	Lon      float64 `json:"lon" yaml:"lon"`
	TimeZone string  `json:"time_zone" yaml:"time_zone"` // IANA, e.g. Europe/Paris
	// OpeningHours maps a day (mon..sun) to its opening ranges, "09:30-19:00".
	OpeningHours map[string][]string `json:"opening_hours,omitempty" yaml:"opening_hours"`
	Capabilities []string            `json:"capabilities,omitempty" yaml:"capabilities"`
	UpdatedAt    time.Time           `json:"updated_at" yaml:"-"`
}

// Address is a postal address.
type Address struct {
	Line1      string `json:"line1,omitempty" yaml:"line1"`
	Line2      string `json:"line2,omitempty" yaml:"line2"`
	PostalCode string `json:"postal_code,omitempty" yaml:"postal_code"`
	City       string `json:"city,omitempty" yaml:"city"`
	Country    string `json:"country,omitempty" yaml:"country"` // ISO 3166-1 alpha-2
}

// Days are the keys of OpeningHours, Monday first.
var Days = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// Can reports whether the location offers a capability.
func (l *Location) Can(capability string) bool { return slices.Contains(l.Capabilities, capability) }

// OpenAt reports whether the location is open at t, in its time zone.
func (l *Location) OpenAt(t time.Time) bool {
	tz, err := time.LoadLocation(l.TimeZone)
	if err != nil {
		return false
	}
	local := t.In(tz)
	day := Days[(int(local.Weekday())+6)%7]
	hm := local.Format("15:04")
	for _, r := range l.OpeningHours[day] {
		from, to, _ := strings.Cut(r, "-")
		if hm >= from && hm < to {
			return true
		}
	}
	return false
}

// DistanceKm is the great-circle (haversine) distance between two points,
// in kilometres.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0 // the Earth's mean radius, km
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(h))
}

// Nearest returns the index of the location of list nearest to a point
// and its distance; -1 for an empty list. The first of equally near ones
// wins.
func Nearest[T any](list []T, at func(T) (lat, lon float64), lat, lon float64) (int, float64) {
	best, bestKm := -1, math.Inf(1)
	for i, x := range list {
		la, lo := at(x)
		if d := DistanceKm(lat, lon, la, lo); d < bestKm {
			best, bestKm = i, d
		}
	}
	return best, bestKm
}
