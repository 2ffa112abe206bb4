package message

import (
	"errors"
	"testing"
	"time"
)

// FuzzSurveyToken: a survey token verifies to the key and the expiry (to
// the second) it was made for, under its secret only; anything else
// verifies to nothing.
func FuzzSurveyToken(f *testing.F) {
	f.Add("journey:post-purchase:v1:steps[4]:p42:e7", int64(1797420608), "")
	f.Add("survey:contact-csat:call-7", int64(-1), "czE.AAAA")
	f.Add("", int64(0), "c3N1cnZleTp4ADE.AAAAAAAAAAAAAAAAAAAAAA")
	p := &Pipeline{o: Options{Secret: []byte("link-secret-0123456789")}}
	other := &Pipeline{o: Options{Secret: []byte("another-secret-0123456789")}}
	f.Fuzz(func(t *testing.T, key string, secs int64, random string) {
		exp := time.Unix(secs, 0).UTC()
		tok := p.SignSurvey(key, exp)
		gotKey, gotExp, err := p.VerifySurvey(tok)
		switch {
		case key == "" || containsNUL(key):
			if err == nil && gotKey != key {
				t.Fatalf("%q verifies as %q", tok, gotKey)
			}
		case err != nil || gotKey != key || !gotExp.Equal(exp):
			t.Fatalf("token for (%q, %v) verifies as (%q, %v), %v", key, exp, gotKey, gotExp, err)
		}
		if _, _, err := other.VerifySurvey(tok); !errors.Is(err, ErrBadToken) {
			t.Fatalf("%q verifies under another secret: %v", tok, err)
		}
		if k, e, err := p.VerifySurvey(random); err == nil && p.SignSurvey(k, e) != random {
			t.Fatalf("%q verifies as (%q, %v) but is not the token for it", random, k, e)
		}
	})
}

func containsNUL(s string) bool {
	for i := range len(s) {
		if s[i] == 0 {
			return true
		}
	}
	return false
}
