package commerce

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxIDLength is the longest id commerce accepts, in bytes.
const MaxIDLength = 128

// MaxKeyLength is the longest idempotency key accepted, in bytes.
const MaxKeyLength = 255

// MaxQuantity bounds every quantity commerce stores (on hand, safety,
// reserved, a delta, a reservation): far beyond any real stock, and far
// enough from the int64 limit that no sum of two can wrap around.
const MaxQuantity = 1_000_000_000_000

// CheckID accepts the ids of products, SKUs, locations, orders,
// reservations and returns: 1 to MaxIDLength bytes of printable UTF-8,
// without spaces, '/', '?', '#' or '%', so that an id fits in a URL path
// and in an identifier as it is. field names the input in the error. It is
// the one place ids are checked.
func CheckID(field, id string) error {
	const rule = "an id is 1 to 128 bytes of printable characters, without spaces, '/', '?', '#' or '%'"
	if id == "" {
		return invalid(field, "is required: %s", rule)
	}
	if len(id) > MaxIDLength {
		return invalid(field, "%s is %d bytes long: %s", quoteStart(id), len(id), rule)
	}
	for i, r := range id {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(id[i:], "\uFFFD"):
			return invalid(field, "%s is not valid UTF-8 at byte %d: %s", quoteStart(id), i, rule)
		case unicode.IsSpace(r) || !unicode.IsPrint(r):
			return invalid(field, "%s has %U at byte %d: %s", quoteStart(id), r, i, rule)
		case strings.ContainsRune("/?#%", r):
			return invalid(field, "%s has %q at byte %d: %s", quoteStart(id), r, i, rule)
		}
	}
	return nil
}

// CheckKey accepts an idempotency key: 1 to MaxKeyLength bytes of
// printable UTF-8 (spaces allowed).
func CheckKey(field, key string) error {
	const rule = "an idempotency key is 1 to 255 bytes of printable characters, such as a UUID"
	if key == "" {
		return invalid(field, "is empty: %s", rule)
	}
	if len(key) > MaxKeyLength {
		return invalid(field, "%s is %d bytes long: %s", quoteStart(key), len(key), rule)
	}
	for i, r := range key {
		if (r == utf8.RuneError && !strings.HasPrefix(key[i:], "\uFFFD")) || !unicode.IsPrint(r) {
			return invalid(field, "%s has %U at byte %d: %s", quoteStart(key), r, i, rule)
		}
	}
	return nil
}

// CheckQuantity accepts a quantity from lowest to MaxQuantity.
func CheckQuantity(field string, n, lowest int64) error {
	if n < lowest || n > MaxQuantity {
		return invalid(field, "%d is out of range: a whole number from %d to %d", n, lowest, int64(MaxQuantity))
	}
	return nil
}

// quoteStart quotes the start of a string for an error message, escaping
// what cannot be printed, so that a 100,000-byte id does not make a
// 100,000-byte error.
func quoteStart(s string) string {
	const keep = 40
	if len(s) <= keep {
		return fmt.Sprintf("%q", s)
	}
	cut := keep
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q…", s[:cut])
}

// checkID is CheckID under the name the package's validations use.
func checkID(field, id string) error { return CheckID(field, id) }
