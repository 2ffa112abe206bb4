package store

import (
	"reflect"
	"testing"
)

// TestBindArrays: named arrays become the engine's numbered placeholders
// in order of first appearance, one argument per name however often it
// appears; PostgreSQL casts (::) and unknown names are left alone.
func TestBindArrays(t *testing.T) {
	q, args := BindArrays("SELECT 1 WHERE a = ANY(:ids::bigint[]) OR b = ANY(:vals::text[]) OR c = ANY(:ids::bigint[]) AND d = :other",
		map[string]any{"ids": []int64{1}, "vals": []string{"x"}}, func(n int) string { return "$" + string(rune('0'+n)) }, func(v any) any { return v })
	if q != "SELECT 1 WHERE a = ANY($1::bigint[]) OR b = ANY($2::text[]) OR c = ANY($1::bigint[]) AND d = :other" {
		t.Errorf("query: %s", q)
	}
	if !reflect.DeepEqual(args, []any{[]int64{1}, []string{"x"}}) {
		t.Errorf("args: %v", args)
	}
}
