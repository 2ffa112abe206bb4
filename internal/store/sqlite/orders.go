package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/store"
)

// InsertOrder stores a new order.
func (c commerceTx) InsertOrder(ctx context.Context, o *commerce.Order) error {
	doc, err := json.Marshal(o)
	if err != nil {
		return err
	}
	_, err = c.tx.ExecContext(ctx, queries.Get("insert-order"), o.ID, string(o.Status), o.Version, o.Customer.Key(), doc,
		micros(o.CreatedAt), micros(o.UpdatedAt))
	return conflictOr(err)
}

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// Order returns an order by id.
func (s *Store) Order(ctx context.Context, id string) (*commerce.Order, error) {
	var o commerce.Order
	return &o, s.getDoc(ctx, "order", id, &o, queries.Get("order"), id)
}

// ListOrders returns orders newest first.
func (s *Store) ListOrders(ctx context.Context, q commerce.OrderQuery) ([]*commerce.Order, error) {
	w := store.Where{Placeholder: store.QuestionMark}
	store.OrderWhere(q, &w)
	clause, args, marks := w.SQL(store.ListPage.Size(q.Limit))
	return listDocs[commerce.Order](ctx, s.r, "list orders", queries.Get("list-orders")+clause+" ORDER BY id DESC LIMIT "+marks[0], args...)
}

// UpdateOrder writes o if its version is still prev.
func (c commerceTx) UpdateOrder(ctx context.Context, o *commerce.Order, prev int64) error {
	doc, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return affected(c.tx.ExecContext(ctx, queries.Get("update-order"), string(o.Status), o.Version, doc, micros(o.UpdatedAt), o.ID, prev))
}

// InsertReturn stores a new return.
func (c commerceTx) InsertReturn(ctx context.Context, r *commerce.Return) error {
	doc, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = c.tx.ExecContext(ctx, queries.Get("insert-return"), r.ID, r.OrderID, doc, micros(r.CreatedAt))
	return conflictOr(err)
}

// Returns lists an order's returns, oldest first.
func (s *Store) Returns(ctx context.Context, orderID string) ([]*commerce.Return, error) {
	return listDocs[commerce.Return](ctx, s.r, "returns of "+orderID, queries.Get("returns-of-order"), orderID)
}

// Cart returns a customer's cart, empty if none.
func (s *Store) Cart(ctx context.Context, customer string) (*commerce.Cart, error) {
	c, err := scanCart(s.r.QueryRowContext(ctx, queries.Get("cart"), customer), customer)
	if errors.Is(err, store.ErrNotFound) {
		return commerce.EmptyCart(customer), nil
	}
	return c, err
}

func scanCart(row *sql.Row, customer string) (*commerce.Cart, error) {
	var c commerce.Cart
	return &c, scanDoc(row, "cart of", customer, &c)
}

// LockCart reads a customer's cart: the writer's lock is held already.
func (c commerceTx) LockCart(ctx context.Context, customer string) (*commerce.Cart, error) {
	return scanCart(c.tx.QueryRowContext(ctx, queries.Get("cart"), customer), customer)
}

// WriteCart inserts c (prev 0) or updates it if its version is still
// prev.
func (c commerceTx) WriteCart(ctx context.Context, cart *commerce.Cart, prev int64) error {
	doc, err := json.Marshal(cart)
	if err != nil {
		return err
	}
	if prev == 0 {
		return affected(c.tx.ExecContext(ctx, queries.Get("insert-cart"), cart.Customer, cart.Version, doc, micros(cart.UpdatedAt)))
	}
	return affected(c.tx.ExecContext(ctx, queries.Get("update-cart"), cart.Version, doc, micros(cart.UpdatedAt), cart.Customer, prev))
}

// DeleteCart deletes a customer's cart.
func (c commerceTx) DeleteCart(ctx context.Context, customer string) error {
	_, err := c.tx.ExecContext(ctx, queries.Get("delete-cart"), customer)
	return err
}
