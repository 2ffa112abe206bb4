package journey_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/problem"
)

// A geofence trigger: an app event within 1 km of a store enrols the
// customer (position from properties or context.location); farther, or
// without a position, it does not.
func TestNearTrigger(t *testing.T) {
	w := newWorld(t)
	w.eng = w.engine(journey.Options{Sender: w.rec, Stores: []place.Location{
		{ID: "lyon", Name: "Lyon Bellecour", Lat: 45.7578, Lon: 4.8320},
		{ID: "paris", Name: "Paris Rivoli", Lat: 48.8606, Lon: 2.3376},
	}})
	w.apply(`
kind: journey
id: geofence
name: Near a store
triggers: [{event: Location Updated, near: {km: 1}}]
steps:
  - send: {channel: push, template: in-store-offer}
`)
	w.track("ana", "Location Updated", map[string]any{"latitude": 45.7600, "longitude": 4.8350}) // ~0.3 km from Lyon
	w.track("ben", "Location Updated", map[string]any{"latitude": 45.7800, "longitude": 4.8700}) // ~3.7 km
	w.track("cam", "Location Updated", nil)
	ctx, _ := json.Marshal(map[string]any{"location": map[string]any{"latitude": 48.8610, "longitude": 2.3400}})
	w.log(&event.Event{Type: event.Track, Event: "Location Updated", UserID: "dan", Context: ctx})
	w.tick()
	for user, want := range map[string]int{"ana": 1, "ben": 0, "cam": 0, "dan": 1} {
		if got := len(w.enrolments(user)); got != want {
			t.Errorf("%s: %d enrolments, want %d", user, got, want)
		}
	}
	if got := w.templates("ana"); len(got) != 1 || got[0] != "in-store-offer" {
		t.Fatalf("ana was sent %v", got)
	}
}

func TestNearNeedsAnEventAndADistance(t *testing.T) {
	for src, path := range map[string]string{
		"triggers: [{event: X, near: {km: 0}}]":             "triggers[0].near.km",
		"triggers: [{segment_entered: vip, near: {km: 1}}]": "triggers[0].near",
	} {
		defs, err := journey.ParseYAML("t.yaml", strings.NewReader("kind: journey\nid: g\nname: G\n"+src+"\nsteps: [{exit: {}}]\n"))
		if err != nil {
			t.Fatal(err)
		}
		err = journey.Validate(defs[0], known)
		ve, ok := err.(*problem.ValidationError)
		if !ok || ve.Path != path {
			t.Errorf("%s: got %v, want path %s", src, err, path)
		}
	}
}
