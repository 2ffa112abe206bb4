package journey

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// kind checks a step of one kind (Step.kinds); path ends with the kind
// ("steps[2].send").
func (v *validator) kind(kind string, s *Step, path string) error {
	switch kind {
	case "send":
		return v.send(s, path)
	case "wait":
		return v.wait(s, path)
	case "wait_for":
		return v.waitFor(s, path)
	case "branch":
		return v.branch(s, path)
	case "split":
		return v.split(s, path)
	case "webhook":
		return v.webhook(s, path)
	case "update_trait":
		return v.updateTrait(s, path)
	case "task":
		return v.task(s, path)
	}
	return nil // exit: nothing to check
}

func (v *validator) send(s *Step, path string) error {
	if chs := SendChannels(); !slices.Contains(chs, s.Send.Channel) {
		return fail(path+".channel", fmt.Sprintf("%q: expected one of %s", s.Send.Channel, strings.Join(chs, ", ")))
	}
	if strings.TrimSpace(s.Send.Template) == "" {
		return fail(path+".template", "is required: the template's id")
	}
	return nil
}

func (v *validator) wait(s *Step, path string) error {
	w := s.Wait
	switch {
	case w.For != nil && (w.Until != "" || w.UntilTrait != ""):
		return fail(path, "give for, or until and/or until_trait, not both")
	case w.UntilTrait != "":
		if w.Until != "" {
			if _, err := parseClock(w.Until); err != nil {
				return fail(path+".until", err.Error())
			}
		}
		return waitZone(w, path)
	case w.For != nil:
		if w.Zone != "" {
			return fail(path+".zone", "is for until (a time of day), not for")
		}
		if *w.For <= 0 {
			return fail(path+".for", "must be a positive duration like 1h or 2d")
		}
		return nil
	case w.Until != "":
		if _, err := parseClock(w.Until); err != nil {
			return fail(path+".until", err.Error())
		}
		return waitZone(w, path)
	}
	return fail(path, "needs for (a duration like 1h), until (a time of day like 10:00, with zone: utc, customer or Europe/Paris) or until_trait (a yearly date trait like birthday)")
}

// waitZone checks the zone a wait until a time of day or a date counts in.
func waitZone(w *Wait, path string) error {
	if _, err := zone(w.Zone); w.Zone != "customer" && err != nil {
		return fail(path+".zone", fmt.Sprintf("%q: expected utc, customer or an IANA zone like Europe/Paris", w.Zone))
	}
	return nil
}

func (v *validator) waitFor(s *Step, path string) error {
	w := s.WaitFor
	if w.Event == "" && w.SegmentEntered == "" && w.SegmentExited == "" {
		return fail(path, "needs the event to wait for: event, segment_entered or segment_exited")
	}
	if err := v.match(&w.Match, path); err != nil {
		return err
	}
	if w.Timeout <= 0 {
		return fail(path+".timeout", "is required: a positive duration like 24h")
	}
	if w.MaxAge != nil {
		if err := maxAge(w.MaxAge, &w.Match, path+".max_age"); err != nil {
			return err
		}
	}
	if err := v.list(w.OnEvent, path+".on_event"); err != nil {
		return err
	}
	return v.list(w.OnTimeout, path+".on_timeout")
}

func (v *validator) branch(s *Step, path string) error {
	if len(s.Branch.Cases) == 0 {
		return fail(path+".cases", "needs at least one case: {when: CONDITION, steps: [...]}")
	}
	for i := range s.Branch.Cases {
		c := &s.Branch.Cases[i]
		cp := fmt.Sprintf("%s.cases[%d]", path, i)
		if err := caseCondition(&c.When, cp+".when", v.known); err != nil {
			return err
		}
		if err := v.list(c.Steps, cp+".steps"); err != nil {
			return err
		}
	}
	return v.list(s.Branch.Else, path+".else")
}

func (v *validator) split(s *Step, path string) error {
	if len(s.Split.Variants) < 2 {
		return fail(path+".variants", "needs at least two variants")
	}
	names := map[string]bool{}
	for i := range s.Split.Variants {
		va := &s.Split.Variants[i]
		vp := fmt.Sprintf("%s.variants[%d]", path, i)
		if strings.TrimSpace(va.Name) == "" {
			return fail(vp+".name", "is required")
		}
		if names[va.Name] {
			return fail(vp+".name", fmt.Sprintf("%q is used twice", va.Name))
		}
		names[va.Name] = true
		if va.Weight <= 0 {
			return fail(vp+".weight", "must be positive")
		}
		if err := v.list(va.Steps, vp+".steps"); err != nil {
			return err
		}
	}
	return nil
}

func (v *validator) webhook(s *Step, path string) error {
	u, err := url.Parse(s.Webhook.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fail(path+".url", fmt.Sprintf("%q is not an http or https URL", s.Webhook.URL))
	}
	return nil
}

func (v *validator) updateTrait(s *Step, path string) error {
	if strings.TrimSpace(s.UpdateTrait.Trait) == "" {
		return fail(path+".trait", "is required: the trait's name")
	}
	return nil
}

func (v *validator) task(s *Step, path string) error {
	t := s.Task
	if strings.TrimSpace(t.Store) == "" {
		return fail(path+".store", "is required: nearest, a store id, or {{ event.store_id }}")
	}
	if strings.TrimSpace(t.Title) == "" {
		return fail(path+".title", "is required: what the staff should do")
	}
	for field, text := range map[string]string{"store": t.Store, "title": t.Title, "note": t.Note} {
		if err := checkPlaceholders(text); err != nil {
			return fail(path+"."+field, err.Error())
		}
	}
	if t.History < 0 || t.History > 100 {
		return fail(path+".history", "is how many timeline events the task holds: 0 (the default, 10) to 100")
	}
	return nil
}
