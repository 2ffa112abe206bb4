package config

import (
	"encoding/json"
	"fmt"
	"strings"
)

// toJSON converts a decoded YAML document to JSON text (YAML maps may have
// non-string keys, which JSON cannot).
func toJSON(doc any) (string, error) {
	if doc == nil {
		return "{}", nil
	}
	doc = stringKeys(doc)
	// Keys are written like flags (data-dir); kong looks them up as data_dir.
	if m, ok := doc.(map[string]any); ok {
		for k, v := range m {
			if strings.Contains(k, "-") {
				delete(m, k)
				m[strings.ReplaceAll(k, "-", "_")] = v
			}
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("config file: %w", err)
	}
	return string(b), nil
}

func stringKeys(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = stringKeys(x)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[fmt.Sprint(k)] = stringKeys(x)
		}
		return m
	case []any:
		for i, x := range v {
			v[i] = stringKeys(x)
		}
	}
	return v
}
