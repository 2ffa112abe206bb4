package template

import (
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/message/provider"
)

// TestEnginePanicsBecomeProblems keeps the inputs that made the engine
// panic (FuzzCheck found the first in 15 s; testdata/fuzz/FuzzCheck holds
// them too): each must be refused by Check as a syntax error placed on
// its line and column, in every kind of field, and rendering it must
// report an error, not panic.
func TestEnginePanicsBecomeProblems(t *testing.T) {
	tests := []struct {
		name, src string
		line, col int
		message   string
	}{
		{"combining mark as identifier", "{{͠}}", 1, 3, `"͠" is not a valid variable name`},
		{"on a later line, in a tag", "Bonjour\n  {% if ͠ %}x{% endif %}", 2, 9, `"͠" is not a valid variable name`},
		{"as a filter", "{{ profile.first_name | ͠ }}", 1, 25, `"͠" is not a valid variable name`},
		{"integer beyond int64", "{{ 99999999999999999999999 }}", 1, 4, `the number "99999999999999999999999" is out of range`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, tpl := range []*Template{
				{SMS: &SMS{Body: tc.src}},
				{Email: &Email{Subject: "s", HTML: tc.src}},
			} {
				probs := Problems(tpl.Check(Rules{}))
				if len(probs) != 1 {
					t.Fatalf("problems %+v, want one", probs)
				}
				p := probs[0]
				if p.Line != tc.line || p.Column != tc.col || !strings.Contains(p.Message, tc.message) {
					t.Errorf("problem %+v, want %d:%d %q", p, tc.line, tc.col, tc.message)
				}
				ch := tpl.Channels()[0]
				if _, err := tpl.Render(ch, Data{}, Rules{}); err == nil {
					t.Errorf("rendering %q on %s: no error", tc.src, ch)
				}
			}
		})
	}
	if _, err := (&Template{Push: &Push{Title: "t", Body: "{{͠}}"}}).Render(provider.Push, nil, Rules{}); err == nil {
		t.Error("push: no error")
	}
}
