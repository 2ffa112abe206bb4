package cli

import (
	"fmt"
	"slices"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/problem"
)

func (c *catalogImportCmd) Run(g *config.Globals, e *env) error {
	var buf buffer[*commerce.Product]
	// CSV rows are variants: a product is complete only at the end of the
	// file, so CSV products are written then, in file order.
	byID := map[string]int{}
	write := func(r *importRun) func([]*commerce.Product) error {
		return func(ps []*commerce.Product) error { return r.svc.UpsertProducts(e.ctx, ps) }
	}
	return c.run(g, e, "products", false, func(r *importRun, line int, raw []byte, fields map[string]string) error {
		var p *commerce.Product
		var err error
		if fields != nil {
			p, err = commerce.ProductFromCSV(fields)
		} else {
			p = new(commerce.Product)
			if err = commerce.DecodeJSON(raw, p); err == nil {
				err = p.Validate()
			}
		}
		if err != nil {
			r.reject(line, raw, err)
			return nil
		}
		if fields == nil {
			buf.add(p, line, raw)
			return nil
		}
		i, seen := byID[p.ID]
		if !seen {
			byID[p.ID] = len(buf.items)
			buf.add(p, line, raw)
			return nil
		}
		into := buf.items[i]
		v := p.Variants[0]
		if slices.ContainsFunc(into.Variants, func(x commerce.Variant) bool { return x.SKU == v.SKU }) {
			r.reject(line, raw, problem.Invalid("sku", v.SKU+" appears twice for product "+p.ID))
			return nil
		}
		into.Variants = append(into.Variants, v)
		return nil
	}, func(r *importRun, final bool) error {
		if len(byID) > 0 && !final {
			return nil // CSV: wait for the whole file
		}
		return buf.flush(e.ctx, r, write(r))
	})
}

func (c *locationsImportCmd) Run(g *config.Globals, e *env) error {
	var buf buffer[*commerce.Location]
	defer func() {
		if s := findServer(g.DataDir); s != nil {
			fmt.Fprintf(e.stderr, "note: parcours serve (pid %d) read its physical stores at start: restart it for nearest_store and near conditions to know new ones\n", s.PID)
		}
	}()
	return c.run(g, e, "locations", false, func(r *importRun, line int, raw []byte, fields map[string]string) error {
		var l *commerce.Location
		var err error
		if fields != nil {
			l, err = commerce.LocationFromCSV(fields)
		} else {
			l = new(commerce.Location)
			if err = commerce.DecodeJSON(raw, l); err == nil {
				err = commerce.ValidateLocation(l)
			}
		}
		if err != nil {
			r.reject(line, raw, err)
			return nil
		}
		buf.add(l, line, raw)
		return nil
	}, func(r *importRun, _ bool) error {
		return buf.flush(e.ctx, r, func(ls []*commerce.Location) error { return r.svc.UpsertLocations(e.ctx, ls) })
	})
}

func (c *stockImportCmd) Run(g *config.Globals, e *env) error {
	var buf buffer[commerce.StockLevel]
	return c.run(g, e, "stock", !c.NoEvents, func(r *importRun, line int, raw []byte, fields map[string]string) error {
		var l commerce.StockLevel
		var err error
		if fields != nil {
			l, err = commerce.StockFromCSV(fields)
		} else {
			var rec struct {
				SKU      string `json:"sku"`
				Location string `json:"location_id"`
				OnHand   int64  `json:"on_hand"`
				Safety   int64  `json:"safety"`
			}
			if err = commerce.DecodeJSON(raw, &rec); err == nil {
				l = commerce.StockLevel{SKU: rec.SKU, Location: rec.Location, OnHand: rec.OnHand, Safety: rec.Safety}
				err = commerce.CheckStockRow(l)
			}
		}
		if err != nil {
			r.reject(line, raw, err)
			return nil
		}
		buf.add(l, line, raw)
		return nil
	}, func(r *importRun, _ bool) error {
		// Rows of unknown SKUs or locations are rejected here, each on its
		// line, so that the batch is written whole.
		unknown, err := r.svc.CheckStockRefs(e.ctx, buf.items)
		if err != nil {
			return err
		}
		var known buffer[commerce.StockLevel]
		for i, l := range buf.items {
			if unknown[i] != nil {
				r.reject(buf.lines[i], buf.raws[i], unknown[i])
				continue
			}
			known.add(l, buf.lines[i], buf.raws[i])
		}
		buf.items, buf.lines, buf.raws = buf.items[:0], buf.lines[:0], buf.raws[:0]
		return known.flush(e.ctx, r, func(ls []commerce.StockLevel) error {
			_, err := r.svc.SetStock(e.ctx, ls)
			return err
		})
	})
}
