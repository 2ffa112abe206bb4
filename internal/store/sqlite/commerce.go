package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

var _ store.Commerce = (*Store)(nil)

// UpsertProducts writes products and re-indexes their SKUs.
func (s *Store) UpsertProducts(ctx context.Context, ps []*commerce.Product) error {
	return s.inTx(ctx, "upsert products", func(tx *sql.Tx) error {
		for _, p := range ps {
			doc, err := json.Marshal(p)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, queries.Get("upsert-product"), p.ID, doc, micros(p.UpdatedAt)); err != nil {
				return fmt.Errorf("product %s: %w", p.ID, err)
			}
			if _, err := tx.ExecContext(ctx, queries.Get("delete-product-skus"), p.ID); err != nil {
				return fmt.Errorf("product %s: %w", p.ID, err)
			}
			for _, v := range p.Variants {
				if _, err := tx.ExecContext(ctx, queries.Get("upsert-product-sku"), v.SKU, p.ID); err != nil {
					return fmt.Errorf("product %s: sku %s: %w", p.ID, v.SKU, err)
				}
			}
		}
		return nil
	})
}

// Product returns a product by id.
func (s *Store) Product(ctx context.Context, id string) (*commerce.Product, error) {
	var p commerce.Product
	return &p, s.getDoc(ctx, "product", id, &p, queries.Get("product"), id)
}

// ProductsBySKU returns the products holding skus, by SKU.
func (s *Store) ProductsBySKU(ctx context.Context, skus []string) (map[string]*commerce.Product, error) {
	out := make(map[string]*commerce.Product, len(skus))
	for _, sku := range skus {
		var p commerce.Product
		err := s.getDoc(ctx, "product of SKU", sku, &p, queries.Get("product-by-sku"), sku)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[sku] = &p
	}
	return out, nil
}

// ListProducts returns products by id.
func (s *Store) ListProducts(ctx context.Context, after string, limit int) ([]*commerce.Product, error) {
	return listDocs[commerce.Product](ctx, s.r, "list products", queries.Get("list-products"), after, store.ListPage.Size(limit))
}

// UpsertLocations writes locations.
func (s *Store) UpsertLocations(ctx context.Context, ls []*commerce.Location) error {
	return s.inTx(ctx, "upsert locations", func(tx *sql.Tx) error {
		for _, l := range ls {
			doc, err := json.Marshal(l)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, queries.Get("upsert-location"), l.ID, doc, micros(l.UpdatedAt)); err != nil {
				return fmt.Errorf("location %s: %w", l.ID, err)
			}
		}
		return nil
	})
}

// Location returns a location by id.
func (s *Store) Location(ctx context.Context, id string) (*commerce.Location, error) {
	var l commerce.Location
	return &l, s.getDoc(ctx, "location", id, &l, queries.Get("location"), id)
}

// ListLocations returns locations by id.
func (s *Store) ListLocations(ctx context.Context, after string, limit int) ([]*commerce.Location, error) {
	return listDocs[commerce.Location](ctx, s.r, "list locations", queries.Get("list-locations"), after, store.ScanPage.Size(limit))
}

// KnownRefs returns which of skus the catalog has and which of locations
// exist.
func (s *Store) KnownRefs(ctx context.Context, skus, locations []string) (map[string]bool, map[string]bool, error) {
	known := func(what, query string, ids []string) (map[string]bool, error) {
		out := make(map[string]bool, len(ids))
		if len(ids) == 0 {
			return out, nil
		}
		list, _ := json.Marshal(ids)
		rows, err := s.r.QueryContext(ctx, query, string(list))
		if err != nil {
			return nil, fmt.Errorf("sqlite: known %s: %w", what, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, fmt.Errorf("sqlite: known %s: %w", what, err)
			}
			out[id] = true
		}
		return out, rows.Err()
	}
	ks, err := known("skus", queries.Get("known-skus"), skus)
	if err != nil {
		return nil, nil, err
	}
	kl, err := known("locations", queries.Get("known-locations"), locations)
	return ks, kl, err
}

// getDoc reads one JSON document column into v.
func (s *Store) getDoc(ctx context.Context, kind, id string, v any, query string, args ...any) error {
	return scanDoc(s.r.QueryRowContext(ctx, query, args...), kind, id, v)
}

func scanDoc(row *sql.Row, kind, id string, v any) error {
	what := kind + " " + id
	var doc []byte
	err := row.Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %w", problem.NotFound(kind, id))
	}
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if err := json.Unmarshal(doc, v); err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// listDocs runs a query whose rows are one JSON document each.
func listDocs[T any](ctx context.Context, q queryer, what, query string, args ...any) ([]*T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		v := new(T)
		if err := json.Unmarshal(doc, v); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return out, nil
}
