package store

import (
	"errors"
	"fmt"

	"github.com/parcours/parcours/internal/commerce"
)

// Commerce keeps the catalog, locations, stock, reservations, orders,
// returns and carts. The interface is the commerce package's own (it is
// the consumer): reads, and the transactions (commerce.Transactor) in
// which commerce.Writes, the rules, writes rows (commerce.Tx). An engine
// implements rows, never rules.
type Commerce interface {
	commerce.Store
}

// TxError is what a failed write transaction returns, in every engine:
// the commerce rules' typed errors (stock refused, a constraint) and the
// not-found and conflict errors as they are, so that callers and API
// messages see them unchanged; any other error wrapped with the engine
// and the write that failed.
func TxError(engine, what string, err error) error {
	var ie *commerce.InsufficientStockError
	var ce *commerce.StockConstraintError
	if err == nil || errors.As(err, &ie) || errors.As(err, &ce) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		return err
	}
	return fmt.Errorf("%s: %s: %w", engine, what, err)
}
