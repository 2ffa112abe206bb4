// Package sim is the journey simulator: it runs a journey against a
// scripted scenario (customers, events at given times) on a fake clock, in
// a temporary SQLite store with the real unify, segment and journey
// stages, and reports the trace of steps and messages and whether the
// scenario's expectations hold.
package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/parcours/parcours/internal/loyalty"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/survey"
)

// Scenario is a script of customers and events, with expectations.
type Scenario struct {
	// Kind is "scenario" (optional): parcours apply skips such documents,
	// so scenarios can live beside the journeys they test.
	Kind string `yaml:"kind"`
	Name string `yaml:"name"`
	// Journey is the journey file, relative to the scenario's file (for
	// the tests that run every scenario; the CLI takes it as an argument).
	Journey string `yaml:"journey"`
	// Start is the instant "+0" stands for; default 2026-01-05T09:00:00Z
	// (a Monday).
	Start time.Time `yaml:"start"`
	// Stores are the physical stores (id, name, lat, lon) for geofences
	// (near) and the nearest_store computed trait, as in the server's
	// stores configuration.
	Stores []place.Location `yaml:"stores"`
	// Stock is the stock at +0, per SKU and store (the stores are
	// commerce locations too), for in_stock branches.
	Stock []Stock `yaml:"stock"`
	// Customers are identified (with their traits) at +0.
	Customers []Customer `yaml:"customers"`
	Steps     []Action   `yaml:"steps"`
	// Until is the offset the clock runs to at the end. Without it, the
	// clock runs until no journey timer is left (at most a year after the
	// last step).
	Until  Offset   `yaml:"until"`
	Expect []Expect `yaml:"expect"`
	// Templates is a directory of template files (ID.json, as parcours
	// serve --templates reads them), relative to the scenario's file.
	// With templates, every send is rendered by the message pipeline as
	// the live server renders it, and the trace shows the text.
	Templates string `yaml:"templates"`
	// Surveys is a file or directory of surveys (kind: survey), relative
	// to the scenario's file, that the journey's send steps name: with
	// templates, a survey's invitation is rendered with its link and
	// question (docs/surveys.md).
	Surveys string `yaml:"surveys"`
	// Loyalty is the loyalty programme file (kind: loyalty), relative to
	// the scenario's file: with it, orders earn points as live (the
	// loyalty stage runs behind unify, its sweep announces the points
	// about to expire) and journeys triggered by the ledger's events
	// (Loyalty Member Joined, Loyalty Points Expiring, Loyalty Tier
	// Changed) can be tested (docs/loyalty.md).
	Loyalty string `yaml:"loyalty"`

	// dir is the directory of the scenario's file: relative paths in it
	// start there.
	dir string
}

// Customer is a scripted customer: a user id and traits.
type Customer struct {
	User   string         `yaml:"user"`
	Traits map[string]any `yaml:"traits"`
}

// Stock is the stock of one SKU at one store: what it has on hand.
type Stock struct {
	SKU    string `yaml:"sku"`
	Store  string `yaml:"store"`
	OnHand int64  `yaml:"on_hand"`
}

// Action is one scripted moment: a track event, an identify (traits), an
// enrolment through the API, or a stock count (no user: commerce emits
// Back In Stock when a SKU becomes available at a store).
type Action struct {
	Stock      *Stock         `yaml:"stock"`
	At         Offset         `yaml:"at"`
	User       string         `yaml:"user"`
	Event      string         `yaml:"event"`
	Properties map[string]any `yaml:"properties"`
	Traits     map[string]any `yaml:"traits"`
	Enrol      bool           `yaml:"enrol"`
}

// Expect is one expectation: a send at a time (or never), or how the
// customer's enrolment ended.
type Expect struct {
	At   *Offset `yaml:"at"`
	User string  `yaml:"user"`
	// Send is a message the customer receives (at At, if given).
	Send *SendSpec `yaml:"send"`
	// NoSend is a message the customer never receives (at At, if
	// given).
	NoSend *SendSpec `yaml:"no_send"`
	// Ends is the status of the customer's last enrolment at the end:
	// active, completed, exited or control.
	Ends string `yaml:"ends"`
	// Converts says whether the customer reached the journey's goal
	// (true) or not (false) by the end.
	Converts *bool `yaml:"converts"`
	// Task is a task created for the staff of a store about the
	// customer (at At, if given).
	Task *TaskSpec `yaml:"task"`
}

// TaskSpec matches the tasks task steps create; empty fields match
// anything. Title matches a part of the title.
type TaskSpec struct {
	Store string `yaml:"store"`
	Title string `yaml:"title"`
	// Cart is a SKU the task's cart (detail.cart) holds.
	Cart string `yaml:"cart"`
}

// SendSpec matches sends; empty fields match anything.
type SendSpec struct {
	Channel  string `yaml:"channel"`
	Template string `yaml:"template"`
	// PromoCode is the prefix of the send's unique promo code
	// (data.promo_code is PREFIX-...).
	PromoCode string `yaml:"promo_code"`
	// Store is the id of the store an in_stock case found, which the
	// send names (data.store).
	Store string `yaml:"store"`
	// Text is a part of the rendered message: an email's subject or
	// text, an SMS's or WhatsApp text's body, a push's title or body. It
	// needs templates, and matches only a message the pipeline would send
	// (not one it skips).
	Text string `yaml:"text"`
}

func (s *SendSpec) String() string {
	out := strings.TrimSpace(s.Channel + " " + s.Template)
	if out == "" {
		out = "any message"
	}
	if s.PromoCode != "" {
		out += " with a promo code " + s.PromoCode + "-..."
	}
	if s.Store != "" {
		out += " naming store " + s.Store
	}
	if s.Text != "" {
		out += fmt.Sprintf(" reading %q", s.Text)
	}
	return out
}

// Offset is a time relative to the scenario's start, "+1h", "+2d3h".
type Offset time.Duration

// UnmarshalYAML reads "+1h30m", "+2d", "+0" (whatever YAML makes of it).
func (o *Offset) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: an offset is like +1h or +2d3h", n.Line)
	}
	if err := o.parse([]byte(n.Value)); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}

func (o *Offset) parse(b []byte) error {
	s := strings.TrimPrefix(strings.TrimSpace(string(b)), "+")
	if s == "0" {
		*o = 0
		return nil
	}
	var total time.Duration
	// Days first ("2d3h"), then Go's units.
	if d, rest, ok := strings.Cut(s, "d"); ok {
		v, err := segment.ParseDuration(d + "d")
		if err != nil {
			return fmt.Errorf("%q is not an offset like +1h or +2d3h", string(b))
		}
		total, s = time.Duration(v), rest
	}
	if s != "" {
		v, err := time.ParseDuration(s)
		if err != nil || v < 0 {
			return fmt.Errorf("%q is not an offset like +1h or +2d3h", string(b))
		}
		total += v
	}
	*o = Offset(total)
	return nil
}

// String writes the offset as +2d03h00m.
func (o Offset) String() string {
	d := time.Duration(o)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h, m, s := d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	out := fmt.Sprintf("+%dd%02dh%02dm", days, h, m)
	if s != 0 {
		out += fmt.Sprintf("%02ds", s)
	}
	return out
}

// ParseScenario reads a scenario, refusing unknown fields.
func ParseScenario(name string, r io.Reader) (*Scenario, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty scenario", name)
		}
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if s.Kind != "" && s.Kind != "scenario" {
		return nil, fmt.Errorf("%s: kind %q: a scenario's kind is \"scenario\"", name, s.Kind)
	}
	s.dir = filepath.Dir(name)
	if s.Start.IsZero() {
		s.Start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	}
	for i, a := range s.Steps {
		path := fmt.Sprintf("%s: steps[%d]", name, i)
		n := 0
		for _, set := range []bool{a.Event != "", a.Traits != nil, a.Enrol, a.Stock != nil} {
			if set {
				n++
			}
		}
		switch {
		case a.Stock != nil && n == 1:
			if a.User != "" {
				return nil, fmt.Errorf("%s.user: a stock count belongs to no customer", path)
			}
		case a.User == "":
			return nil, fmt.Errorf("%s.user: is required", path)
		case n != 1:
			return nil, fmt.Errorf("%s: give one of event, traits, enrol: true or stock", path)
		case i > 0 && a.At < s.Steps[i-1].At:
			return nil, fmt.Errorf("%s.at: %s is before the previous step (%s); steps are in time order", path, a.At, s.Steps[i-1].At)
		}
	}
	for i, e := range s.Expect {
		path := fmt.Sprintf("%s: expect[%d]", name, i)
		n := 0
		for _, set := range []bool{e.Send != nil, e.NoSend != nil, e.Ends != "", e.Converts != nil, e.Task != nil} {
			if set {
				n++
			}
		}
		if e.User == "" || n != 1 {
			return nil, fmt.Errorf("%s: give user and one of send, no_send, ends, converts or task", path)
		}
	}
	return &s, nil
}

// surveys reads the surveys the scenario names (Surveys): a file, or every
// .yaml file of a directory.
func (sc *Scenario) surveys() ([]*survey.Definition, error) {
	if sc.Surveys == "" {
		return nil, nil
	}
	path := sc.Surveys
	if !filepath.IsAbs(path) {
		path = filepath.Join(sc.dir, path)
	}
	files := []string{path}
	if st, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("surveys: %w", err)
	} else if st.IsDir() {
		files, _ = filepath.Glob(filepath.Join(path, "*.yaml"))
	}
	var out []*survey.Definition
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("surveys: %w", err)
		}
		defs, err := survey.ParseYAML(f, bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		out = append(out, defs...)
	}
	return out, nil
}

// loyaltyProgramme reads the scenario's programme (Loyalty), nil without.
func (sc *Scenario) loyaltyProgramme() (*loyalty.Programme, error) {
	if sc.Loyalty == "" {
		return nil, nil
	}
	path := sc.Loyalty
	if !filepath.IsAbs(path) {
		path = filepath.Join(sc.dir, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loyalty: %w", err)
	}
	ps, err := loyalty.ParseYAML(path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if len(ps) != 1 {
		return nil, fmt.Errorf("loyalty: %s holds %d programmes, want one", path, len(ps))
	}
	return ps[0], nil
}
