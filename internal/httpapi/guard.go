package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/parcours/parcours/internal/problem"
)

// checkInput refuses, before any handler, a path or query that holds a NUL
// character or bytes that are not UTF-8. PostgreSQL refuses both in text
// (a lookup of such an id failed with a 500 there and answered 404 on
// SQLite); no id, name or filter of Parcours can hold them, so the answer
// is the same 400 on every engine, naming the part of the request.
func (a *API) checkInput(pattern string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkPath(pattern, r); err != nil {
			a.fail(w, r, err)
			return
		}
		for name, values := range r.URL.Query() {
			if err := checkText("query parameter "+quoteField(name), name); err != nil {
				a.fail(w, r, err)
				return
			}
			for _, v := range values {
				if err := checkText(name, v); err != nil {
					a.fail(w, r, err)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// checkPath checks the path's segments, naming a bad one by the route's
// wildcard ({sku}: field "sku"), else "path".
func checkPath(pattern string, r *http.Request) error {
	if checkText("path", r.URL.Path) == nil {
		return nil
	}
	names := strings.Split(pattern, "/")
	for i, seg := range strings.Split(r.URL.EscapedPath(), "/") {
		if v, err := url.PathUnescape(seg); err == nil {
			seg = v
		}
		field := "path"
		if i < len(names) && strings.HasPrefix(names[i], "{") {
			field = strings.Trim(names[i], "{}.")
			if field == "location" {
				field = "location_id" // as errors and bodies name it
			}
		}
		if err := checkText(field, seg); err != nil {
			return err
		}
	}
	return checkText("path", r.URL.Path)
}

// checkText refuses a NUL character or invalid UTF-8 in s, field naming
// where s came from.
func checkText(field, s string) error {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return problem.Invalid(field, fmt.Sprintf("holds a NUL character at byte %d: text in Parcours cannot hold NUL (U+0000)", i))
	}
	if !utf8.ValidString(s) {
		return problem.Invalid(field, fmt.Sprintf("is not valid UTF-8 at byte %d: send text as UTF-8, percent-encoded in a URL", invalidAt([]byte(s))))
	}
	return nil
}

// checkBody refuses a JSON body that is not UTF-8 or holds a string with
// a NUL character (\u0000), naming the byte: PostgreSQL stores neither,
// and a body one engine would keep and the other refuse must be refused
// on both. decodeBody names the field instead (checkStrings).
func checkBody(b []byte) error {
	if !utf8.Valid(b) {
		return problem.Invalid("body", fmt.Sprintf("is not valid UTF-8 at byte %d: send JSON as UTF-8", invalidAt(b)))
	}
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] != '\\' || i+1 >= len(b):
		case b[i+1] == 'u' && i+6 <= len(b) && bytes.Equal(b[i+2:i+6], []byte("0000")):
			return problem.Invalid("body", fmt.Sprintf("holds a NUL character (\\u0000) at byte %d: text in Parcours cannot hold NUL; remove it", i))
		default:
			i++ // an escaped character: \\ must not start another escape
		}
	}
	return nil
}

// checkStrings refuses a NUL character in any string of a decoded body v,
// naming its field as the JSON does (variants[0].sku).
func checkStrings(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return checkStrings(v.Elem(), path)
		}
	case reflect.String:
		if i := strings.IndexByte(v.String(), 0); i >= 0 {
			return problem.Invalid(field(path), fmt.Sprintf("holds a NUL character (\\u0000) at byte %d: text in Parcours cannot hold NUL; remove it", i))
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if v.Type() == rawJSON { // kept as sent: checked as a body
				if err := checkBody(v.Bytes()); err != nil {
					return problem.Invalid(field(path), err.(*problem.ValidationError).Reason)
				}
			}
			return nil // bytes, from base64
		}
		for i := range v.Len() {
			if err := checkStrings(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			k := fmt.Sprint(it.Key().Interface())
			if strings.IndexByte(k, 0) >= 0 {
				return problem.Invalid(field(path), "has a key holding a NUL character (\\u0000): text in Parcours cannot hold NUL; remove it")
			}
			if err := checkStrings(it.Value(), join(path, k)); err != nil {
				return err
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case name == "-":
				continue
			case name == "" && f.Anonymous:
				name = "" // inlined: its fields are the parent's
			case name == "":
				name = f.Name
			}
			if err := checkStrings(v.Field(i), join(path, name)); err != nil {
				return err
			}
		}
	}
	return nil
}

var rawJSON = reflect.TypeFor[json.RawMessage]()

func join(path, name string) string {
	if path == "" || name == "" {
		return path + name
	}
	return path + "." + name
}

func field(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// invalidAt returns the offset of the first byte of b that is not UTF-8.
func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// quoteField quotes a query parameter's name for an error, safely.
func quoteField(s string) string {
	return fmt.Sprintf("%.40q", s)
}
