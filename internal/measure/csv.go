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

// WriteFunnelCSV writes a funnel's steps, then its friction points:
// section,step,name,customers,conversion,from_previous,median_seconds,what,channel.
func WriteFunnelCSV(w io.Writer, r *FunnelReport) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"section", "step", "name", "customers", "conversion", "from_previous", "median_seconds", "what", "channel"})
	for _, s := range r.Steps {
		_ = cw.Write([]string{"step", strconv.Itoa(s.Step), s.Name, strconv.FormatInt(s.Customers, 10), csvNum(s.Conversion),
			csvNum(s.FromPrevious), csvNum(s.MedianSeconds), "", ""})
	}
	for _, f := range r.Friction {
		for _, t := range f.Then {
			_ = cw.Write([]string{"dropped", strconv.Itoa(f.After), f.Step, strconv.FormatInt(t.Customers, 10), "", "", "", t.What, t.Channel})
		}
		for _, o := range f.Ordered {
			_ = cw.Write([]string{"dropped", strconv.Itoa(f.After), f.Step, strconv.FormatInt(o.Customers, 10), "", "", "", "ordered_anyway", o.Channel})
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteCohortsCSV writes a cohort table, one row per cohort and period:
// cohort,value,customers,offset,period,active,retention,revenue,cumulative_revenue_per_customer.
func WriteCohortsCSV(w io.Writer, r *CohortReport) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"cohort", "value", "customers", "offset", "period", "active", "retention", "revenue", "cumulative_revenue_per_customer"})
	for _, c := range r.Cohorts {
		for _, p := range c.Periods {
			_ = cw.Write([]string{c.Period, c.Value, strconv.FormatInt(c.Size, 10), strconv.Itoa(p.Offset), p.Period, strconv.FormatInt(p.Active, 10),
				csvNum(p.Retention), strconv.FormatFloat(p.Revenue, 'f', 2, 64), csvNum(p.CumulativeARPU)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteAttributionCSV writes one row per touchpoint (or channel, journey,
// kind) and model: kind,channel,campaign,journey,touches,model,orders,revenue.
func WriteAttributionCSV(w io.Writer, r *AttributionReport) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"kind", "channel", "campaign", "journey", "touches", "model", "orders", "revenue"})
	for _, row := range r.Rows {
		for _, m := range r.Models {
			v := row.Credit[m]
			_ = cw.Write([]string{row.Kind, row.Channel, row.Campaign, row.Journey, strconv.FormatInt(row.Touches, 10), m,
				strconv.FormatFloat(v.Orders, 'f', -1, 64), strconv.FormatFloat(v.Revenue, 'f', 2, 64)})
		}
	}
	cw.Flush()
	return cw.Error()
}
