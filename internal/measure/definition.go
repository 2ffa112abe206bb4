package measure

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/segment"
)

// The kinds of saved reports, as definition files name them.
const (
	KindFunnel = "funnel"
	KindReport = "report"
)

// The reports a kind: report runs.
const (
	ReportKPIs        = "kpis"
	ReportCohorts     = "cohorts"
	ReportAttribution = "attribution"
)

// Definition is a saved report, kept in a file and applied with parcours
// apply like segments and journeys: a funnel (kind: funnel) or a KPI
// dashboard, cohort table or attribution (kind: report, report: kpis,
// cohorts or attribution). Range is the default range it runs over: the
// last N days to today (default 30d).
type Definition struct {
	Kind  string           `json:"kind" yaml:"kind"`
	ID    string           `json:"id" yaml:"id"`
	Name  string           `json:"name,omitempty" yaml:"name,omitempty"`
	Range segment.Duration `json:"range,omitempty" yaml:"range,omitempty"`
	// Funnels.
	Steps  []FunnelStep     `json:"steps,omitempty" yaml:"steps,omitempty"`
	Window segment.Duration `json:"window,omitempty" yaml:"window,omitempty"`
	Order  string           `json:"order,omitempty" yaml:"order,omitempty"`
	// Reports.
	Report    string   `json:"report,omitempty" yaml:"report,omitempty"`
	KPIs      []string `json:"kpis,omitempty" yaml:"kpis,omitempty"`
	Breakdown string   `json:"breakdown,omitempty" yaml:"breakdown,omitempty"`
	Interval  string   `json:"interval,omitempty" yaml:"interval,omitempty"`
	// Cohorts (by, activity, split, periods) and attribution (by,
	// lookback, half_life).
	By       string           `json:"by,omitempty" yaml:"by,omitempty"`
	Activity string           `json:"activity,omitempty" yaml:"activity,omitempty"`
	Split    string           `json:"split,omitempty" yaml:"split,omitempty"`
	Periods  int              `json:"periods,omitempty" yaml:"periods,omitempty"`
	Lookback segment.Duration `json:"lookback,omitempty" yaml:"lookback,omitempty"`
	HalfLife segment.Duration `json:"half_life,omitempty" yaml:"half_life,omitempty"`
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Validate checks a definition as far as it can without data: every field
// a report reads is one it knows, and only the fields of its kind are set.
// An error names the definition and the field.
func (d *Definition) Validate() error {
	fail := func(field, reason string, args ...any) error {
		return problem.Invalid(d.ID+": "+field, fmt.Sprintf(reason, args...))
	}
	if !idPattern.MatchString(d.ID) {
		return problem.Invalid("id", fmt.Sprintf("%q: an id is 1-64 lower-case letters, digits, - and _", d.ID))
	}
	if d.Range < 0 || time.Duration(d.Range) > maxDays*24*time.Hour {
		return fail("range", "is the number of days reports run over by default, like 30d")
	}
	funnelSet := len(d.Steps) > 0 || d.Window != 0 || d.Order != ""
	switch d.Kind {
	case KindFunnel:
		if d.Report != "" || len(d.KPIs) > 0 || d.Breakdown != "" || d.Interval != "" || d.By != "" || d.Activity != "" || d.Split != "" ||
			d.Periods != 0 || d.Lookback != 0 || d.HalfLife != 0 {
			return fail("kind", "a funnel has steps, window, order and range; report fields (report, kpis, breakdown, ...) belong to kind: report")
		}
		q := d.funnel("", "")
		if err := q.check(); err != nil {
			return fail("funnel", "%v", err)
		}
	case KindReport:
		if funnelSet {
			return fail("kind", "steps, window and order belong to kind: funnel")
		}
		switch d.Report {
		case ReportKPIs:
			for _, id := range d.KPIs {
				if kpis[id] == nil {
					return fail("kpis", "%q is not a KPI; KPIs: %s", id, strings.Join(kpiOrder, ", "))
				}
			}
			if d.Breakdown != "" && !slices.Contains(dims, d.Breakdown) {
				return fail("breakdown", "%q is not one of %s", d.Breakdown, strings.Join(dims, ", "))
			}
			if d.Interval != "" && !slices.Contains([]string{IntervalDay, IntervalWeek, IntervalMonth}, d.Interval) {
				return fail("interval", "%q is not day, week or month", d.Interval)
			}
			if d.By != "" || d.Activity != "" || d.Split != "" || d.Periods != 0 || d.Lookback != 0 || d.HalfLife != 0 {
				return fail("report", "a kpis report has kpis, breakdown, interval and range")
			}
		case ReportCohorts:
			if len(d.KPIs) > 0 || d.Breakdown != "" || d.Lookback != 0 || d.HalfLife != 0 {
				return fail("report", "a cohorts report has interval, by, activity, split, periods and range")
			}
			if d.Interval != "" && d.Interval != IntervalWeek && d.Interval != IntervalMonth {
				return fail("interval", "%q: cohorts are by week or month", d.Interval)
			}
			if d.By != "" && d.By != CohortFirstOrder && d.By != CohortFirstSeen {
				return fail("by", "%q is not first_order or first_seen", d.By)
			}
			if d.Activity != "" && d.Activity != ActivityOrders && d.Activity != ActivityVisits {
				return fail("activity", "%q is not orders or visits", d.Activity)
			}
		case ReportAttribution:
			if len(d.KPIs) > 0 || d.Breakdown != "" || d.Interval != "" || d.Activity != "" || d.Split != "" || d.Periods != 0 {
				return fail("report", "an attribution report has by, lookback, half_life and range")
			}
			if d.By != "" && !slices.Contains([]string{ByTouchpoint, ByChannel, ByJourney, ByKind}, d.By) {
				return fail("by", "%q is not touchpoint, channel, journey or kind", d.By)
			}
		default:
			return fail("report", "%q: a report is kpis, cohorts or attribution", d.Report)
		}
	default:
		return fail("kind", "%q: saved reports are kind funnel or report", d.Kind)
	}
	return nil
}

// rangeOf returns the range a saved report runs over: from and to as
// given, else its default, the last Range days (30 by default) to today.
func (d *Definition) rangeOf(from, to string, today int32) (string, string) {
	if from != "" || to != "" {
		return from, to
	}
	days := int32(time.Duration(d.Range) / (24 * time.Hour))
	if days <= 0 {
		days = 30
	}
	return dayString(today - days + 1), dayString(today)
}

func (d *Definition) funnel(from, to string) FunnelQuery {
	return FunnelQuery{From: from, To: to, Steps: slices.Clone(d.Steps), Window: d.Window, Order: d.Order}
}

// ParseDefinitions reads kind: funnel and kind: report documents (YAML or
// JSON), strictly: an unknown field is an error with its line.
func ParseDefinitions(where string, r io.Reader) ([]*Definition, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var out []*Definition
	for i := 1; ; i++ {
		var d Definition
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", where, i, err)
		}
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", where, i, err)
		}
		out = append(out, &d)
	}
}

// encode is the stored form of a definition.
func (d *Definition) encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(d)
	return bytes.TrimSpace(b.Bytes()), err
}
