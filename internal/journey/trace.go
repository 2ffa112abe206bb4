package journey

import (
	"time"
)

// TraceEntry is one thing the engine did for one customer: entered,
// took a step, sent, waited, branched, ended.
type TraceEntry struct {
	At        time.Time `json:"at"`
	Journey   string    `json:"journey"`
	Version   int       `json:"version"`
	Enrolment int64     `json:"enrolment,omitempty"`
	Profile   int64     `json:"profile_id"`
	// Step is the step's address, Name its name if it has one.
	Step string `json:"step,omitempty"`
	Name string `json:"name,omitempty"`
	// Kind is the step's kind, or enter, completed, exited.
	Kind string `json:"kind"`
	What string `json:"what"`
	Why  string `json:"why,omitempty"`
	// Due is the timer the step set, if it set one.
	Due time.Time `json:"due,omitzero"`
	// Send is the message a send step handed over.
	Send *SendRequest `json:"send,omitempty"`
}

// trace reports an entry to the Trace option and the debug log.
func (e *Engine) trace(t TraceEntry) {
	if e.o.Trace != nil {
		e.o.Trace(t)
	}
	e.log.Debug("journey step", "journey", t.Journey, "version", t.Version, "profile", t.Profile,
		"step", t.Step, "kind", t.Kind, "what", t.What, "why", t.Why)
}
