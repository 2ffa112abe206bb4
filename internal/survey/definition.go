// Package survey sends NPS and CSAT surveys and takes their answers: by
// a signed link to a public page, by an SMS or WhatsApp reply, or by a
// WhatsApp quick reply. Each answer is a Survey Answered event on the
// customer's timeline, sets their last_nps or last_csat trait, counts in
// Measure (NPS and CSAT by store, channel, journey and agent), and a
// detractor's opens a follow-up for the store it concerns.
package survey

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

// The survey types.
const (
	NPS  = "nps"  // net promoter score: 0 to 10
	CSAT = "csat" // customer satisfaction: 1 to 5
)

// DefaultValidFor is how long a survey link takes an answer by default.
const DefaultValidFor = 14 * 24 * time.Hour

// Definition is a survey as users write it (kind: survey).
type Definition struct {
	Kind string `json:"kind,omitempty" yaml:"kind,omitempty"`
	ID   string `json:"id" yaml:"id"`
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Type is nps (0-10) or csat (1-5).
	Type string `json:"type" yaml:"type"`
	// Template is the message that invites the customer (its variables:
	// survey.url, survey.question, survey.reply_hint); a journey's send
	// step may name another.
	Template string `json:"template,omitempty" yaml:"template,omitempty"`
	// Language is the default language; a customer whose locale (or
	// language) trait names another the survey has gets that one.
	Language string `json:"language,omitempty" yaml:"language,omitempty"`
	// Question and Comment are the texts per language: the question, and
	// the invitation to comment (optional).
	Question map[string]string `json:"question" yaml:"question"`
	Comment  map[string]string `json:"comment,omitempty" yaml:"comment,omitempty"`
	// Channels are the question's variants per channel and language (a
	// short SMS wording): channels.sms.fr.
	Channels map[string]map[string]string `json:"channels,omitempty" yaml:"channels,omitempty"`
	// ValidFor is how long a link (and a reply) is taken; default 14d.
	ValidFor *segment.Duration `json:"valid_for,omitempty" yaml:"valid_for,omitempty"`
	// Detractor says which answers are followed up, and how.
	Detractor *Detractor `json:"detractor,omitempty" yaml:"detractor,omitempty"`
}

// Detractor is the follow-up of low scores: a score at or below AtMost
// (default 6 for NPS, 2 for CSAT) opens a task for the store the answer
// concerns (else Store), or whatever follow-up is registered
// (Service.OnDetractor: a conversation once they exist).
type Detractor struct {
	AtMost *int `json:"at_most,omitempty" yaml:"at_most,omitempty"`
	// FollowUp is task (the default) or none.
	FollowUp string `json:"follow_up,omitempty" yaml:"follow_up,omitempty"`
	// Store is the store of answers that name none; empty: such answers
	// are not followed up.
	Store string `json:"store,omitempty" yaml:"store,omitempty"`
	// Title is the task's title; {{score}}, {{survey}} and {{comment}}
	// are replaced.
	Title string `json:"title,omitempty" yaml:"title,omitempty"`
}

// Range returns the lowest and highest score of a survey type.
func Range(typ string) (lo, hi int) {
	if typ == CSAT {
		return 1, 5
	}
	return 0, 10
}

// Threshold is the highest score that counts as a detractor's.
func (d *Definition) Threshold() int {
	if d.Detractor != nil && d.Detractor.AtMost != nil {
		return *d.Detractor.AtMost
	}
	if d.Type == CSAT {
		return 2
	}
	return 6
}

// Validity is how long a send takes an answer.
func (d *Definition) Validity() time.Duration {
	if d.ValidFor != nil {
		return time.Duration(*d.ValidFor)
	}
	return DefaultValidFor
}

// lang picks the language of a customer whose locale is locale.
func (d *Definition) lang(locale string) string {
	l := strings.ToLower(locale)
	if i := strings.IndexAny(l, "-_"); i > 0 {
		l = l[:i]
	}
	if _, ok := d.Question[l]; ok && l != "" {
		return l
	}
	return d.Language
}

// QuestionFor is the question in lang on channel: the channel's variant,
// else the question.
func (d *Definition) QuestionFor(channel, lang string) string {
	if v := d.Channels[channel][lang]; v != "" {
		return v
	}
	return d.Question[lang]
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func invalid(id, path, reason string) error {
	return &problem.ValidationError{Subject: "survey", ID: id, Path: path, Reason: reason}
}

// Validate checks d and fills its defaults (kind, language).
func (d *Definition) Validate() error {
	if !idPattern.MatchString(d.ID) {
		return invalid(d.ID, "id", fmt.Sprintf("%q: lower-case letters, digits, - and _, up to 64", d.ID))
	}
	if d.Kind != "" && d.Kind != "survey" {
		return invalid(d.ID, "kind", fmt.Sprintf("%q: want survey", d.Kind))
	}
	d.Kind = "survey"
	if d.Type != NPS && d.Type != CSAT {
		return invalid(d.ID, "type", fmt.Sprintf("%q: want nps (0 to 10) or csat (1 to 5)", d.Type))
	}
	if len(d.Question) == 0 {
		return invalid(d.ID, "question", "is required: the question per language, like {fr: \"Recommanderiez-vous ...\"}")
	}
	for l, q := range d.Question {
		if strings.TrimSpace(q) == "" {
			return invalid(d.ID, "question."+l, "is empty")
		}
	}
	if d.Language == "" {
		if len(d.Question) > 1 {
			return invalid(d.ID, "language", "is required when the question has several languages: the default one")
		}
		for l := range d.Question {
			d.Language = l
		}
	}
	if _, ok := d.Question[d.Language]; !ok {
		return invalid(d.ID, "language", fmt.Sprintf("%q: the question has no text in it", d.Language))
	}
	for ch, v := range d.Channels {
		if !slices.Contains([]string{"email", "sms", "whatsapp", "push"}, ch) {
			return invalid(d.ID, "channels."+ch, "expected email, sms, whatsapp or push")
		}
		for l := range v {
			if _, ok := d.Question[l]; !ok {
				return invalid(d.ID, "channels."+ch+"."+l, "a language the question has no text in")
			}
		}
	}
	if d.ValidFor != nil && (*d.ValidFor <= 0 || time.Duration(*d.ValidFor) > 366*24*time.Hour) {
		return invalid(d.ID, "valid_for", "want a positive duration up to a year, like 14d")
	}
	if x := d.Detractor; x != nil {
		lo, hi := Range(d.Type)
		if x.AtMost != nil && (*x.AtMost < lo || *x.AtMost >= hi) {
			return invalid(d.ID, "detractor.at_most", fmt.Sprintf("%d: want a score from %d to %d", *x.AtMost, lo, hi-1))
		}
		if x.FollowUp != "" && x.FollowUp != "task" && x.FollowUp != "none" {
			return invalid(d.ID, "detractor.follow_up", fmt.Sprintf("%q: want task or none", x.FollowUp))
		}
	}
	return nil
}

// FollowsUp reports whether detractors' answers are followed up.
func (d *Definition) FollowsUp() bool {
	return d.Detractor == nil || d.Detractor.FollowUp != "none"
}

// ParseYAML reads every survey of a YAML stream, refusing unknown fields.
// Errors carry the file and line.
func ParseYAML(name string, r io.Reader) ([]*Definition, error) {
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
			return nil, invalid("", fmt.Sprintf("%s: document %d", name, i), strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		out = append(out, &d)
	}
}

// ParseJSON reads one survey from JSON, refusing unknown fields.
func ParseJSON(b []byte) (*Definition, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d Definition
	if err := dec.Decode(&d); err != nil {
		return nil, invalid("", "body", err.Error())
	}
	return &d, nil
}
