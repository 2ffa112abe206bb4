package segment

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/profile"
)

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Known tells the validator what exists besides the definition: the other
// segments (for member conditions) and the stores (for near conditions).
type Known struct {
	Segments map[string]*Definition
	Stores   []place.Location
}

// Validate checks d and returns the first problem, as a *problem.ValidationError.
// It refuses member conditions on unknown segments and cycles through them.
func Validate(d *Definition, known Known) error {
	fail := func(path, reason string) error {
		return invalid(d.ID, path, reason)
	}
	if d.Kind != "" && d.Kind != "segment" {
		return fail("kind", fmt.Sprintf("is %q; a segment's kind is \"segment\"", d.Kind))
	}
	if !idPattern.MatchString(d.ID) {
		return fail("id", "must be 1-64 lower-case letters, digits, '-' or '_', starting with a letter or digit")
	}
	if strings.TrimSpace(d.Name) == "" {
		return fail("name", "is required")
	}
	if err := validateCond(&d.Where, "where", known, fail); err != nil {
		return err
	}
	// Cycles: follow member conditions from d through the known segments.
	var visit func(id string, path []string) error
	visit = func(id string, path []string) error {
		if slices.Contains(path, id) {
			return fail("where", "segments depend on each other in a cycle: "+strings.Join(append(path, id), " -> "))
		}
		def := known.Segments[id]
		if id == d.ID {
			def = d
		}
		if def == nil {
			return nil
		}
		for _, m := range def.Where.members() {
			if err := visit(m, append(path, id)); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(d.ID, nil)
}

// MaxConditionDepth bounds how deep conditions nest (all, any, not): far
// beyond any real segment, and shallow enough that every JSON or YAML
// reader can read the definition back (a 5,000-level one was accepted).
const MaxConditionDepth = 32

func validateCond(c *Condition, path string, known Known, fail func(string, string) error) error {
	// Each level adds one ".all[i]", ".any[i]" or ".not" to the path.
	if depth := strings.Count(path, "."); depth > MaxConditionDepth {
		return fail(path, fmt.Sprintf("nests conditions more than %d levels deep (the limit): flatten them with all and any", MaxConditionDepth))
	}
	kinds := c.kinds()
	switch len(kinds) {
	case 0:
		return fail(path, "is empty: give a condition (all, any, not, trait, computed, performed, channel, last_channel, source, device_type, near, city, country, consent, reachable or member)")
	case 1:
	default:
		return fail(path, "sets "+strings.Join(kinds, " and ")+": one condition per node; combine them with all or any")
	}
	sub := func(list []Condition, name string) error {
		if len(list) == 0 {
			return fail(path+"."+name, "needs at least one condition")
		}
		for i := range list {
			if err := validateCond(&list[i], fmt.Sprintf("%s.%s[%d]", path, name, i), known, fail); err != nil {
				return err
			}
		}
		return nil
	}
	switch kinds[0] {
	case "comparison":
		return fail(path, "compares without saying what: add trait: NAME or computed: NAME")
	case "all":
		return sub(c.All, "all")
	case "any":
		return sub(c.Any, "any")
	case "not":
		return validateCond(c.Not, path+".not", known, fail)
	case "trait", "computed":
		if kinds[0] == "computed" && !slices.ContainsFunc(profile.Definitions, func(d profile.Definition) bool { return d.Name == c.Computed }) {
			names := make([]string, len(profile.Definitions))
			for i, d := range profile.Definitions {
				names[i] = d.Name
			}
			return fail(path+".computed", fmt.Sprintf("%q is not a computed trait; they are: %s", c.Computed, strings.Join(names, ", ")))
		}
		if c.Compare.empty() {
			return fail(path, "compares nothing: give equals, in, contains, exists, gt, gte, lt, lte, within_last, older_than or anniversary_within")
		}
	case "performed":
		b := c.Performed
		if strings.TrimSpace(b.Event) == "" {
			return fail(path+".performed.event", "is required: the event's name, e.g. \"Product Viewed\"")
		}
		if b.Within != nil && *b.Within <= 0 {
			return fail(path+".performed.within", "must be a positive duration like 7d")
		}
		if b.Count != nil && b.Count.empty() {
			return fail(path+".performed.count", "bounds nothing: give eq, gt, gte, lt or lte")
		}
		if b.Sum != nil {
			if b.Sum.Property == "" {
				return fail(path+".performed.sum.property", "is required: the numeric property to add up, e.g. revenue")
			}
			if b.Sum.Range.empty() {
				return fail(path+".performed.sum", "bounds nothing: give eq, gt, gte, lt or lte")
			}
		}
		for k, v := range b.Where {
			switch v.(type) {
			case string, float64, int, bool, []any, nil:
			default:
				return fail(path+".performed.where."+k, "must be a string, number, boolean or a list of them")
			}
		}
	case "channel", "last_channel":
		if why := checkChannel(c.Channel + c.LastChannel); why != "" {
			return fail(path+"."+kinds[0], why)
		}
	case "consent", "reachable":
		// The messaging channels that reach a customer (channel.Names).
		ch := c.Consent + c.Reachable
		if d, ok := channel.Lookup(channel.Name(ch)); !ok || !d.Personal() {
			return fail(path+"."+kinds[0], fmt.Sprintf("%q: expected one of %s", ch, channel.Join(channel.Names(channel.Descriptor.Personal))))
		}
	case "near":
		n := c.Near
		if n.Km <= 0 {
			return fail(path+".near.km", "must be a positive distance in kilometres")
		}
		switch {
		case n.Store != "" && (n.Lat != nil || n.Lon != nil):
			return fail(path+".near", "give a store or a point (lat, lon), not both")
		case n.Store != "":
			if !slices.ContainsFunc(known.Stores, func(s place.Location) bool { return s.ID == n.Store }) {
				return fail(path+".near.store", fmt.Sprintf("no store %q is known (stores are the locations of kind store: parcours locations import, then restart serve; or --stores-file)", n.Store))
			}
		case n.Lat == nil || n.Lon == nil:
			return fail(path+".near", "needs a store, or both lat and lon")
		case *n.Lat < -90 || *n.Lat > 90 || *n.Lon < -180 || *n.Lon > 180:
			return fail(path+".near", "lat must be within ±90 and lon within ±180")
		}
	case "member":
		if _, ok := known.Segments[c.Member]; !ok {
			return fail(path+".member", fmt.Sprintf("no segment %q exists; apply it first (or in the same apply)", c.Member))
		}
	}
	return nil
}

// kinds lists which kinds of condition c sets.
func (c *Condition) kinds() []string {
	var k []string
	add := func(set bool, name string) {
		if set {
			k = append(k, name)
		}
	}
	add(c.All != nil, "all")
	add(c.Any != nil, "any")
	add(c.Not != nil, "not")
	add(c.Trait != "", "trait")
	add(c.Computed != "", "computed")
	add(c.Performed != nil, "performed")
	add(c.Channel != "", "channel")
	add(c.LastChannel != "", "last_channel")
	add(c.Source != "", "source")
	add(c.DeviceType != "", "device_type")
	add(c.Near != nil, "near")
	add(c.City != "", "city")
	add(c.Country != "", "country")
	add(c.Consent != "", "consent")
	add(c.Reachable != "", "reachable")
	add(c.Member != "", "member")
	if len(k) == 0 && !c.Compare.empty() {
		return []string{"comparison"}
	}
	return k
}

// members lists the segments c refers to.
func (c *Condition) members() []string {
	var out []string
	c.walk(func(x *Condition) {
		if x.Member != "" {
			out = append(out, x.Member)
		}
	})
	return out
}

// walk calls fn on c and every condition under it.
func (c *Condition) walk(fn func(*Condition)) {
	fn(c)
	for i := range c.All {
		c.All[i].walk(fn)
	}
	for i := range c.Any {
		c.Any[i].walk(fn)
	}
	if c.Not != nil {
		c.Not.walk(fn)
	}
}

func (c Compare) empty() bool {
	return c.Equals == nil && c.In == nil && c.Contains == nil && c.Exists == nil && c.Gt == nil && c.Gte == nil &&
		c.Lt == nil && c.Lte == nil && c.WithinLast == nil && c.OlderThan == nil && c.AnniversaryWithin == nil
}

func (r Range) empty() bool {
	return r.Eq == nil && r.Gt == nil && r.Gte == nil && r.Lt == nil && r.Lte == nil
}

// test reports whether v is in the range.
func (r Range) test(v float64) bool {
	return (r.Eq == nil || v == *r.Eq) && (r.Gt == nil || v > *r.Gt) && (r.Gte == nil || v >= *r.Gte) &&
		(r.Lt == nil || v < *r.Lt) && (r.Lte == nil || v <= *r.Lte)
}
