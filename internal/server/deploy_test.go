package server_test

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/server"
)

// The operators' files in deploy/: the Grafana dashboard and the
// Prometheus alert rules. TestDeployMetricsExist runs serve through
// ingestion (accepted, duplicate, dropped, refused), a message whose
// first provider call fails, and a reservation, reads /metrics, and
// checks that every query parses with Prometheus' own PromQL parser
// (github.com/prometheus/prometheus/promql/parser) and that every metric
// its selectors read is there: a
// renamed metric breaks this test, not the operators' night.

// grafanaVar is a Grafana template variable in a query ($instance,
// ${instance}, $__rate_interval).
var grafanaVar = regexp.MustCompile(`\$\{?(\w+)\}?`)

// labelValues is a Grafana variable's query: label_values(selector, label).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

// promMetrics parses a query with Prometheus' own PromQL parser (Grafana's
// variables replaced by what Grafana puts there: a duration for the
// intervals, a value elsewhere) and returns the metric names its
// selectors read. A query Prometheus would refuse is an error.
func promMetrics(q string) ([]string, error) {
	p := parser.NewParser(parser.Options{})
	if m := labelValues.FindStringSubmatch(q); m != nil {
		matchers, err := p.ParseMetricSelector(m[1])
		if err != nil {
			return nil, err
		}
		for _, lm := range matchers {
			if lm.Name == labels.MetricName {
				return []string{lm.Value}, nil
			}
		}
		return nil, nil
	}
	q = grafanaVar.ReplaceAllStringFunc(q, func(v string) string {
		if strings.Contains(v, "interval") {
			return "5m"
		}
		return "all"
	})
	expr, err := p.ParseExpr(q)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names, nil
}

type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type dashboard struct {
	Title      string `json:"title"`
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Query any `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// deployQueries returns every query of the dashboard and the rules, each
// named by where it is.
func deployQueries(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	raw, err := os.ReadFile("../../deploy/grafana/parcours.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("deploy/grafana/parcours.json: %v", err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("the dashboard has no uid or title")
	}
	panels := 0
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		panels++
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for i, tg := range p.Targets {
			out["panel "+p.Title+" #"+string(rune('A'+i))] = tg.Expr
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(string); ok && strings.Contains(q, "_") {
			out["variable "+q] = q
		}
	}
	raw, err = os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var r alertRules
	if err := yaml.Unmarshal(raw, &r); err != nil {
		t.Fatalf("deploy/prometheus/alerts.yml: %v", err)
	}
	rules := 0
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			rules++
			if rule.Alert == "" || rule.Expr == "" || rule.Labels["severity"] == "" || rule.Annotations["summary"] == "" {
				t.Errorf("rule %q of %s lacks a name, expr, severity or summary", rule.Alert, g.Name)
			}
			if rule.For != "" {
				if _, err := time.ParseDuration(rule.For); err != nil {
					t.Errorf("rule %s: for %q: %v", rule.Alert, rule.For, err)
				}
			}
			out["rule "+rule.Alert] = rule.Expr
		}
	}
	if panels < 10 || rules < 8 {
		t.Errorf("%d panels and %d rules: the files look truncated", panels, rules)
	}
	return out
}

func TestDeployMetricsExist(t *testing.T) {
	push := messagetest.NewRecorder("push-test", provider.Push)
	push.Fail = func(m *provider.Message, try int) error {
		if try == 1 {
			return errors.New("503 from the provider")
		}
		return nil
	}
	h := newHarness(t, func(o *server.Options) {
		o.Providers = message.ProviderSet{provider.Push: {Provider: push}}
		o.Ingest.MaxBatchEvents = 3
	})
	// Ingestion: accepted, a duplicate, one dropped, a batch refused.
	if code, out := h.ingest("/v1/batch", `{"batch":[
		{"type":"identify","userId":"u-1","messageId":"m-1","traits":{"email":"zoe@example.fr","push_opt_in":true},"context":{"device":{"token":"tok-1"}}},
		{"type":"track","userId":"u-1","messageId":"m-1","event":"Product Viewed"},
		{"type":"track","userId":"u-1","messageId":"m-2"}]}`); code != 200 {
		t.Fatalf("batch: %d %v", code, out)
	}
	if code, _ := h.ingest("/v1/batch", `{"batch":[{},{},{},{}]}`); code != 400 {
		t.Fatalf("a batch over the limit: %d, want 400", code)
	}
	// A push whose first provider call fails.
	h.waitUnify()
	code, msg := h.adminJSON("POST", "/api/v1/messages", `{"identifier":"user_id:u-1","channel":"push","topic":"offers",
		"content":{"push":{"title":"Hello","body":"Back in stock"}},"idempotency_key":"deploy-1"}`)
	if code != 202 {
		t.Fatalf("push: %d %v", code, msg)
	}
	// A reservation.
	h.commerceBasics()
	if code, res := h.call("POST", "/api/v1/reservations", `{"sku":"SHOE-42","location_id":"lyon","quantity":1,"customer":{"user_id":"u-1"}}`); code != 201 && code != 200 {
		t.Fatalf("reserve: %d %v", code, res)
	}

	queries := deployQueries(t)
	var missing []string
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, body := h.raw("GET", "/metrics", "", nil)
		have := map[string]bool{}
		for _, line := range strings.Split(body, "\n") {
			if line == "" || line[0] == '#' {
				continue
			}
			name, _, _ := strings.Cut(line, "{")
			name, _, _ = strings.Cut(name, " ")
			have[name] = true
		}
		missing = missing[:0]
		for where, q := range queries {
			names, err := promMetrics(q)
			if err != nil {
				t.Fatalf("%s: Prometheus' parser refuses %q: %v", where, q, err)
			}
			if len(names) == 0 {
				t.Errorf("%s: no metric in %q", where, q)
			}
			for _, n := range names {
				if !have[n] {
					missing = append(missing, where+": "+n)
				}
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // the retried send comes a little later
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("not in /metrics: %s", m)
	}
}

// TestRequestIDEchoed: every answer of the tracking API (and the others)
// carries the request's id: the client's own when it sends one, a fresh
// one otherwise.
func TestRequestIDEchoed(t *testing.T) {
	h := newHarness(t)
	key := basic(h.src.WriteKey + ":")
	_, hdr, _ := h.do("POST", "/v1/track", []byte(`{"userId":"u-1","event":"Product Viewed"}`), map[string]string{"Authorization": key, "X-Request-Id": "sdk-retry-7f3a"})
	if got := hdr.Get("X-Request-Id"); got != "sdk-retry-7f3a" {
		t.Errorf("/v1/track echoed %q, want the client's id", got)
	}
	seen := map[string]bool{}
	for _, path := range []string{"/v1/track", "/v1/nope", "/api/v1/sources"} {
		_, hdr, _ := h.do("POST", path, []byte(`{}`), map[string]string{"Authorization": key})
		id := hdr.Get("X-Request-Id")
		if len(id) != 24 || seen[id] {
			t.Errorf("POST %s: request id %q, want a fresh one", path, id)
		}
		seen[id] = true
	}
}

// TestDockerfile checks deploy/Dockerfile's promises without a Docker
// engine (none on the machines that run the tests): a build stage and a
// runtime stage, a static binary (CGO_ENABLED=0), a numeric non-root
// user, the data directory a volume.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms, users []string
	var volume, static bool
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, line)
		case "USER":
			users = append(users, f[1])
		case "VOLUME":
			volume = volume || strings.Contains(line, "/data")
		case "RUN":
			static = static || strings.Contains(line, "CGO_ENABLED=0 go build")
		}
	}
	if len(froms) < 2 || !strings.Contains(froms[0], " AS ") {
		t.Errorf("not multi-stage: %v", froms)
	}
	if len(users) == 0 {
		t.Fatal("no USER: the image runs as root")
	}
	uid, _, _ := strings.Cut(users[len(users)-1], ":")
	if uid == "0" || uid == "root" || strings.Trim(uid, "0123456789") != "" {
		t.Errorf("USER %s: want a numeric non-root user", users[len(users)-1])
	}
	if !volume || !static {
		t.Errorf("VOLUME /data %v, static build %v", volume, static)
	}
}

// TestPromMetricsParses: the check reads metric names through PromQL's
// parser, not by pattern: a misspelt function or an unbalanced bracket
// fails, and a name inside a label value or a function is not a metric.
func TestPromMetricsParses(t *testing.T) {
	names, err := promMetrics(`sum by (le) (rate(parcours_a_bucket{job="parcours_not_a_metric",instance=~"$instance"}[$__rate_interval])) / on() group_left max(go_goroutines)`)
	if err != nil || strings.Join(names, ",") != "parcours_a_bucket,go_goroutines" {
		t.Errorf("got %v, %v", names, err)
	}
	if names, err := promMetrics(`label_values(parcours_events_accepted_total, instance)`); err != nil || len(names) != 1 || names[0] != "parcours_events_accepted_total" {
		t.Errorf("label_values: %v, %v", names, err)
	}
	for _, bad := range []string{`rat(parcours_x_total[5m])`, `sum(rate(parcours_x_total[5m])`, `parcours_x_total{a="b"[5m]`} {
		if _, err := promMetrics(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
