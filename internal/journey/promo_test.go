package journey

import (
	"regexp"
	"testing"
)

// A promo code is the same for the same send and secret, differs between
// enrolments and between secrets, and reads without 0/O or 1/I.
func TestPromoCodeUniqueAndStable(t *testing.T) {
	k1 := sendKey("birthday", 1, "steps[2]", 7, 11)
	k2 := sendKey("birthday", 1, "steps[2]", 7, 12)
	a, b := promoCode([]byte("s"), "BDAY", k1), promoCode([]byte("s"), "BDAY", k1)
	if a != b {
		t.Fatalf("not stable: %s %s", a, b)
	}
	if !regexp.MustCompile(`^BDAY-[A-HJ-NP-Z2-9]{10}$`).MatchString(a) {
		t.Fatalf("format: %s", a)
	}
	if c := promoCode([]byte("s"), "BDAY", k2); c == a {
		t.Fatalf("two enrolments share %s", a)
	}
	if c := promoCode([]byte("other"), "BDAY", k1); c == a {
		t.Fatalf("two secrets give %s", a)
	}
	seen := map[string]bool{}
	for i := range 100000 {
		c := promoCode(nil, "", sendKey("b", 1, "steps[0]", int64(i), int64(i)))
		if seen[c] {
			t.Fatalf("collision at %d: %s", i, c)
		}
		seen[c] = true
	}
}
