package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// BeginForTest opens a transaction on one of the store's sessions, as a
// stage's write does, for the fencing tests.
func (s *Store) BeginForTest(ctx context.Context) (pgx.Tx, error) { return s.pool.Begin(ctx) }

// SetFenceIdleTimeout shortens how long a fenced session may idle inside a
// transaction; it returns the previous value.
func SetFenceIdleTimeout(d time.Duration) time.Duration {
	old := fenceIdleTimeout
	fenceIdleTimeout = d
	return old
}
