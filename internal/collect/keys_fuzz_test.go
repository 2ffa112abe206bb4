package collect

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzBasicWriteKey: any Authorization header is read without panic; a
// write key a client sends as the HTTP Basic user name, however it
// spells the header (colon or not, padded or not, scheme in any case), is
// the key read back.
func FuzzBasicWriteKey(f *testing.F) {
	// What Segment's libraries and curl -u send.
	for _, s := range []string{"Basic d2tfa2V5Og==", "basic d2tfa2V5", "BASIC  d2tfa2V5Og  ", "Bearer d2tfa2V5Og==", "Basic !!!", "Basic", "Basic =", ""} {
		f.Add(s, "wk_1c7e0f")
	}
	f.Fuzz(func(t *testing.T, header, key string) {
		_ = BasicWriteKey(header)
		if key == "" || strings.Contains(key, ":") {
			return
		}
		for _, h := range []string{
			"Basic " + base64.StdEncoding.EncodeToString([]byte(key+":")),
			"Basic " + base64.StdEncoding.EncodeToString([]byte(key)),
			"basic " + base64.RawStdEncoding.EncodeToString([]byte(key+":")),
			"BASIC " + base64.RawStdEncoding.EncodeToString([]byte(key)) + " ",
		} {
			if got := BasicWriteKey(h); got != key {
				t.Fatalf("write key %q sent as %q read as %q", key, h, got)
			}
		}
	})
}
