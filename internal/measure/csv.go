package measure

import (
	"encoding/csv"
	"io"
	"strconv"
)

// WriteKPIsCSV writes a report as CSV, one row per KPI, breakdown value
// and point of its series (the whole range first, as bucket "total"):
// kpi,unit,breakdown,value,bucket,current,previous.
func WriteKPIsCSV(w io.Writer, r *KPIReport) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"kpi", "unit", "breakdown", "value", "bucket", "current", "previous"})
	for _, k := range r.KPIs {
		_ = cw.Write([]string{k.ID, k.Unit, "", "", "total", csvNum(k.Value), csvNum(k.Previous)})
		for i, p := range k.Series {
			var prev *float64
			if i < len(k.PreviousSeries) {
				prev = k.PreviousSeries[i].V
			}
			_ = cw.Write([]string{k.ID, k.Unit, "", "", p.T, csvNum(p.V), csvNum(prev)})
		}
		for _, b := range k.Breakdown {
			_ = cw.Write([]string{k.ID, k.Unit, r.Breakdown, b.Value, "total", csvNum(b.Current), csvNum(b.Previous)})
			for _, p := range b.Series {
				_ = cw.Write([]string{k.ID, k.Unit, r.Breakdown, b.Value, p.T, csvNum(p.V), ""})
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvNum writes a value, "" when it is undefined.
func csvNum(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}
