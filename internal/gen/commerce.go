package gen

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// The commerce side of the simulation, as the CSV files that parcours
// locations, catalog and stock import read: the stores whose tills send
// the pos events, the catalogue whose SKUs the events name, and a stock
// level for every SKU in every store. With them loaded, nearest_store,
// near conditions, in_stock branches and templates naming a store or a
// product find what the generated events refer to.

// openingHours are the opening hours of every store: Monday to Saturday,
// closed on Sunday (store traffic is nil on Sundays, see calendar).
var openingHours = []string{"10:00-19:00", "10:00-19:00", "10:00-19:00", "10:00-19:00", "10:00-19:30", "09:30-19:30", ""}

// WriteStoresCSV writes the stores: id, name, kind, postal code, city,
// country, position, time zone, capabilities and opening hours.
func (g *Generator) WriteStoresCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "name", "kind", "postal_code", "city", "country", "lat", "lon", "time_zone", "capabilities",
		"mon", "tue", "wed", "thu", "fri", "sat", "sun"})
	for _, s := range g.stores {
		row := []string{s.ID, s.Name, "store", s.PostCode, s.City, "FR", coord(s.Lat), coord(s.Lon), "Europe/Paris", "click_collect|returns"}
		cw.Write(append(row, openingHours...))
	}
	cw.Flush()
	return cw.Error()
}

// WriteCatalogCSV writes the catalogue: one product per SKU, its colour
// as the variant's attribute, prices in euros.
func (g *Generator) WriteCatalogCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"product_id", "name", "brand", "categories", "media", "sku", "variant_name", "price", "currency",
		"attr:colour", "product_attr:url", "product_attr:ethical"})
	for _, p := range g.products {
		cw.Write([]string{p.ID, p.Name, p.Brand, p.Category, p.ImageURL, p.SKU, p.Variant,
			strconv.FormatFloat(p.Price, 'f', 2, 64), "EUR", p.Variant, p.URL, strconv.FormatBool(p.Ethical)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteStockCSV writes a stock level for every SKU in every store: 0 to
// 8 on hand, about one in five out of stock, the same for every seed.
func (g *Generator) WriteStockCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"sku", "location_id", "on_hand", "safety"})
	for i, p := range g.products {
		for j, s := range g.stores {
			cw.Write([]string{p.SKU, s.ID, strconv.Itoa(stockOnHand(i, j)), "0"})
		}
	}
	cw.Flush()
	return cw.Error()
}

// stockOnHand is the stock WriteStockCSV gives the i-th product of the
// catalogue in the j-th store.
func stockOnHand(product, store int) int {
	h := hash2(uint64(product)+0x570c, uint64(store))
	if n := int(h % 10); n >= 2 {
		return n - 1
	}
	return 0
}

func coord(v float64) string { return fmt.Sprintf("%.4f", v) }
