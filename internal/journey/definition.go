// Package journey is the marketer's autopilot: journeys written as files
// (triggers, re-entry, exit criteria, a control group, and a tree of steps:
// send, wait, wait for an event, branch, split, update a trait, exit), a
// version per change, and the engine that enrols customers from the event
// log and moves each enrolment through its steps with durable timers.
package journey

import (
	"github.com/parcours/parcours/internal/segment"
)

// Duration is a duration written as "7d", "36h", "90m" or "2w".
type Duration = segment.Duration

// Definition is a journey as users write it, in a YAML or JSON file or
// through the API.
type Definition struct {
	// Kind is "journey" in files that parcours apply reads.
	Kind        string `json:"kind,omitempty" yaml:"kind,omitempty"`
	ID          string `json:"id" yaml:"id"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Triggers enrol a customer; any one of them does.
	Triggers []Trigger `json:"triggers" yaml:"triggers"`
	// EntryWhen, if set, is a condition on the customer (as a branch's)
	// that must hold when a trigger fires for them to enter.
	EntryWhen *segment.Condition `json:"entry_when,omitempty" yaml:"entry_when,omitempty"`
	// ReEntry says whether a customer may enter again once their
	// enrolment is over (never two at once).
	ReEntry ReEntry `json:"re_entry,omitempty" yaml:"re_entry,omitempty"`
	// ExitOn ends an enrolment when the customer does one of these: the
	// goal is reached ("stop on purchase") or they left a segment.
	ExitOn []Match `json:"exit_on,omitempty" yaml:"exit_on,omitempty"`
	// ControlGroup is the percentage of customers (0-100, by a
	// deterministic hash of customer and journey) who are enrolled but
	// receive nothing, to measure the journey against.
	ControlGroup float64 `json:"control_group,omitempty" yaml:"control_group,omitempty"`
	// Goal, if set, is what counts as a conversion: the customer does
	// the goal event within a window after entering (also after their
	// enrolment ended, and in the control group).
	Goal  *Goal  `json:"goal,omitempty" yaml:"goal,omitempty"`
	Steps []Step `json:"steps" yaml:"steps"`
}

// Goal is a journey's conversion: an event (with property filters) done
// within Within after entry. Each enrolment converts at most once.
type Goal struct {
	Event  string         `json:"event" yaml:"event"`
	Where  map[string]any `json:"where,omitempty" yaml:"where,omitempty"`
	Within Duration       `json:"within" yaml:"within"`
}

// Trigger is one way into a journey: exactly one of Event,
// SegmentEntered, SegmentExited, Schedule, DateTrait or API.
type Trigger struct {
	Match `yaml:",inline"`
	// MaxAge, with Event, is the trigger's freshness window: an event
	// received more than MaxAge after it happened (its timestamp) is
	// history and enrols nobody. Default: event.DefaultMaxAge (24h).
	// Imported events never enrol, whatever their age.
	MaxAge *Duration `json:"max_age,omitempty" yaml:"max_age,omitempty"`
	// API lets POST /api/v1/journeys/{id}/enrol enrol customers.
	API bool `json:"api,omitempty" yaml:"api,omitempty"`
	// Schedule enrols a segment's members every day at a time.
	Schedule *Schedule `json:"schedule,omitempty" yaml:"schedule,omitempty"`
	// DateTrait enrols each customer N days before or after a date
	// trait (birthday, membership anniversary, the end of a
	// subscription).
	DateTrait *DateTrait `json:"date_trait,omitempty" yaml:"date_trait,omitempty"`
}

// DateTrait enters a customer Offset ("-7d", "+3d", "0d": whole days)
// from the date in Trait, at At (HH:MM, default 00:00) in Zone
// ("customer", the default: their timezone trait, UTC without one; utc;
// an IANA zone). With Anniversary the date recurs every year (its month
// and day; 29 February falls on 28 February in other years): one
// enrolment per customer per year; without it the date is one day
// ("subscription_ends_at"): one enrolment.
type DateTrait struct {
	Trait       string `json:"trait" yaml:"trait"`
	Anniversary bool   `json:"anniversary,omitempty" yaml:"anniversary,omitempty"`
	Offset      string `json:"offset,omitempty" yaml:"offset,omitempty"`
	At          string `json:"at,omitempty" yaml:"at,omitempty"`
	Zone        string `json:"zone,omitempty" yaml:"zone,omitempty"`
}

// Schedule is a daily run: at At (HH:MM) in Zone (utc, the default, or an
// IANA zone), every member of Segment is offered entry (the re-entry
// policy and entry_when apply).
type Schedule struct {
	At      string `json:"at" yaml:"at"`
	Zone    string `json:"zone,omitempty" yaml:"zone,omitempty"`
	Segment string `json:"segment" yaml:"segment"`
}

// Match selects events: a track event by name with property filters, or
// the entry into or exit from a segment.
type Match struct {
	Event string `json:"event,omitempty" yaml:"event,omitempty"`
	// Where filters on the event's properties: each key must equal the
	// value (a list: one of the values). Nested keys with dots.
	Where          map[string]any `json:"where,omitempty" yaml:"where,omitempty"`
	SegmentEntered string         `json:"segment_entered,omitempty" yaml:"segment_entered,omitempty"`
	SegmentExited  string         `json:"segment_exited,omitempty" yaml:"segment_exited,omitempty"`
	// Near, with Event, keeps the events whose location is within a
	// distance of a store (a geofence).
	Near *Near `json:"near,omitempty" yaml:"near,omitempty"`
}

// Near is a geofence around the stores: the event's position (its
// latitude/longitude properties, else context.location) within Km of
// Store, or of any store when Store is empty.
type Near struct {
	Km    float64 `json:"km" yaml:"km"`
	Store string  `json:"store,omitempty" yaml:"store,omitempty"`
}

// The re-entry policies.
const (
	ReEntryOnce     = "once"
	ReEntryCooldown = "cooldown"
	ReEntryAlways   = "always"
)

// ReEntry is the re-entry policy: once (the default), after a cool-down
// since the previous entry, or always.
//
// With Key (a property path of the triggering event, dots for nesting:
// "order_id", "order.id"), the policy applies per value of the key: a
// customer may be in the journey once per key at the same time (two
// orders, two enrolments), and events that carry the key property exit,
// wake or convert only the enrolment with that key.
type ReEntry struct {
	Policy   string    `json:"policy,omitempty" yaml:"policy,omitempty"`
	Cooldown *Duration `json:"cooldown,omitempty" yaml:"cooldown,omitempty"`
	Key      string    `json:"key,omitempty" yaml:"key,omitempty"`
}

// Step is one step of a journey: exactly one kind is set.
type Step struct {
	// Name labels the step in traces (optional).
	Name        string       `json:"name,omitempty" yaml:"name,omitempty"`
	Send        *Send        `json:"send,omitempty" yaml:"send,omitempty"`
	Wait        *Wait        `json:"wait,omitempty" yaml:"wait,omitempty"`
	WaitFor     *WaitFor     `json:"wait_for,omitempty" yaml:"wait_for,omitempty"`
	Branch      *Branch      `json:"branch,omitempty" yaml:"branch,omitempty"`
	Split       *Split       `json:"split,omitempty" yaml:"split,omitempty"`
	UpdateTrait *UpdateTrait `json:"update_trait,omitempty" yaml:"update_trait,omitempty"`
	Webhook     *Webhook     `json:"webhook,omitempty" yaml:"webhook,omitempty"`
	Task        *Task        `json:"task,omitempty" yaml:"task,omitempty"`
	Exit        *Exit        `json:"exit,omitempty" yaml:"exit,omitempty"`
}

// Task creates a task for the staff of a store (clienteling): the
// customer, their cart and a short history, under a title and a note.
// Store is "nearest" (the configured store nearest the customer), a store
// id, "{{ event.store_id }}" or "{{ store.id }}" (the store an in_stock
// branch found). Title and Note may use {{ event.X }}, {{ trait.X }} and
// {{ store.name }}. History is how many timeline events the task holds
// (default 10).
type Task struct {
	Store   string `json:"store" yaml:"store"`
	Title   string `json:"title" yaml:"title"`
	Note    string `json:"note,omitempty" yaml:"note,omitempty"`
	History int    `json:"history,omitempty" yaml:"history,omitempty"`
}

// Webhook posts the enrolment (journey, step, profile, a key) as JSON to
// a URL, with the key in an Idempotency-Key header; a failure is retried
// as a send is.
type Webhook struct {
	URL string `json:"url" yaml:"url"`
}

// Send hands a message to the message pipeline.
type Send struct {
	// Channel is a messaging channel that reaches a customer (email, sms,
	// push, whatsapp: SendChannels), or best (the pipeline picks the
	// customer's best reachable channel).
	Channel  string `json:"channel" yaml:"channel"`
	Template string `json:"template" yaml:"template"`
	// Topic is the subscription topic the customer's consent is checked
	// against (optional).
	Topic string `json:"topic,omitempty" yaml:"topic,omitempty"`
	// PromoCode, if set, gives the template a unique promo code for this
	// enrolment as the data variable promo_code.
	PromoCode *PromoCode `json:"promo_code,omitempty" yaml:"promo_code,omitempty"`
	// Survey, if set, makes the message a survey's invitation
	// (internal/survey): the send gets a signed link, and its template
	// reads survey.url, survey.question and survey.reply_hint.
	Survey string `json:"survey,omitempty" yaml:"survey,omitempty"`
}

// PromoCode is a unique code per enrolment and step: Prefix, a dash and
// ten letters and digits from an HMAC of the send's key, so the same send
// always carries the same code (a retried send too) and codes cannot be
// guessed from each other.
type PromoCode struct {
	Prefix string `json:"prefix,omitempty" yaml:"prefix,omitempty"`
}

// Wait pauses for a duration, or until the next time of day (HH:MM) in a
// time zone: UTC (the default), an IANA zone ("Europe/Paris"), or
// "customer": the profile's timezone trait (IANA), UTC without one.
//
// UntilTrait waits until the next occurrence (today included) of a yearly
// date trait ("birthday": its month and day, any year), at Until (HH:MM,
// 00:00 by default) in Zone; a customer without a readable date in the
// trait does not wait.
type Wait struct {
	For        *Duration `json:"for,omitempty" yaml:"for,omitempty"`
	Until      string    `json:"until,omitempty" yaml:"until,omitempty"`
	UntilTrait string    `json:"until_trait,omitempty" yaml:"until_trait,omitempty"`
	Zone       string    `json:"zone,omitempty" yaml:"zone,omitempty"`
}

// WaitFor waits for an event for at most Timeout, then goes on with
// OnEvent or OnTimeout (either may be empty), then with the next step.
//
// MaxAge, with Event, is the freshness window of the awaited event (as a
// trigger's): history (imported, or received more than MaxAge after it
// happened; default 24h) never wakes a wait_for.
type WaitFor struct {
	Match     `yaml:",inline"`
	Timeout   Duration  `json:"timeout" yaml:"timeout"`
	MaxAge    *Duration `json:"max_age,omitempty" yaml:"max_age,omitempty"`
	OnEvent   []Step    `json:"on_event,omitempty" yaml:"on_event,omitempty"`
	OnTimeout []Step    `json:"on_timeout,omitempty" yaml:"on_timeout,omitempty"`
}

// Branch takes the steps of the first case whose condition holds, else
// Else, then goes on with the next step.
type Branch struct {
	Cases []Case `json:"cases" yaml:"cases"`
	Else  []Step `json:"else,omitempty" yaml:"else,omitempty"`
}

// Case is a condition on the customer (traits, computed traits, channels,
// consent, geography, segment membership: a segment condition without
// performed; performed at its top counts since entry), or on stock, and
// the steps taken when it holds.
type Case struct {
	When  When   `json:"when" yaml:"when"`
	Steps []Step `json:"steps" yaml:"steps"`
}

// When is a branch case's condition: a segment condition (its fields
// inline), InStock, or both (then both must hold).
type When struct {
	segment.Condition `yaml:",inline"`
	// InStock holds when a SKU is available at a store.
	InStock *InStock `json:"in_stock,omitempty" yaml:"in_stock,omitempty"`
}

// InStock is a stock condition: at least Min (default 1) of SKU available
// at Store. SKU and Store may name a property of the event that enrolled
// the customer: "{{ event.sku }}". Store is "nearest" (the default: the
// nearest store to the customer, within Km, default 10, that has it), a
// store id, or "{{ event.store_id }}".
type InStock struct {
	SKU   string  `json:"sku" yaml:"sku"`
	Store string  `json:"store,omitempty" yaml:"store,omitempty"`
	Min   int64   `json:"min,omitempty" yaml:"min,omitempty"`
	Km    float64 `json:"km,omitempty" yaml:"km,omitempty"`
}

// Split sends each customer down one variant, at random by weight but
// always the same for the same customer (a hash of customer, journey and
// step). A variant with no steps is a holdout.
type Split struct {
	Variants []Variant `json:"variants" yaml:"variants"`
}

// Variant is one arm of a split.
type Variant struct {
	Name   string  `json:"name" yaml:"name"`
	Weight float64 `json:"weight" yaml:"weight"`
	Steps  []Step  `json:"steps,omitempty" yaml:"steps,omitempty"`
}

// UpdateTrait sets a trait on the customer's profile (through an identify
// event, so the profile's history shows it).
type UpdateTrait struct {
	Trait string `json:"trait" yaml:"trait"`
	Value any    `json:"value" yaml:"value"`
}

// Exit ends the enrolment.
type Exit struct {
	Reason string `json:"reason,omitempty" yaml:"reason,omitempty"`
}

// kinds lists the kinds s sets.
func (s *Step) kinds() []string {
	var k []string
	add := func(set bool, name string) {
		if set {
			k = append(k, name)
		}
	}
	add(s.Send != nil, "send")
	add(s.Wait != nil, "wait")
	add(s.WaitFor != nil, "wait_for")
	add(s.Branch != nil, "branch")
	add(s.Split != nil, "split")
	add(s.UpdateTrait != nil, "update_trait")
	add(s.Webhook != nil, "webhook")
	add(s.Task != nil, "task")
	add(s.Exit != nil, "exit")
	return k
}

// Kind names the kind of a valid step.
func (s *Step) Kind() string {
	if k := s.kinds(); len(k) > 0 {
		return k[0]
	}
	return ""
}
