package cli

import (
	"context"
	"fmt"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/place"
)

// physicalStores are the stores of the nearest-store trait and of near
// conditions: the data's commerce locations of kind store that have a
// position (parcours locations import), and the --stores-file entries,
// which win for the same id. Every command reads the same ones, so that
// profiles get shows the nearest_store serve computes without a flag to
// repeat.
func physicalStores(ctx context.Context, g *config.Globals, st commerce.Store) ([]place.Location, error) {
	file, err := g.PhysicalStores()
	if err != nil {
		return nil, err
	}
	var out []place.Location
	seen := map[string]bool{}
	for _, s := range file {
		seen[s.ID] = true
		out = append(out, s)
	}
	for after := ""; ; {
		page, err := st.ListLocations(ctx, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("stores from the data's locations: %w", err)
		}
		for _, l := range page {
			if l.Kind == commerce.KindStore && (l.Lat != 0 || l.Lon != 0) && !seen[l.ID] {
				out = append(out, *l) // the same type: no conversion, nothing lost
			}
		}
		if len(page) < 1000 {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}
