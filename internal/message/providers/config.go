// Package providers reads the delivery providers' configuration (a YAML or
// JSON file), validates it with precise errors, expands ${ENV_VAR}
// references in secrets so that credentials stay out of files, builds the
// providers and reads their callbacks (Hooks). Each provider type is a
// file of its own and a line of the kinds table (kinds.go).
package providers

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/redact"
)

// Config is a parsed, validated providers file.
type Config struct {
	Providers []Entry `json:"providers"`
}

// Entry is one configured provider.
type Entry struct {
	Name    string           `json:"name"`
	Type    string           `json:"type"`
	Channel provider.Channel `json:"channel"`
	// RatePerSecond is the provider's send rate limit across all workers
	// (0: unlimited), for the delivery pipeline to enforce.
	RatePerSecond float64 `json:"rate_per_second"`
	// Settings is a pointer to the type's settings struct (*SMTPSettings,
	// *TwilioSettings, ...), secrets already expanded.
	Settings any `json:"settings"`
	// Line is where the entry starts in the file.
	Line int `json:"-"`
}

// Format prints the entry with secrets redacted, whatever the verb.
func (e Entry) Format(f fmt.State, verb rune) { redact.Format(f, verb, e) }

// Config's Format prints every entry redacted.
func (c Config) Format(f fmt.State, verb rune) { redact.Format(f, verb, c) }

// FieldError says which provider, which field and why.
type FieldError struct {
	File     string
	Line     int
	Provider string // name, or "#3" when the entry has none
	Field    string // e.g. "settings.auth_token"
	Reason   string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s:%d: provider %s: %s: %s", e.File, e.Line, e.Provider, e.Field, e.Reason)
}

// Load reads and validates the file at path, expanding ${VAR} in secrets
// from the environment.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("providers: %w", err)
	}
	return Parse(b, path, os.LookupEnv)
}

// Parse validates a providers file (YAML, or JSON which is YAML too).
// lookupEnv resolves ${VAR} references in secret fields; every error of
// the result is a *FieldError, joined.
func Parse(data []byte, file string, lookupEnv func(string) (string, bool)) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("providers: %s: %w", file, err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("providers: %s: empty file", file)
	}
	doc := root.Content[0]
	list := mapValue(doc, "providers")
	if doc.Kind == yaml.SequenceNode {
		list = doc
	}
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil, &FieldError{File: file, Line: doc.Line, Provider: "-", Field: "providers", Reason: "want a list of providers"}
	}
	cfg := &Config{}
	var errs []error
	seen := map[string]int{}
	for i, n := range list.Content {
		e, err := parseEntry(n, i, file, lookupEnv)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if first, dup := seen[e.Name]; dup {
			errs = append(errs, &FieldError{File: file, Line: n.Line, Provider: quote(e.Name), Field: "name",
				Reason: fmt.Sprintf("duplicate: already used at line %d", first)})
			continue
		}
		seen[e.Name] = n.Line
		cfg.Providers = append(cfg.Providers, e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

func parseEntry(n *yaml.Node, i int, file string, lookupEnv func(string) (string, bool)) (Entry, error) {
	id := fmt.Sprintf("#%d", i+1)
	fe := func(line int, field, reason string) *FieldError {
		return &FieldError{File: file, Line: line, Provider: id, Field: field, Reason: reason}
	}
	if n.Kind != yaml.MappingNode {
		return Entry{}, fe(n.Line, "-", "want a mapping {name, type, channel, rate_per_second, settings}")
	}
	var head struct {
		Name          string           `yaml:"name"`
		Type          string           `yaml:"type"`
		Channel       provider.Channel `yaml:"channel"`
		RatePerSecond float64          `yaml:"rate_per_second"`
		Settings      yaml.Node        `yaml:"settings"`
	}
	if err := checkKeys(n, reflect.TypeOf(head), "", fe); err != nil {
		return Entry{}, err
	}
	if err := n.Decode(&head); err != nil {
		return Entry{}, fe(n.Line, "-", err.Error())
	}
	if head.Name != "" {
		id = quote(head.Name)
	}
	k, known := kindNamed(head.Type)
	switch {
	case head.Name == "":
		return Entry{}, fe(n.Line, "name", "required")
	case !validName.MatchString(head.Name):
		return Entry{}, fe(n.Line, "name", "use letters, digits, '-' and '_' (it appears in URLs and logs)")
	case !known:
		return Entry{}, fe(n.Line, "type", fmt.Sprintf("%q is not one of %s", head.Type, strings.Join(Types(), ", ")))
	case head.RatePerSecond < 0:
		return Entry{}, fe(n.Line, "rate_per_second", "must be 0 (unlimited) or more")
	}
	switch {
	case head.Channel == "":
		head.Channel = k.channel
	case k.any:
		if !channel.Known(head.Channel) {
			return Entry{}, fe(n.Line, "channel", fmt.Sprintf("%q is not one of %s", head.Channel, channel.Join(channel.Names(nil))))
		}
	case head.Channel != k.channel:
		return Entry{}, fe(n.Line, "channel", fmt.Sprintf("type %s serves channel %s, not %s", head.Type, k.channel, head.Channel))
	}
	st := k.settings
	settings := reflect.New(st)
	sn := &head.Settings
	if sn.Kind == 0 {
		return Entry{}, fe(n.Line, "settings", "required")
	}
	if err := checkKeys(sn, st, "settings.", fe); err != nil {
		return Entry{}, err
	}
	if err := sn.Decode(settings.Interface()); err != nil {
		return Entry{}, fe(sn.Line, "settings", err.Error())
	}
	if err := expandSecrets(settings.Elem(), "settings.", lookupEnv, func(field, reason string) error { return fe(sn.Line, field, reason) }); err != nil {
		return Entry{}, err
	}
	if err := checkRequired(settings.Elem(), "settings.", func(field string) error { return fe(sn.Line, field, "required") }); err != nil {
		return Entry{}, err
	}
	if err := k.validate(settings.Interface()); err != nil {
		var f *FieldError
		if errors.As(err, &f) {
			f.File, f.Line, f.Provider = file, sn.Line, id
		}
		return Entry{}, err
	}
	return Entry{Name: head.Name, Type: head.Type, Channel: head.Channel, RatePerSecond: head.RatePerSecond,
		Settings: settings.Interface(), Line: n.Line}, nil
}

var (
	validName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	envRef     = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
	secretType = reflect.TypeFor[provider.Secret]()
)

func quote(s string) string { return fmt.Sprintf("%q", s) }

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// checkKeys rejects keys the struct does not have (a typo would otherwise
// silently drop a setting), recursing into nested structs.
func checkKeys(n *yaml.Node, t reflect.Type, prefix string, fe func(int, string, string) *FieldError) error {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind != yaml.MappingNode {
		return fe(n.Line, strings.TrimSuffix(prefix, "."), "want a mapping")
	}
	fields := map[string]reflect.StructField{}
	for f := range t.Fields() {
		fields[yamlName(f)] = f
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f, ok := fields[k.Value]
		if !ok {
			return fe(k.Line, prefix+k.Value, "unknown setting")
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[yaml.Node]() && ft.PkgPath() != "time" {
			if err := checkKeys(v, ft, prefix+k.Value+".", fe); err != nil {
				return err
			}
		}
	}
	return nil
}

// expandSecrets replaces ${VAR} in every provider.Secret field. Only
// secrets are expanded, and only the ${VAR} form, so a '$' inside another
// value stays as written.
func expandSecrets(v reflect.Value, prefix string, lookupEnv func(string) (string, bool), fail func(field, reason string) error) error {
	for i := range v.NumField() {
		f, fv := v.Type().Field(i), v.Field(i)
		name := prefix + yamlName(f)
		switch {
		case f.Type == secretType:
			var missing string
			out := envRef.ReplaceAllStringFunc(fv.String(), func(ref string) string {
				val, ok := lookupEnv(envRef.FindStringSubmatch(ref)[1])
				if !ok && missing == "" {
					missing = ref
				}
				return val
			})
			if missing != "" {
				return fail(name, fmt.Sprintf("environment variable %s is not set", missing))
			}
			fv.SetString(out)
		case f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct && !fv.IsNil():
			if err := expandSecrets(fv.Elem(), name+".", lookupEnv, fail); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkRequired(v reflect.Value, prefix string, fail func(field string) error) error {
	for i := range v.NumField() {
		f, fv := v.Type().Field(i), v.Field(i)
		name := prefix + yamlName(f)
		if f.Tag.Get("required") == "true" && fv.IsZero() {
			return fail(name)
		}
		if f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct && !fv.IsNil() {
			if err := checkRequired(fv.Elem(), name+".", fail); err != nil {
				return err
			}
		}
	}
	return nil
}
