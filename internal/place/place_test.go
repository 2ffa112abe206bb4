package place_test

import (
	"math"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/place"
)

func TestDistanceKm(t *testing.T) {
	for _, c := range []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		want                   float64
	}{
		{"same point", 45.76, 4.83, 45.76, 4.83, 0},
		{"Paris to Lyon", 48.8566, 2.3522, 45.7640, 4.8357, 391.5},
		{"a quarter of the equator", 0, 0, 0, 90, 10007.5},
	} {
		if got := place.DistanceKm(c.lat1, c.lon1, c.lat2, c.lon2); math.Abs(got-c.want) > 0.5 {
			t.Errorf("%s: %.1f km, want %.1f", c.name, got, c.want)
		}
	}
}

func TestNearest(t *testing.T) {
	stores := []place.Location{{ID: "paris", Lat: 48.8566, Lon: 2.3522}, {ID: "lyon", Lat: 45.7640, Lon: 4.8357}}
	at := func(l place.Location) (float64, float64) { return l.Lat, l.Lon }
	if i, d := place.Nearest(stores, at, 45.75, 4.85); i != 1 || d > 2 {
		t.Fatalf("nearest to Lyon Perrache: %d at %.1f km, want lyon within 2 km", i, d)
	}
	if i, _ := place.Nearest(nil, at, 45.75, 4.85); i != -1 {
		t.Fatalf("nearest of none: %d, want -1", i)
	}
}

func TestOpenAt(t *testing.T) {
	l := &place.Location{TimeZone: "Europe/Paris", OpeningHours: map[string][]string{"mon": {"09:30-19:00"}}}
	monday := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday; Paris is UTC+1
	for _, c := range []struct {
		utc  string
		open bool
	}{{"08:29", false}, {"08:30", true}, {"17:59", true}, {"18:00", false}} {
		h, _ := time.Parse("15:04", c.utc)
		at := monday.Add(time.Duration(h.Hour())*time.Hour + time.Duration(h.Minute())*time.Minute)
		if got := l.OpenAt(at); got != c.open {
			t.Errorf("open at %s UTC on Monday: %v, want %v", c.utc, got, c.open)
		}
	}
}
