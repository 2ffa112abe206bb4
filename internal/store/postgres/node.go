package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNodeInUse says that another live process holds the node id.
var ErrNodeInUse = errors.New("the node id is held by another live process on this database")

// HoldNode takes a session advisory lock on node for as long as the
// process runs, on a connection of its own (outside the pool, so that
// closing the store never waits for it), so that two live processes never
// run as the same node: each takes back its own leases at start-up, and a
// second one with the same id would take a live node's. The lock goes when
// release is called or when the session ends (the process dies, its
// connection with it). It returns ErrNodeInUse when another session holds
// it.
func (s *Store) HoldNode(ctx context.Context, node string) (release func(), err error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: hold node %s: %w", node, err)
	}
	var got bool
	if err := conn.QueryRow(ctx, queries.Get("hold-node"), node).Scan(&got); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("postgres: hold node %s: %w", node, err)
	}
	if !got {
		conn.Close(context.Background())
		return nil, fmt.Errorf("postgres: node %s: %w", node, ErrNodeInUse)
	}
	// Closing the session releases its advisory locks too, but the server
	// ends a closed session in its own time: unlock first, so that the id
	// is free when release returns.
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.Exec(ctx, queries.Get("release-node"), node)
		conn.Close(ctx)
	}, nil
}
