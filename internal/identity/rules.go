package identity

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"
	"gopkg.in/yaml.v3"
)

// Rules configure identity resolution. The zero value is not usable: start
// from DefaultRules, or load a file with LoadRules.
type Rules struct {
	// DefaultRegion is the ISO country code phones without a country code
	// are read in (E.164 normalisation).
	DefaultRegion string `yaml:"default_region"`
	// Blocklist holds junk values that never match, compared after
	// normalisation and case-insensitively. They are added to the defaults.
	Blocklist []string `yaml:"blocklist"`
	// Patterns are regular expressions of junk values, added to the defaults.
	Patterns []string `yaml:"patterns"`
	// Limits caps how many identifiers of a kind one profile holds.
	// Kinds without a limit (external ids) default to 5.
	Limits map[Kind]int `yaml:"limits"`
	// Priority orders kinds from the most to the least trusted: when a link
	// would break a limit, the lowest-priority identifier is not linked.
	Priority []Kind `yaml:"priority"`
	// MaxIdentifiers and MaxMerges protect against merge storms: past them
	// a profile absorbs no more identifiers or profiles.
	MaxIdentifiers int `yaml:"max_identifiers"`
	MaxMerges      int `yaml:"max_merges"`

	blocked  map[string]bool
	patterns []*regexp.Regexp
	rank     map[Kind]int
}

// Default junk values: what broken clients and test forms send.
var defaultBlocklist = []string{
	"null", "undefined", "nil", "none", "anonymous", "unknown", "0", "-1", "[object object]",
	"true", "false", "nan", "test", "test@test.com", "test@example.com", "email@example.com",
	"noemail@noemail.com", "no@email.com", "n/a", "na", "-", "",
}

var defaultPatterns = []string{
	`^\+?0+$`,      // all-zero phones and ids
	`^\{\{.*\}\}$`, // unrendered templates: {{user.id}}
	`^\$\{.*\}$`,   // ${userId}
}

// DefaultRules returns the rules used when no file is given.
func DefaultRules() *Rules {
	r := &Rules{
		DefaultRegion: "FR",
		Limits: map[Kind]int{
			UserID: 1, Email: 5, Phone: 5, AnonymousID: 100, LoyaltyID: 2,
			DeviceToken: 20, StoreCustomerID: 5,
		},
		Priority:       []Kind{UserID, LoyaltyID, Email, Phone, StoreCustomerID, DeviceToken, AnonymousID},
		MaxIdentifiers: 1000,
		MaxMerges:      100,
	}
	if err := r.compile(); err != nil {
		panic(err)
	}
	return r
}

// LoadRules reads a rules file (YAML) over the defaults: limits and
// priority given in the file replace the defaults kind by kind, blocklists
// and patterns add to them.
func LoadRules(path string) (*Rules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity rules: %w", err)
	}
	var file Rules
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("identity rules %s: %w", path, err)
	}
	r := DefaultRules()
	if file.DefaultRegion != "" {
		r.DefaultRegion = strings.ToUpper(file.DefaultRegion)
	}
	r.Blocklist = append(r.Blocklist, file.Blocklist...)
	r.Patterns = append(r.Patterns, file.Patterns...)
	for k, v := range file.Limits {
		if v < 1 {
			return nil, fmt.Errorf("identity rules %s: limits.%s: must be at least 1", path, k)
		}
		r.Limits[k] = v
	}
	if len(file.Priority) > 0 {
		r.Priority = file.Priority
	}
	if file.MaxIdentifiers > 0 {
		r.MaxIdentifiers = file.MaxIdentifiers
	}
	if file.MaxMerges > 0 {
		r.MaxMerges = file.MaxMerges
	}
	if err := r.compile(); err != nil {
		return nil, fmt.Errorf("identity rules %s: %w", path, err)
	}
	return r, nil
}

func (r *Rules) compile() error {
	if _, ok := phonenumbers.GetSupportedRegions()[r.DefaultRegion]; !ok {
		return fmt.Errorf("default_region: %q is not an ISO country code phonenumbers knows", r.DefaultRegion)
	}
	r.blocked = map[string]bool{}
	for _, v := range slices.Concat(defaultBlocklist, r.Blocklist) {
		r.blocked[strings.ToLower(strings.TrimSpace(v))] = true
	}
	r.patterns = nil
	for _, p := range slices.Concat(defaultPatterns, r.Patterns) {
		re, err := regexp.Compile(p)
		if err != nil {
			return fmt.Errorf("patterns: %q: %w", p, err)
		}
		r.patterns = append(r.patterns, re)
	}
	r.rank = map[Kind]int{}
	for i, k := range r.Priority {
		if _, dup := r.rank[k]; dup {
			return fmt.Errorf("priority: %s is listed twice", k)
		}
		r.rank[k] = i
	}
	return nil
}

// Limit is how many identifiers of kind one profile may hold.
func (r *Rules) Limit(k Kind) int {
	if n, ok := r.Limits[k]; ok {
		return n
	}
	return 5
}

// Rank orders kinds by priority: lower is more trusted. Kinds missing from
// the priority list (external ids) come after the listed ones but before
// anonymous ids, by name.
func (r *Rules) Rank(k Kind) int {
	if i, ok := r.rank[k]; ok {
		return i
	}
	if i, ok := r.rank[AnonymousID]; ok {
		return i - 1
	}
	return len(r.rank)
}

// Less orders identifiers by priority, then by kind and value, so that
// processing order never depends on the order fields appear in an event.
func (r *Rules) Less(a, b Identifier) bool {
	ra, rb := r.Rank(a.Kind), r.Rank(b.Kind)
	if ra != rb {
		return ra < rb
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	return a.Value < b.Value
}

// Normalize turns a raw identifier into its matching form, or says why it
// cannot be used: emails are trimmed and lower-cased, phones converted to
// E.164 in the default region, everything trimmed; junk values are refused.
func (r *Rules) Normalize(raw Raw) (Identifier, string) {
	v := strings.TrimSpace(raw.Value)
	switch raw.Kind {
	case Email:
		v = strings.ToLower(v)
		if at := strings.LastIndexByte(v, '@'); at <= 0 || at == len(v)-1 {
			return Identifier{}, "not an email address"
		}
	case Phone:
		num, err := phonenumbers.Parse(v, r.DefaultRegion)
		if err != nil || !phonenumbers.IsPossibleNumber(num) {
			return Identifier{}, "not a phone number"
		}
		if num.GetNationalNumber() == 0 {
			return Identifier{}, "an all-zero phone number"
		}
		v = phonenumbers.Format(num, phonenumbers.E164)
	}
	if v == "" || len(v) > 512 {
		return Identifier{}, "empty or over 512 bytes"
	}
	if r.blocked[strings.ToLower(v)] {
		return Identifier{}, "blocklisted value"
	}
	if len(v) >= 4 && strings.Count(v, v[:1]) == len(v) {
		return Identifier{}, "one character repeated"
	}
	for _, re := range r.patterns {
		if re.MatchString(v) {
			return Identifier{}, "matches the blocklist pattern " + re.String()
		}
	}
	return Identifier{Kind: raw.Kind, Value: v}, ""
}
