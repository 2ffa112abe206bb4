package console

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/parcours/parcours/internal/measure"
)

// chart is what console.js draws: labels and series of the same length.
type chart struct {
	Labels []string      `json:"labels"`
	Series []chartSeries `json:"series"`
}

type chartSeries struct {
	Name   string     `json:"name"`
	Values []*float64 `json:"values"`
}

// kpiCard is one KPI as the dashboard shows it.
type kpiCard struct {
	*measure.KPIResult
	Chart chart
}

// dashboard serves GET /console/: the Measure KPIs over a period (7, 30 or
// 90 days) compared with the period before, each with its series drawn
// against the previous period's, and an optional breakdown.
func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, s *session) {
	if !s.Can("measure:read") {
		http.Redirect(w, r, landing(s), http.StatusSeeOther)
		return
	}
	days, _ := strconv.Atoi(r.URL.Query().Get("days"))
	if days != 7 && days != 90 {
		days = 30
	}
	breakdown := r.URL.Query().Get("breakdown")
	switch breakdown {
	case "channel", "store", "source", "fulfillment", "journey":
	default:
		breakdown = ""
	}
	l := c.localeOf(r)
	today := c.opts.Clock.Now().In(c.opts.Zone)
	q := url.Values{"from": {today.AddDate(0, 0, 1-days).Format("2006-01-02")}, "to": {today.Format("2006-01-02")},
		"kpis": {"revenue,orders,aov,conversion_rate,visitors,new_customers,repeat_rate,nps"}}
	if breakdown != "" {
		q.Set("breakdown", breakdown)
	}
	var rep measure.KPIReport
	if err := c.get(r, s, "/api/v1/measure/kpis", q, &rep); err != nil {
		c.fail(w, r, s, err)
		return
	}
	cards := make([]kpiCard, 0, len(rep.KPIs))
	for _, k := range rep.KPIs {
		ch := chart{Series: []chartSeries{{Name: l.T("dash.current")}, {Name: l.T("dash.previous")}}}
		for i, p := range k.Series {
			ch.Labels = append(ch.Labels, l.ShortDay(p.T))
			ch.Series[0].Values = append(ch.Series[0].Values, p.V)
			var prev *float64
			if i < len(k.PreviousSeries) {
				prev = k.PreviousSeries[i].V
			}
			ch.Series[1].Values = append(ch.Series[1].Values, prev)
		}
		cards = append(cards, kpiCard{KPIResult: k, Chart: ch})
	}
	c.render(w, r, s, "dashboard", http.StatusOK, map[string]any{"Report": rep, "Cards": cards, "Days": days, "Breakdown": breakdown})
}

// KPI formats a KPI's value by its unit.
func (l locale) KPI(unit string, v *float64) string {
	if v == nil {
		return "—"
	}
	switch unit {
	case "currency":
		return l.Money(*v)
	case "ratio":
		return l.Percent(*v)
	case "percent":
		return l.Number(*v, 1) + "\u00a0%"
	case "count":
		return l.Number(*v, 0)
	}
	return l.Number(*v, 1)
}

// Change formats a relative change with its sign: +12,3 %.
func (l locale) Change(v *float64) string {
	if v == nil {
		return ""
	}
	sign := "+"
	if *v < 0 {
		sign = ""
	}
	return sign + l.Percent(*v)
}
