package store

import "testing"

func TestPageSize(t *testing.T) {
	p := Page{Default: 50, Max: 1000}
	for _, tc := range []struct{ asked, want int }{
		{0, 50}, {-3, 50}, {1, 1}, {999, 999}, {1000, 1000}, {1001, 1000},
	} {
		if got := p.Size(tc.asked); got != tc.want {
			t.Errorf("Size(%d) = %d, want %d", tc.asked, got, tc.want)
		}
	}
}
