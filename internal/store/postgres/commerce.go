package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

var _ store.Commerce = (*Store)(nil)

// UpsertProducts writes products and re-indexes their SKUs. A product
// (or a SKU) given twice takes its last version, as row-by-row upserts
// would; one INSERT ... ON CONFLICT cannot touch a row twice.
func (s *Store) UpsertProducts(ctx context.Context, ps []*commerce.Product) error {
	ps = lastByID(ps, func(p *commerce.Product) string { return p.ID })
	ids, docs, ats := make([]string, len(ps)), make([][]byte, len(ps)), make([]time.Time, len(ps))
	owner := map[string]string{}
	var skus []string
	for i, p := range ps {
		doc, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("postgres: upsert products: %w", err)
		}
		ids[i], docs[i], ats[i] = p.ID, doc, p.UpdatedAt
		for _, v := range p.Variants {
			if _, seen := owner[v.SKU]; !seen {
				skus = append(skus, v.SKU)
			}
			owner[v.SKU] = p.ID
		}
	}
	owners := make([]string, len(skus))
	for i, sku := range skus {
		owners[i] = owner[sku]
	}
	return s.inTx(ctx, "upsert products", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, queries.Get("upsert-products"), ids, docs, ats); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, queries.Get("delete-product-skus"), ids); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, queries.Get("upsert-product-skus"), skus, owners)
		return err
	})
}

// Product returns a product by id.
func (s *Store) Product(ctx context.Context, id string) (*commerce.Product, error) {
	var p commerce.Product
	return &p, scanDoc(s.pool.QueryRow(ctx, queries.Get("product"), id), "product", id, &p)
}

// ProductsBySKU returns the products holding skus, by SKU.
func (s *Store) ProductsBySKU(ctx context.Context, skus []string) (map[string]*commerce.Product, error) {
	out := make(map[string]*commerce.Product, len(skus))
	rows, err := s.pool.Query(ctx, queries.Get("products-by-sku"), skus)
	if err != nil {
		return nil, fmt.Errorf("postgres: products by sku: %w", err)
	}
	var sku string
	var doc []byte
	if _, err := pgx.ForEachRow(rows, []any{&sku, &doc}, func() error {
		var p commerce.Product
		if err := json.Unmarshal(doc, &p); err != nil {
			return err
		}
		out[sku] = &p
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: products by sku: %w", err)
	}
	return out, nil
}

// ListProducts returns products by id.
func (s *Store) ListProducts(ctx context.Context, after string, limit int) ([]*commerce.Product, error) {
	return listDocs[commerce.Product](ctx, s.pool, "list products", queries.Get("list-products"), after, store.ListPage.Size(limit))
}

// UpsertLocations writes locations.
func (s *Store) UpsertLocations(ctx context.Context, ls []*commerce.Location) error {
	ls = lastByID(ls, func(l *commerce.Location) string { return l.ID })
	ids, docs, ats := make([]string, len(ls)), make([][]byte, len(ls)), make([]time.Time, len(ls))
	for i, l := range ls {
		doc, err := json.Marshal(l)
		if err != nil {
			return fmt.Errorf("postgres: upsert locations: %w", err)
		}
		ids[i], docs[i], ats[i] = l.ID, doc, l.UpdatedAt
	}
	if _, err := s.pool.Exec(ctx, queries.Get("upsert-locations"), ids, docs, ats); err != nil {
		return fmt.Errorf("postgres: upsert locations: %w", err)
	}
	return nil
}

// Location returns a location by id.
func (s *Store) Location(ctx context.Context, id string) (*commerce.Location, error) {
	var l commerce.Location
	return &l, scanDoc(s.pool.QueryRow(ctx, queries.Get("location"), id), "location", id, &l)
}

// ListLocations returns locations by id.
func (s *Store) ListLocations(ctx context.Context, after string, limit int) ([]*commerce.Location, error) {
	return listDocs[commerce.Location](ctx, s.pool, "list locations", queries.Get("list-locations"), after, store.ScanPage.Size(limit))
}

// KnownRefs returns which of skus the catalog has and which of locations
// exist.
func (s *Store) KnownRefs(ctx context.Context, skus, locations []string) (map[string]bool, map[string]bool, error) {
	known := func(what, query string, ids []string) (map[string]bool, error) {
		out := make(map[string]bool, len(ids))
		if len(ids) == 0 {
			return out, nil
		}
		rows, err := s.pool.Query(ctx, query, ids)
		if err != nil {
			return nil, fmt.Errorf("postgres: known %s: %w", what, err)
		}
		var id string
		if _, err := pgx.ForEachRow(rows, []any{&id}, func() error { out[id] = true; return nil }); err != nil {
			return nil, fmt.Errorf("postgres: known %s: %w", what, err)
		}
		return out, nil
	}
	ks, err := known("skus", queries.Get("known-skus"), skus)
	if err != nil {
		return nil, nil, err
	}
	kl, err := known("locations", queries.Get("known-locations"), locations)
	return ks, kl, err
}

func scanDoc(row pgx.Row, kind, id string, v any) error {
	what := kind + " " + id
	var doc []byte
	err := row.Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %w", problem.NotFound(kind, id))
	}
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	if err := json.Unmarshal(doc, v); err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	return nil
}

type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// listDocs runs a query whose rows are one JSON document each.
func listDocs[T any](ctx context.Context, q queryer, what, query string, args ...any) ([]*T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	var out []*T
	var doc []byte
	if _, err := pgx.ForEachRow(rows, []any{&doc}, func() error {
		v := new(T)
		if err := json.Unmarshal(doc, v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return out, nil
}

// lastByID keeps the last item of each id, in the order of first
// appearance.
func lastByID[T any](items []T, id func(T) string) []T {
	at := make(map[string]int, len(items))
	out := make([]T, 0, len(items))
	for _, it := range items {
		if i, ok := at[id(it)]; ok {
			out[i] = it
			continue
		}
		at[id(it)] = len(out)
		out = append(out, it)
	}
	return out
}
