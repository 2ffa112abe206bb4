package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/segment"
)

// WithMeasure serves the Measure endpoints (/api/v1/measure/...).
func (a *API) WithMeasure(m *measure.Service) *API {
	a.measure = m
	return a
}

// errNoMeasure answers the measure routes of a server without the service.
var errNoMeasure = &problem.Error{Kind: problem.KindNotFound, Code: "not_found", Message: "measurement is not enabled on this server",
	Details: map[string]string{"kind": "measure service"}}

// measureService returns the service, or answers 404 when this server has
// none.
func (a *API) measureService(w http.ResponseWriter) *measure.Service {
	if a.measure == nil {
		httpjson.Fail(w, nil, a.log, errNoMeasure)
	}
	return a.measure
}

// list reads a comma-separated query parameter.
func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// measureKPIs serves GET /api/v1/measure/kpis?from=&to=&kpis=&breakdown=&interval=&format=csv.
func (a *API) measureKPIs(w http.ResponseWriter, r *http.Request) {
	m := a.measureService(w)
	if m == nil {
		return
	}
	q := r.URL.Query()
	rep, err := m.Engine.KPIs(r.Context(), measure.KPIQuery{From: q.Get("from"), To: q.Get("to"), KPIs: list(q.Get("kpis")),
		Breakdown: q.Get("breakdown"), Interval: q.Get("interval")})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if q.Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="kpis-`+rep.Range.From+`-`+rep.Range.To+`.csv"`)
		if err := measure.WriteKPIsCSV(w, rep); err != nil {
			a.log.Error("api: write kpis csv", "err", err)
		}
		return
	}
	httpjson.Write(w, http.StatusOK, rep)
}

// csvReply writes a report as CSV (format=csv) with write, else as JSON.
func (a *API) csvReply(w http.ResponseWriter, r *http.Request, name string, v any, err error, write func(io.Writer) error) {
	if err != nil || r.URL.Query().Get("format") != "csv" {
		a.reply(w, r, http.StatusOK, v, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	if err := write(w); err != nil {
		a.log.Error("api: write csv", "report", name, "err", err)
	}
}

// measureKPIDefinitions serves GET /api/v1/measure/kpis/definitions: every
// KPI with its unit, formula and breakdowns.
func (a *API) measureKPIDefinitions(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]any{"kpis": measure.KPIs(), "default": measure.DefaultKPIs})
}

// measureCosts serves GET /api/v1/measure/costs?from=&to=.
func (a *API) measureCosts(w http.ResponseWriter, r *http.Request) {
	m := a.measureService(w)
	if m == nil {
		return
	}
	rows, err := m.Costs(r.Context(), r.URL.Query().Get("from"), r.URL.Query().Get("to"))
	a.reply(w, r, http.StatusOK, map[string]any{"costs": rows}, err)
}

// importCosts serves POST /api/v1/measure/costs: a CSV body of
// date,channel,campaign,spend,currency.
func (a *API) importCosts(w http.ResponseWriter, r *http.Request) {
	m := a.measureService(w)
	if m == nil {
		return
	}
	out, err := m.ImportCosts(r.Context(), io.LimitReader(r.Body, 64<<20))
	a.reply(w, r, http.StatusOK, out, err)
}

// measureStatus serves GET /api/v1/measure/status.
func (a *API) measureStatus(w http.ResponseWriter, r *http.Request) {
	m := a.measureService(w)
	if m == nil {
		return
	}
	st, err := m.Status(r.Context())
	a.reply(w, r, http.StatusOK, st, err)
}

// measureRebuild serves POST /api/v1/measure/rebuild: the rollups are
// dropped and counted again from the log, in the background.
func (a *API) measureRebuild(w http.ResponseWriter, r *http.Request) {
	m := a.measureService(w)
	if m == nil {
		return
	}
	err := m.Rebuild()
	a.reply(w, r, http.StatusAccepted, map[string]string{"status": "rebuilding"}, err)
}

// measureFunnel serves POST /api/v1/measure/funnel: the body is a funnel
// (steps, window, order, from, to).
func (a *API) measureFunnel(w http.ResponseWriter, r *http.Request) {
	m := a.measureService(w)
	if m == nil {
		return
	}
	var q measure.FunnelQuery
	if err := decodeBody(r, &q); err != nil {
		a.fail(w, r, err)
		return
	}
	// The range may also come in the query string, as every other report
	// takes it; given in both places it must agree.
	for _, f := range []struct {
		name string
		v    *string
	}{{"from", &q.From}, {"to", &q.To}} {
		switch v := r.URL.Query().Get(f.name); {
		case v == "":
		case *f.v == "":
			*f.v = v
		case *f.v != v:
			a.fail(w, r, problem.Invalid(f.name, fmt.Sprintf("is %q in the query string but %q in the body: give it once", v, *f.v)))
			return
		}
	}
	rep, err := m.Engine.Funnel(r.Context(), q)
	a.csvReply(w, r, "funnel", rep, err, func(w io.Writer) error { return measure.WriteFunnelCSV(w, rep) })
}

// measureExperiment serves GET /api/v1/measure/experiments/{journey}?confidence=0.95&window=7d:
// the journey's holdout and A/B splits with their significance.
func (a *API) measureExperiment(w http.ResponseWriter, r *http.Request) {
	m := a.measureService(w)
	if m == nil {
		return
	}
	q := measure.ExperimentQuery{Journey: r.PathValue("journey")}
	if v := r.URL.Query().Get("confidence"); v != "" {
		c, err := strconv.ParseFloat(v, 64)
		if err != nil {
			a.fail(w, r, problem.Invalid("confidence", "is a level like 0.95"))
			return
		}
		q.Confidence = c
	}
	if v := r.URL.Query().Get("window"); v != "" {
		d, err := segment.ParseDuration(v)
		if err != nil {
			a.fail(w, r, problem.Invalid("window", err.Error()))
			return
		}
		q.Window = d
	}
	rep, err := m.Experiment(r.Context(), q)
	a.reply(w, r, http.StatusOK, rep, err)
}

// measureCohorts serves GET /api/v1/measure/cohorts?from=&to=&interval=week|month&by=first_order|first_seen&activity=orders|visits&split=&periods=.
func (a *API) measureCohorts(w http.ResponseWriter, r *http.Request) {
	m := a.measureService(w)
	if m == nil {
		return
	}
	q := r.URL.Query()
	c := measure.CohortQuery{From: q.Get("from"), To: q.Get("to"), Interval: q.Get("interval"), By: q.Get("by"), Activity: q.Get("activity"), Split: q.Get("split")}
	if v := q.Get("periods"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			a.fail(w, r, problem.Invalid("periods", "is a number of periods, at least 1"))
			return
		}
		c.Periods = n
	}
	rep, err := m.Engine.Cohorts(r.Context(), c)
	a.csvReply(w, r, "cohorts", rep, err, func(w io.Writer) error { return measure.WriteCohortsCSV(w, rep) })
}

// measureAttribution serves GET /api/v1/measure/attribution?from=&to=&lookback=30d&half_life=7d&by=touchpoint|channel|journey|kind.
func (a *API) measureAttribution(w http.ResponseWriter, r *http.Request) {
	m := a.measureService(w)
	if m == nil {
		return
	}
	q := r.URL.Query()
	aq := measure.AttributionQuery{From: q.Get("from"), To: q.Get("to"), By: q.Get("by")}
	for field, dst := range map[string]*segment.Duration{"lookback": &aq.Lookback, "half_life": &aq.HalfLife} {
		if v := q.Get(field); v != "" {
			d, err := segment.ParseDuration(v)
			if err != nil {
				a.fail(w, r, problem.Invalid(field, err.Error()))
				return
			}
			*dst = d
		}
	}
	rep, err := m.Engine.Attribution(r.Context(), aq)
	a.csvReply(w, r, "attribution", rep, err, func(w io.Writer) error { return measure.WriteAttributionCSV(w, rep) })
}

// listMeasureReports serves GET /api/v1/measure/reports: the saved funnels
// and reports.
func (a *API) listMeasureReports(w http.ResponseWriter, r *http.Request) {
	m := a.measureService(w)
	if m == nil {
		return
	}
	list, err := m.Definitions(r.Context())
	a.reply(w, r, http.StatusOK, map[string]any{"reports": list}, err)
}

// saveMeasureReports serves POST /api/v1/measure/reports
// {"reports":[definition, ...]} (?dry_run=true: validate only).
func (a *API) saveMeasureReports(w http.ResponseWriter, r *http.Request) {
	m := a.measureService(w)
	if m == nil {
		return
	}
	var body struct {
		Reports []*measure.Definition `json:"reports"`
	}
	if err := decodeBody(r, &body); err != nil {
		a.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("dry_run") == "true" {
		for _, d := range body.Reports {
			if err := d.Validate(); err != nil {
				a.fail(w, r, err)
				return
			}
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"valid": true})
		return
	}
	saved, err := m.SaveDefinitions(r.Context(), body.Reports)
	a.reply(w, r, http.StatusOK, map[string]any{"reports": saved}, err)
}

func (a *API) getMeasureReport(w http.ResponseWriter, r *http.Request) {
	m := a.measureService(w)
	if m == nil {
		return
	}
	d, err := m.Definition(r.Context(), r.PathValue("id"))
	a.reply(w, r, http.StatusOK, d, err)
}

func (a *API) deleteMeasureReport(w http.ResponseWriter, r *http.Request) {
	m := a.measureService(w)
	if m == nil {
		return
	}
	err := m.DeleteDefinition(r.Context(), r.PathValue("id"))
	a.reply(w, r, http.StatusOK, map[string]string{"deleted": r.PathValue("id")}, err)
}

// runMeasureReport serves GET /api/v1/measure/reports/{id}/run?from=&to=:
// the saved report's answer, over its range by default.
func (a *API) runMeasureReport(w http.ResponseWriter, r *http.Request) {
	m := a.measureService(w)
	if m == nil {
		return
	}
	out, err := m.Run(r.Context(), r.PathValue("id"), r.URL.Query().Get("from"), r.URL.Query().Get("to"))
	a.reply(w, r, http.StatusOK, out, err)
}
