package segment

import "fmt"

// ValidateCondition checks one condition that is evaluated on its own,
// outside a segment (a journey's branch), as Validate checks a segment's
// where: path prefixes the error paths. Behaviour (performed) needs facts
// that only a segment keeps, so it is refused: name a segment with member
// instead.
func ValidateCondition(c *Condition, path string, known Known) error {
	fail := func(p, reason string) error { return invalid("", p, reason) }
	if err := validateCond(c, path, known, fail); err != nil {
		return err
	}
	var bad error
	c.walk(func(x *Condition) {
		if x.Performed != nil && bad == nil {
			bad = fail(path, fmt.Sprintf("performed (%q) is only evaluated inside segments; define a segment and test it with member", x.Performed.Event))
		}
	})
	return bad
}

// Match evaluates one condition (checked by ValidateCondition) for a
// profile at in.Env.Now. Member conditions read in.State.Members, the
// memberships the segment stage recorded.
func Match(c *Condition, in Input) bool {
	if in.State == nil {
		in.State = NewState()
	}
	members := make(map[string]bool, len(in.State.Members))
	for id := range in.State.Members {
		members[id] = true
	}
	ev := &evaluation{in: in, now: in.Env.Now, members: members}
	return ev.cond(c)
}

// MatchProperties reports whether event properties hold every key of
// where (a list: one of its values; nested keys with dots), as performed
// conditions filter events.
func MatchProperties(props map[string]any, where map[string]any) bool {
	return matches(props, where)
}
