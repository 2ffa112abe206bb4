package clienteling

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
)

// maxKeys bounds the identifiers whose carts and orders a view reads: a
// customer seen on many devices holds many anonymous ids, and their most
// stable identifiers (user id, email) come first.
const maxKeys = 6

// stockReaders is how many stock reads a view makes at once.
const stockReaders = 4

// orderKinds are the identifier kinds orders are kept under
// (commerce.Customer.Key), the most stable first.
var orderKinds = []identity.Kind{identity.UserID, identity.Email, identity.AnonymousID}

// commerce reads the one cart, the orders with their returns, and the
// stock in the viewer's store of the products shown.
func (s *Service) commerce(ctx context.Context, p *profile.Profile, v Viewer, lim Limits, out *View) error {
	if v.Store != "" {
		loc, err := s.Commerce.Location(ctx, v.Store)
		switch {
		case errors.Is(err, problem.ErrNotFound):
			return &problem.NotFoundError{Kind: "store", ID: problem.Clip(v.Store), Hint: "GET /api/v1/locations lists the stores"}
		case err != nil:
			return fmt.Errorf("clienteling: store %s: %w", v.Store, err)
		}
		out.Store.Name = loc.Name
	}
	keys := commerce.CartKeys(p, nil)
	for i, k := range keys {
		if i == maxKeys {
			break
		}
		c, err := s.Commerce.Cart(ctx, k)
		if err != nil {
			return fmt.Errorf("clienteling: cart %s: %w", k, err)
		}
		if c.Version != 0 {
			out.Cart = c
			break
		}
	}
	if out.Cart == nil && len(keys) > 0 {
		out.Cart = commerce.EmptyCart(keys[0])
	}
	return s.orders(ctx, p, lim, out)
}

func (s *Service) orders(ctx context.Context, p *profile.Profile, lim Limits, out *View) error {
	out.Orders = []Order{}
	var list []*commerce.Order
	n := 0
	for _, k := range orderKinds {
		for _, id := range p.Identifiers {
			if id.Kind != k || n == maxKeys {
				continue
			}
			n++
			os, err := s.Commerce.ListOrders(ctx, commerce.OrderQuery{Customer: id.String(), Limit: lim.Orders})
			if err != nil {
				return fmt.Errorf("clienteling: orders of %s: %w", id, err)
			}
			list = append(list, os...)
		}
	}
	slices.SortFunc(list, func(a, b *commerce.Order) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	list = slices.CompactFunc(list, func(a, b *commerce.Order) bool { return a.ID == b.ID })
	if len(list) > lim.Orders {
		list = list[:lim.Orders]
	}
	for _, o := range list {
		ov := Order{Order: o, Returns: []*commerce.Return{}}
		// Only an order with returned lines has returns: the others cost
		// no read.
		if slices.ContainsFunc(o.Lines, func(l commerce.Line) bool { return l.Returned > 0 }) {
			rs, err := s.Commerce.Returns(ctx, o.ID)
			if err != nil {
				return fmt.Errorf("clienteling: returns of order %s: %w", o.ID, err)
			}
			ov.Returns = rs
		}
		out.Orders = append(out.Orders, ov)
	}
	return nil
}

// stock reads, for each product of the cart, the recent views and the
// recommendations (once each, at most lim.StockSKUs), its row in the
// store: one indexed read per SKU.
func (s *Service) stock(ctx context.Context, storeID string, lim Limits, out *View) error {
	out.Stock = []Stock{}
	idx := map[string]int{}
	add := func(sku, name, why string) {
		if sku == "" {
			return
		}
		if i, ok := idx[sku]; ok {
			if !slices.Contains(out.Stock[i].Why, why) {
				out.Stock[i].Why = append(out.Stock[i].Why, why)
			}
			out.Stock[i].Name = cmp.Or(out.Stock[i].Name, name)
			return
		}
		if len(out.Stock) == lim.StockSKUs {
			return
		}
		idx[sku] = len(out.Stock)
		out.Stock = append(out.Stock, Stock{SKU: sku, Name: name, Why: []string{why}})
	}
	if out.Cart != nil {
		for _, it := range out.Cart.Items {
			add(it.SKU, it.Name, "in_cart")
		}
	}
	for _, r := range out.Recommendations {
		add(r.SKU, r.Name, "recommended")
	}
	for _, v := range out.RecentViews {
		add(v.SKU, v.Name, "viewed")
	}
	// One read per SKU, stockReaders at a time: each fills its own row.
	fns := make([]func() error, 0, stockReaders)
	for w := range min(stockReaders, len(out.Stock)) {
		fns = append(fns, func() error {
			for i := w; i < len(out.Stock); i += stockReaders {
				rows, err := s.Commerce.StockOf(ctx, out.Stock[i].SKU)
				if err != nil {
					return fmt.Errorf("clienteling: stock of %s: %w", out.Stock[i].SKU, err)
				}
				for _, r := range rows {
					if r.Location == storeID {
						out.Stock[i].OnHand, out.Stock[i].Available = r.OnHand, max(r.Available(), 0)
					}
				}
			}
			return nil
		})
	}
	if len(fns) == 0 {
		return nil
	}
	return parallel(fns...)
}
