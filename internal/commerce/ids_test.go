package commerce_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/problem"
)

// TestCheckID: ids are bounded, printable and fit in a URL path; the error
// names the field and quotes only the start of a long id (issue 14.8).
func TestCheckID(t *testing.T) {
	for _, ok := range []string{"TR-42", "lyon-01", "res_0190a", "Chaussure-été", "a:b@c.d+e", strings.Repeat("x", 128)} {
		if err := commerce.CheckID("sku", ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for id, want := range map[string]string{
		"":                       "is required",
		strings.Repeat("x", 129): "129 bytes",
		strings.Repeat("é", 1e5): "200000 bytes",
		"A\x00B":                 "U+0000 at byte 1",
		"A\x7fB":                 "U+007F",
		"tab\there":              "U+0009",
		"two words":              "U+0020",
		"zero\u200bwidth":        "U+200B",
		"a/b":                    `'/' at byte 1`,
		"50%":                    `'%'`,
		"bad\xffutf8":            "not valid UTF-8 at byte 3",
	} {
		err := commerce.CheckID("sku", id)
		var ve *problem.ValidationError
		if !errors.As(err, &ve) || ve.Path != "sku" || !strings.Contains(err.Error(), want) || len(err.Error()) > 300 {
			t.Errorf("%.20q: %v, want a validation error of sku saying %q", id, err, want)
		}
	}
}
