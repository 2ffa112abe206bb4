package template

import (
	"strings"

	"github.com/osteele/liquid"
)

type ident struct {
	name   string
	at     int    // byte offset in the expression
	filter bool   // a filter's name
	field  string // the property read right after it (order.id: "id")
}

// candidateFilters are the filter names of Liquid and of the engine's
// extensions; knownFilters keeps those the engine really has.
var candidateFilters = strings.Fields(`abs append at_least at_most capitalize ceil compact concat date default
	divided_by downcase escape escape_once first floor handle handleize inspect join json last lstrip map minus
	modulo newline_to_br pluralize plus prepend remove remove_first remove_last replace replace_first replace_last
	reverse round rstrip size slice sort sort_natural split strip strip_html strip_newlines sum times truncate
	truncatewords type uniq upcase url_decode url_encode where base64_encode base64_decode date_to_string
	date_to_xmlschema group_by xml_escape cgi_escape uri_escape number_of_words to_integer`)

var knownFilters = func() map[string]bool {
	known := map[string]bool{}
	for _, f := range candidateFilters {
		_, err := engines.plain.ParseAndRenderString("{{ x | "+f+" }}", liquid.Bindings{})
		if err == nil || !strings.Contains(err.Error(), "undefined filter") {
			known[f] = true
		}
	}
	return known
}()

// roots returns the identifiers of an expression that start a variable
// path: not properties (after "."), filter names (after "|"), named
// arguments (before ":"), string or number literals.
func roots(expr string) []ident {
	var out []ident
	prev := byte(0) // the previous significant character
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'':
			end := strings.IndexByte(expr[i+1:], c)
			if end < 0 {
				return out
			}
			i += end + 2
			prev = c
		case isIdentStart(c):
			j := i + 1
			for j < len(expr) && (isIdentStart(expr[j]) || expr[j] >= '0' && expr[j] <= '9' || expr[j] == '-' && j+1 < len(expr) && isIdentStart(expr[j+1])) {
				j++
			}
			if j < len(expr) && expr[j] == '?' {
				j++
			}
			k := j
			for k < len(expr) && expr[k] == ' ' {
				k++
			}
			named := k < len(expr) && expr[k] == ':'
			switch {
			case prev == '|':
				out = append(out, ident{name: expr[i:j], at: i, filter: true})
			case prev != '.' && !named:
				id := ident{name: expr[i:j], at: i}
				if j+1 < len(expr) && expr[j] == '.' && isIdentStart(expr[j+1]) {
					f := j + 2
					for f < len(expr) && (isIdentStart(expr[f]) || expr[f] >= '0' && expr[f] <= '9' || expr[f] == '-') {
						f++
					}
					id.field = expr[j+1 : f]
				}
				out = append(out, id)
			}
			i, prev = j, 'a'
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		default:
			i++
			prev = c
		}
	}
	return out
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
