package sqlite_test

import (
	"context"
	"testing"

	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlite"
	"github.com/parcours/parcours/internal/store/storetest"
)

func open(t testing.TB) store.Store {
	s, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func TestMeasureConformance(t *testing.T) {
	storetest.RunMeasure(t, func(t *testing.T) store.Store { return open(t) })
}

func TestProfilesConformance(t *testing.T) {
	storetest.RunProfiles(t, func(t *testing.T) storetest.ProfileStore { return open(t).(*sqlite.Store) })
	storetest.RunSegments(t, func(t *testing.T) storetest.SegmentStore { return open(t).(*sqlite.Store) })
	storetest.RunJourneys(t, func(t *testing.T) storetest.JourneyStore { return open(t).(*sqlite.Store) })
}

func TestCommerceConformance(t *testing.T) {
	storetest.RunCommerce(t, func(t *testing.T) storetest.CommerceStore { return open(t).(*sqlite.Store) })
}

func TestMessagesConformance(t *testing.T) {
	storetest.RunMessages(t, func(t *testing.T) store.Store { return open(t) })
}
