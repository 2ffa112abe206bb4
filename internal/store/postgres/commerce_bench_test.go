package postgres_test

import (
	"testing"

	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/storetest"
)

// BenchmarkReserveHot runs storetest.ReserveHot, the reservations
// benchmark of every engine.
func BenchmarkReserveHot(b *testing.B) {
	storetest.ReserveHot(b, func(b *testing.B) store.Store { return open(b) })
}
