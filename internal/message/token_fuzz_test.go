package message

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// tokenKinds are every kind of signed link: click, open, unsubscribe (and
// the preference page, which takes the unsubscribe token), double opt-in
// confirmation, survey.
var tokenKinds = []byte{tokenClick, tokenOpen, tokenUnsubscribe, tokenConfirm, tokenSurvey}

// FuzzLinkToken holds the signed link tokens (tracking, unsubscribe,
// preferences, double opt-in) to their promise: a token this server made
// always verifies, to the send key and extra it was made for; a token
// altered in any byte, made with another secret or for another kind never
// does; and any string that verifies is exactly the token the server
// would make for what it verifies to (no second spelling of a token).
func FuzzLinkToken(f *testing.F) {
	// Send keys as SendKey makes them, and the click targets of templates.
	f.Add(uint8(0), "api:order-1042-shipped", "https://shop.example/suivi?o=1042&utm_source=parcours", 0, byte('A'), "")
	f.Add(uint8(1), "journey:welcome:v3:s2:p42:e9f1", "", 5, byte('x'), "")
	f.Add(uint8(2), "api:k", "", 30, byte('.'), "dV9hcGk6aw.AAAAAAAAAAAAAAAAAAAAAA")
	f.Add(uint8(3), "double-opt-in:42:abc", "newsletter", -1, byte(0), "")
	f.Add(uint8(0), "api:é€", "https://shop.example/p/é?x=\x00y", 12, byte('-'), "Y2FwaTpr.")
	pipe := func(secret string) *Pipeline { return &Pipeline{o: Options{Secret: []byte(secret)}} }
	p, other := pipe("link-secret-0123456789"), pipe("another-secret-0123456789")
	f.Fuzz(func(t *testing.T, k uint8, key, extra string, at int, b byte, random string) {
		kind := tokenKinds[int(k)%len(tokenKinds)]
		// A send key never holds NUL (SendKey refuses it): the token
		// separates the key from the extra with one.
		if strings.ContainsRune(key, 0) {
			t.Skip()
		}
		tok := p.sign(kind, key, extra)

		gotKey, gotExtra, err := p.verify(kind, tok)
		if err != nil || gotKey != key || gotExtra != extra {
			t.Fatalf("token %q made for (%q, %q) verifies as (%q, %q), %v", tok, key, extra, gotKey, gotExtra, err)
		}
		if _, _, err := other.verify(kind, tok); !errors.Is(err, ErrBadToken) {
			t.Fatalf("token %q verifies under another secret: %v", tok, err)
		}
		for _, k2 := range tokenKinds {
			if _, _, err := p.verify(k2, tok); k2 != kind && !errors.Is(err, ErrBadToken) {
				t.Fatalf("a %c token %q verifies as a %c token: %v", kind, tok, k2, err)
			}
		}

		// Any single byte changed, dropped or appended.
		if at >= 0 {
			i := at % (len(tok) + 1)
			altered := []string{tok[:i] + string(b) + tok[i:]}
			if i < len(tok) {
				altered = append(altered, tok[:i]+tok[i+1:])
				if b != tok[i] {
					altered = append(altered, tok[:i]+string(b)+tok[i+1:])
				}
			}
			for _, a := range altered {
				if k, x, err := p.verify(kind, a); !errors.Is(err, ErrBadToken) {
					t.Fatalf("token %q altered at %d into %q still verifies: (%q, %q), %v", tok, i, a, k, x, err)
				}
			}
		}

		// A string from anywhere verifies only if it is the token this
		// server would make for what it says.
		if k, x, err := p.verify(kind, random); err == nil {
			if want := p.sign(kind, k, x); want != random {
				t.Fatalf("%q verifies as (%q, %q), whose token is %q", random, k, x, want)
			}
		} else if !errors.Is(err, ErrBadToken) {
			t.Fatalf("verify(%q): %v, want ErrBadToken", random, err)
		}
	})
}

// TestLinkTokenOneSpelling: before FuzzLinkToken, a token with a CR or LF
// inserted anywhere, or its last character changed in the bits base64
// leaves spare, still verified. Only the token as made does now.
func TestLinkTokenOneSpelling(t *testing.T) {
	p := &Pipeline{o: Options{Secret: []byte("link-secret-0123456789")}}
	tok := p.sign(tokenUnsubscribe, "api:order-1042", "")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	enc, sig, _ := strings.Cut(tok, ".")
	var spellings []string
	for _, c := range alphabet {
		spellings = append(spellings, enc+"."+sig[:len(sig)-1]+string(c), enc[:len(enc)-1]+string(c)+"."+sig)
	}
	for i := range len(tok) + 1 {
		spellings = append(spellings, tok[:i]+"\r"+tok[i:], tok[:i]+"\n"+tok[i:])
	}
	for _, s := range spellings {
		if _, _, err := p.verify(tokenUnsubscribe, s); (err == nil) != (s == tok) {
			t.Errorf("verify(%q) = %v; only %q verifies", s, err, tok)
		}
	}
}

// TestSendKeyRefusesNUL: a token ends the send key at its first NUL, so a
// key holding one would make links that act on another message.
func TestSendKeyRefusesNUL(t *testing.T) {
	r := Request{Key: "order-1\x00https://elsewhere.example"}
	if _, err := r.SendKey(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("SendKey of a key holding NUL: %v, want ErrInvalid", err)
	}
}

// FuzzPublicURL: a public URL CheckPublicURL accepts makes working links:
// the unsubscribe link built on it is an absolute http(s) URL whose path
// ends with /u/ and the token, with no query or fragment to swallow it.
func FuzzPublicURL(f *testing.F) {
	for _, s := range []string{"https://crm.shop.example", "https://shop.example/crm/", "http://localhost:8080",
		"https://[::1]:8443/p", "https://shop.example/#", "https://shop.example/?", "ftp://x", "https://user@shop.example/a%2Fb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if _, err := CheckPublicURL(raw); err != nil || raw == "" {
			return
		}
		p := &Pipeline{o: Options{Secret: []byte("link-secret-0123456789"), BaseURL: raw}}
		tok := p.sign(tokenUnsubscribe, "api:k", "")
		link := p.url("/u/" + tok)
		u, err := url.Parse(link)
		if err != nil {
			t.Fatalf("public URL %q accepted, but its link %q does not parse: %v", raw, link, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || !strings.HasSuffix(u.Path, "/u/"+tok) {
			t.Fatalf("public URL %q accepted, but its link %q does not lead to /u/%s (path %q, query %q, fragment %q)", raw, link, tok, u.Path, u.RawQuery, u.Fragment)
		}
	})
}
