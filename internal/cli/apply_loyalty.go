package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// loyaltyRow is the loyalty programme an apply saved or left alone.
type loyaltyRow struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Changed bool   `json:"changed"`
}

// applyLoyalty saves the loyalty programme (kind: loyalty): there is one,
// and an unchanged one keeps its version.
func applyLoyalty(e *env, api *apiClient, set *defSet) ([]loyaltyRow, error) {
	switch len(set.loyalty) {
	case 0:
		return nil, nil
	case 1:
	default:
		var where []string
		for _, d := range set.loyalty {
			where = append(where, d.where+" ("+d.loy.ID+")")
		}
		return nil, fmt.Errorf("%d loyalty programmes in the files applied (%s): a brand runs one programme; keep one kind: loyalty document",
			len(set.loyalty), strings.Join(where, ", "))
	}
	d := set.loyalty[0]
	var saved loyaltyRow
	if err := api.call(e.ctx, "POST", "/api/v1/loyalty/programme", d.loy, &saved); err != nil {
		return nil, fmt.Errorf("%s: %w", d.where, err)
	}
	return []loyaltyRow{saved}, nil
}

func printLoyalty(w io.Writer, rows []loyaltyRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVERSION\tCHANGE")
	for _, r := range rows {
		change := "unchanged"
		if r.Changed {
			change = "saved"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", r.ID, r.Version, change)
	}
	tw.Flush()
}
