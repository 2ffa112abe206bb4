// Package redact prints configuration structs with their secrets hidden,
// whatever the fmt verb. provider.Secret hides itself through its String
// method, but fmt does not call methods on unexported fields, nor inside a
// value printed with a verb it does not fit (%s on a struct holding a
// pointer): there the raw string would show. Types that hold secrets
// implement fmt.Formatter with Format below so that fmt never walks them.
package redact

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/parcours/parcours/internal/message/provider"
)

var secretType = reflect.TypeFor[provider.Secret]()

// Format writes v as {Field:value ...} for any verb, with every
// provider.Secret, at any depth, shown as [redacted] (or empty).
func Format(f fmt.State, _ rune, v any) {
	var b strings.Builder
	write(&b, reflect.ValueOf(v), 0)
	_, _ = f.Write([]byte(b.String()))
}

func write(b *strings.Builder, v reflect.Value, depth int) {
	if depth > 8 {
		b.WriteString("…")
		return
	}
	switch {
	case !v.IsValid():
		b.WriteString("<nil>")
	case v.Type() == secretType:
		if v.Len() > 0 {
			b.WriteString("[redacted]")
		}
	case v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface:
		if v.IsNil() {
			b.WriteString("<nil>")
			return
		}
		write(b, v.Elem(), depth+1)
	case v.Kind() == reflect.Struct && v.Type().PkgPath() != "time":
		b.WriteString(v.Type().Name() + "{")
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue // unexported state (clients, keys) is not configuration
			}
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(f.Name + ":")
			write(b, v.Field(i), depth+1)
		}
		b.WriteByte('}')
	case v.Kind() == reflect.Slice || v.Kind() == reflect.Array:
		b.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				b.WriteByte(' ')
			}
			write(b, v.Index(i), depth+1)
		}
		b.WriteByte(']')
	case v.Kind() == reflect.Map:
		b.WriteString("map[")
		for i, k := range v.MapKeys() {
			if i > 0 {
				b.WriteByte(' ')
			}
			write(b, k, depth+1)
			b.WriteByte(':')
			write(b, v.MapIndex(k), depth+1)
		}
		b.WriteByte(']')
	case v.CanInterface():
		fmt.Fprintf(b, "%v", v.Interface())
	default:
		b.WriteString("?")
	}
}
