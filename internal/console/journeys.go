package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"time"
)

// journeyView is a journey as GET /api/v1/journeys lists it.
type journeyView struct {
	ID          string           `json:"id"`
	Name        string           `json:"name"`
	Description string           `json:"description"`
	Triggers    []map[string]any `json:"triggers"`
	Steps       []map[string]any `json:"steps"`
	Version     int              `json:"version"`
	Status      string           `json:"status"`
	Enrolments  map[string]int64 `json:"enrolments"`
	UpdatedAt   time.Time        `json:"updated_at"`
}

// Total is how many enrolments the journey has had.
func (j journeyView) Total() int64 {
	var n int64
	for _, v := range j.Enrolments {
		n += v
	}
	return n
}

// journeyStats is GET /api/v1/journeys/{id}/stats.
type journeyStats struct {
	Entered        int64              `json:"entered"`
	Enrolments     map[string]int64   `json:"enrolments"`
	Exits          map[string]int64   `json:"exits"`
	Converted      int64              `json:"converted"`
	ConversionRate float64            `json:"conversion_rate"`
	Steps          []stepCount        `json:"steps"`
	Variants       []map[string]any   `json:"variants"`
	Messages       map[string]any     `json:"messages"`
	ABResults      []map[string]any   `json:"ab_results"`
	Handed         map[string]float64 `json:"handed"`
}

type stepCount struct {
	Version int    `json:"version"`
	Step    string `json:"step"`
	Kind    string `json:"kind"`
	Outcome string `json:"outcome"`
	Count   int64  `json:"count"`
}

// node is one step of the journey as the graph draws it, with its
// counts, and its arms (a branch's cases, a split's variants, a wait's
// event and timeout paths).
type node struct {
	Path, Name, Kind, Detail string
	Counts                   []stepCount
	Arms                     []arm
}

type arm struct {
	Label string
	Nodes []node
}

var stepKinds = []string{"send", "wait", "wait_for", "branch", "split", "update_trait", "task", "webhook", "enrol", "exit"}

// graph builds the nodes of a list of steps at path, with the counts the
// stats give each step's path.
func graph(steps []map[string]any, path string, counts map[string][]stepCount) []node {
	out := make([]node, 0, len(steps))
	for i, s := range steps {
		p := fmt.Sprintf("%s[%d]", path, i)
		n := node{Path: p, Counts: counts[p]}
		n.Name, _ = s["name"].(string)
		for _, k := range stepKinds {
			if v, ok := s[k]; ok {
				n.Kind = k
				n.Detail = stepDetail(k, v)
				m, _ := v.(map[string]any)
				base := p + "." + k
				switch k {
				case "branch":
					cases, _ := m["cases"].([]any)
					for j, c := range cases {
						cm, _ := c.(map[string]any)
						n.Arms = append(n.Arms, arm{Label: fmt.Sprintf("case %d: %s", j, compact(cm["when"])), Nodes: graph(maps(cm["steps"]), fmt.Sprintf("%s.cases[%d].steps", base, j), counts)})
					}
					if el := maps(m["else"]); len(el) > 0 {
						n.Arms = append(n.Arms, arm{Label: "else", Nodes: graph(el, base+".else", counts)})
					}
				case "split":
					vars, _ := m["variants"].([]any)
					for j, v := range vars {
						vm, _ := v.(map[string]any)
						n.Arms = append(n.Arms, arm{Label: fmt.Sprintf("%v (%v)", vm["name"], vm["weight"]), Nodes: graph(maps(vm["steps"]), fmt.Sprintf("%s.variants[%d].steps", base, j), counts)})
					}
				case "wait_for":
					if on := maps(m["on_event"]); len(on) > 0 {
						n.Arms = append(n.Arms, arm{Label: "on_event", Nodes: graph(on, base+".on_event", counts)})
					}
					if on := maps(m["on_timeout"]); len(on) > 0 {
						n.Arms = append(n.Arms, arm{Label: "on_timeout", Nodes: graph(on, base+".on_timeout", counts)})
					}
				}
				break
			}
		}
		out = append(out, n)
	}
	return out
}

func maps(v any) []map[string]any {
	list, _ := v.([]any)
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// stepDetail is one line saying what a step does.
func stepDetail(kind string, v any) string {
	m, _ := v.(map[string]any)
	switch kind {
	case "send":
		return fmt.Sprintf("%v · %v", m["channel"], m["template"])
	case "wait":
		if f, ok := m["for"]; ok {
			return fmt.Sprint(f)
		}
		return compact(m)
	case "wait_for":
		return fmt.Sprintf("%v (timeout %v)", m["event"], m["timeout"])
	case "branch", "split":
		return ""
	}
	return compact(m)
}

// journeys serves GET /console/journeys: the journeys with their
// enrolments.
func (c *Console) journeys(w http.ResponseWriter, r *http.Request, s *session) {
	var list struct {
		Journeys []journeyView `json:"journeys"`
	}
	if err := c.get(r, s, "/api/v1/journeys", nil, &list); err != nil {
		c.fail(w, r, s, err)
		return
	}
	items, next := paged(r, list.Journeys)
	c.render(w, r, s, "journeys", http.StatusOK, map[string]any{"Journeys": items, "Next": next})
}

// journeyData reads a journey and its stats, and draws the graph.
func (c *Console) journeyData(r *http.Request, s *session) (map[string]any, error) {
	id := url.PathEscape(r.PathValue("id"))
	var j journeyView
	if err := c.get(r, s, "/api/v1/journeys/"+id, nil, &j); err != nil {
		return nil, err
	}
	var st journeyStats
	if err := c.get(r, s, "/api/v1/journeys/"+id+"/stats", nil, &st); err != nil {
		return nil, err
	}
	counts := map[string][]stepCount{}
	for _, sc := range st.Steps {
		if sc.Version == j.Version {
			counts[sc.Step] = append(counts[sc.Step], sc)
		}
	}
	for _, v := range counts {
		sort.Slice(v, func(a, b int) bool { return v[a].Count > v[b].Count })
	}
	return map[string]any{"J": j, "Stats": st, "Graph": graph(j.Steps, "steps", counts), "Entered": counts[""]}, nil
}

// journey serves GET /console/journeys/{id}: the journey drawn as its
// steps with the live counts of each (refreshed every few seconds by
// htmx), its enrolments and exits, and its status actions.
func (c *Console) journey(w http.ResponseWriter, r *http.Request, s *session) {
	data, err := c.journeyData(r, s)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, s, "journey", http.StatusOK, data)
}

// journeyCounts serves GET /console/journeys/{id}/counts: the graph and
// the counts alone, which the page polls.
func (c *Console) journeyCounts(w http.ResponseWriter, r *http.Request, s *session) {
	data, err := c.journeyData(r, s)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.partial(w, r, s, "journey", "live", http.StatusOK, data)
}

// journeyAction serves POST /console/journeys/{id}/{pause|resume|archive}.
func (c *Console) journeyAction(w http.ResponseWriter, r *http.Request, s *session) {
	action := r.PathValue("action")
	if action != "pause" && action != "resume" && action != "archive" {
		c.fail(w, r, s, &APIError{Status: http.StatusNotFound, Code: "not_found", Message: "no journey action " + action + ": pause, resume or archive"})
		return
	}
	id := url.PathEscape(r.PathValue("id"))
	if err := c.send(r, s, http.MethodPost, "/api/v1/journeys/"+id+"/"+action, nil, nil); err != nil {
		c.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/console/journeys/"+id, http.StatusSeeOther)
}
