package journey

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/parcours/parcours/internal/profile"
)

// placeholder is a value taken from the enrolment: {{ event.sku }} (a
// property of the event that enrolled the customer), {{ trait.first_name }}
// (a trait of theirs), {{ store.name }} (the store an in_stock branch
// found).
var placeholder = regexp.MustCompile(`\{\{\s*(event|trait|store)\.([A-Za-z0-9_.-]+)\s*\}\}`)

// storeFields are the fields of the store an in_stock case found, as
// placeholders read them ({{ store.name }}).
var storeFields = []string{"id", "name", "distance_km", "available", "sku"}

// checkPlaceholders refuses a "{{" that is not a placeholder, and a
// store placeholder other than storeFields (it would always be empty).
func checkPlaceholders(s string) error {
	bad := false
	rest := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		if g := placeholder.FindStringSubmatch(m); g[1] == "store" && !slices.Contains(storeFields, g[2]) {
			bad = true
		}
		return ""
	})
	if bad || strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		return fmt.Errorf("%q: a placeholder is {{ event.PROPERTY }}, {{ trait.NAME }} or {{ store.%s }}", s, strings.Join(storeFields, "|"))
	}
	return nil
}

// eventRefs lists the event properties s refers to.
func eventRefs(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		if m[1] == "event" {
			out = append(out, m[2])
		}
	}
	return out
}

// expand fills the placeholders of s; one without a value gives "".
func (x *expander) expand(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		g := placeholder.FindStringSubmatch(m)
		switch g[1] {
		case "event":
			if x.st != nil {
				return text(property(x.st.Event, g[2]))
			}
		case "trait":
			if x.prof != nil {
				if t, ok := x.prof.Traits[g[2]]; ok {
					var v any
					_ = json.Unmarshal(t.Value, &v)
					return text(v)
				}
			}
		case "store":
			if x.st != nil && x.st.Store != nil {
				switch s := x.st.Store; g[2] {
				case "id":
					return s.ID
				case "name":
					return s.Name
				case "distance_km":
					return text(s.DistanceKm)
				case "available":
					return strconv.FormatInt(s.Available, 10)
				case "sku":
					return s.SKU
				}
			}
		}
		return ""
	})
}

// expander is what placeholders read: the enrolment's state and the
// customer's traits.
type expander struct {
	st   *state
	prof *profile.Profile
}

func text(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// sendData is the template data an enrolment gives its sends: the store
// an in_stock case found, as the message templates read it
// ({{ store.name }}; without it they read the customer's nearest store).
func sendData(st *state) map[string]any {
	d := map[string]any{}
	if s := st.Store; s != nil {
		d["store"] = map[string]any{"id": s.ID, "name": s.Name, "distance_km": s.DistanceKm, "available": s.Available, "sku": s.SKU}
	}
	return d
}
