package redact_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/redact"
)

type inner struct {
	Key  provider.Secret
	Name string
}

type outer struct {
	N     int
	In    *inner
	List  []inner
	Empty provider.Secret
}

func (o outer) Format(f fmt.State, verb rune) { redact.Format(f, verb, o) }

// Without Format, fmt prints the raw key of a pointed-to struct under %s
// (the bad-verb path skips String methods): this is what Format prevents.
func TestFormatHidesNestedSecrets(t *testing.T) {
	o := outer{N: 1, In: &inner{Key: "k-SECRET-1", Name: "n"}, List: []inner{{Key: "k-SECRET-2"}}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%q", "%x"} {
		got := fmt.Sprintf(verb, o) + fmt.Sprintf(verb, &o)
		if strings.Contains(got, "SECRET") {
			t.Errorf("%s printed a secret: %s", verb, got)
		}
	}
	if got := fmt.Sprint(o); got != "outer{N:1 In:inner{Key:[redacted] Name:n} List:[inner{Key:[redacted] Name:}] Empty:}" {
		t.Errorf("got %s", got)
	}
}
