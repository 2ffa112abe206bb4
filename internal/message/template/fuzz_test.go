package template

import (
	"fmt"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
)

// FuzzCheck feeds arbitrary template text (it comes from the API) to the
// checker and the renderer: errors are fine, panics are not.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"Hi {{ profile.first_name | upcase }}", "{% if a %}{{ b.c }}{% endif %}",
		"{{ 'x\" | y: 1 }}", "{% for p in products limit: 2 %}{{ p }}{% endfor %}", "{{", "{% assign = %}", "{{ a-b? | }}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(2 * time.Second):
				panic(fmt.Sprintf("template took more than 2s: %q", src))
			}
		}()
		tpl := &Template{SMS: &SMS{Body: src}}
		// Only templates that pass Check are ever rendered.
		if tpl.Check(Rules{MaxOutput: 4096}) == nil {
			_, _ = tpl.Render(provider.SMS, Data{"profile": map[string]any{"first_name": "x"}}, Rules{MaxOutput: 4096})
		}
		_ = roots(src)
	})
}
