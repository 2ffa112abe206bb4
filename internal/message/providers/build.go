package providers

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"

	"github.com/parcours/parcours/internal/message/provider"
)

func settingErr(field, reason string) error {
	return &FieldError{Field: "settings." + field, Reason: reason}
}

func checkURLs(m map[string]string) error {
	for field, v := range m {
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return settingErr(field, fmt.Sprintf("%q is not an absolute http(s) URL", v))
		}
	}
	return nil
}

// readSecret returns the inline secret or the file's content.
func readSecret(inline provider.Secret, path string) (provider.Secret, error) {
	if path == "" {
		return inline, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err // names the path, never the content
	}
	return provider.Secret(b), nil
}

// Build constructs the provider an entry describes. Key files named in the
// settings are read here.
func Build(e Entry) (provider.Provider, error) {
	p, err := build(e)
	if err != nil {
		return nil, fmt.Errorf("providers: build %q (%s): %w", e.Name, e.Type, err)
	}
	return p, nil
}

func build(e Entry) (provider.Provider, error) {
	k, ok := kindNamed(e.Type)
	if !ok || reflect.TypeOf(e.Settings) != reflect.PointerTo(k.settings) {
		return nil, fmt.Errorf("no settings of type %s", e.Type)
	}
	return k.build(e)
}

// BuildAll builds every provider of cfg, by name. On error the providers
// already built are closed.
func BuildAll(cfg *Config) (map[string]provider.Provider, error) {
	out := make(map[string]provider.Provider, len(cfg.Providers))
	for _, e := range cfg.Providers {
		p, err := Build(e)
		if err != nil {
			var errs []error
			for _, q := range out {
				errs = append(errs, q.Close())
			}
			return nil, errors.Join(append([]error{err}, errs...)...)
		}
		out[e.Name] = p
	}
	return out, nil
}
