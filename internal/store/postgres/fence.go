package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrFenced is the error of a write refused because another node took the
// pipeline lease after this one (migration 0021, docs/scale.md "Fencing").
var ErrFenced = errors.New("postgres: fenced: another node holds the pipeline lease now")

// fencedCode is the SQLSTATE parcours_fence_check raises.
const fencedCode = "PF001"

// IsFenced reports whether err is a write refused by the fence.
func IsFenced(err error) bool {
	var pe *pgconn.PgError
	return errors.Is(err, ErrFenced) || errors.As(err, &pe) && pe.Code == fencedCode
}

// fenceIdleTimeout ends a fenced session left idle inside a transaction
// (its process paused, SIGSTOP, in the middle of a transaction) so that the
// shared lock its transaction holds does not keep the next owner from
// moving the token. Below the lease's TTL (6 s): by the time another node
// holds the lease, such a session is gone.
var fenceIdleTimeout = 5 * time.Second

// fence is the token this process's sessions declare: empty until Fence.
type fence struct {
	token atomic.Value // string "epoch:token"
	node  atomic.Value // string: the node partitions' checkpoints are checked against (partitions.go)
}

func (f *fence) current() string {
	v, _ := f.token.Load().(string)
	return v
}

// prepare is the pool's PrepareConn: a connection taken from the pool
// declares the process's token, once per connection and token.
func (f *fence) prepare(ctx context.Context, c *pgx.Conn) (bool, error) {
	if node, _ := f.node.Load().(string); node != "" {
		data := c.PgConn().CustomData()
		if data["parcours.node"] != node {
			q := fmt.Sprintf("SELECT set_config('parcours.node', $1, false), set_config('idle_in_transaction_session_timeout', '%d', false)", fenceIdleTimeout.Milliseconds())
			if _, err := c.Exec(ctx, q, node); err != nil {
				return false, fmt.Errorf("postgres: declare the node on a connection: %w", err)
			}
			data["parcours.node"] = node
		}
	}
	tok := f.current()
	if tok == "" {
		return true, nil
	}
	data := c.PgConn().CustomData()
	if data["parcours.fence"] == tok {
		return true, nil
	}
	q := fmt.Sprintf("SELECT set_config('parcours.fence', $1, false), set_config('idle_in_transaction_session_timeout', '%d', false)", fenceIdleTimeout.Milliseconds())
	if _, err := c.Exec(ctx, q, tok); err != nil {
		return false, fmt.Errorf("postgres: declare the pipeline fence token on a connection: %w", err)
	}
	data["parcours.fence"] = tok
	return true, nil
}

// Fence makes this process the pipeline's writer under the lease token
// (epoch, token), held by node: it waits until no transaction of an older
// token is open (a paused owner's is ended by the server after
// fenceIdleTimeout), records the token, and from then on every session of
// this process declares it. Writes of the pipeline's tables by a process
// that declares an older token fail with an error IsFenced recognises.
// Fence fails, and changes nothing, when a newer token is recorded already
// (this node's lease was lost and taken before it got here).
//
// It returns the node that held the fence before (empty if none): the
// caller may take back what that node left leased.
func (s *Store) Fence(ctx context.Context, epoch int64, token uint64, node string) (previous string, err error) {
	tok := fmt.Sprintf("%d:%d", epoch, token)
	var holder string
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, queries.Get("fence-lock")); err != nil {
			return err
		}
		var prevToken string
		if err := tx.QueryRow(ctx, queries.Get("fence-holder")).Scan(&previous, &prevToken); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return tx.QueryRow(ctx, queries.Get("fence-move"), epoch, int64(token), node).Scan(&holder)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%w (this node's token %s is older than the recorded one)", ErrFenced, tok)
	}
	if err != nil {
		return "", fmt.Errorf("postgres: record the pipeline fence token %s: %w", tok, err)
	}
	s.fence.token.Store(tok)
	return previous, nil
}

// FenceHolder returns the node recorded as the pipeline's writer and its
// token ("epoch:token"); empty if none ever was.
func (s *Store) FenceHolder(ctx context.Context) (node, token string, err error) {
	err = s.pool.QueryRow(ctx, queries.Get("fence-holder")).Scan(&node, &token)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("postgres: read the pipeline fence: %w", err)
	}
	return node, token, nil
}
