package message

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/parcours/parcours/internal/problem"
)

// Token kinds: what a signed link does.
const (
	tokenClick       = 'c'
	tokenOpen        = 'o'
	tokenUnsubscribe = 'u'
)

// ErrBadToken is a tracking or unsubscribe token that does not verify.
// It is a problem of kind not found: the link names nothing that exists.
var ErrBadToken = &problem.Error{Kind: problem.KindNotFound, Code: "not_found", Message: "this link is not valid",
	Details: map[string]string{"kind": "link token"}}

var b64 = base64.RawURLEncoding

// sign makes a token for a message's send key (and, for clicks, the target
// URL): the payload in clear, then 16 bytes of HMAC-SHA256. Tokens need no
// storage, and nobody can forge one to unsubscribe someone else.
func (p *Pipeline) sign(kind byte, key, extra string) string {
	payload := string(kind) + key + "\x00" + extra
	return b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(p.mac(payload))
}

func (p *Pipeline) mac(payload string) []byte {
	h := hmac.New(sha256.New, p.o.Secret)
	h.Write([]byte(payload))
	return h.Sum(nil)[:16]
}

// verify checks a token of the given kind and returns its send key and
// extra.
func (p *Pipeline) verify(kind byte, token string) (key, extra string, err error) {
	enc, sig, ok := strings.Cut(token, ".")
	if !ok {
		return "", "", ErrBadToken
	}
	raw, err1 := b64.DecodeString(enc)
	mac, err2 := b64.DecodeString(sig)
	if err1 != nil || err2 != nil || len(raw) < 2 || raw[0] != kind || !hmac.Equal(mac, p.mac(string(raw))) {
		return "", "", ErrBadToken
	}
	// Only the spelling sign makes: the decoder skips CR and LF anywhere
	// and ignores the spare bits of the last character, so other
	// spellings of a token would verify too (FuzzLinkToken).
	if b64.EncodeToString(raw) != enc || b64.EncodeToString(mac) != sig {
		return "", "", ErrBadToken
	}
	key, extra, _ = strings.Cut(string(raw[1:]), "\x00")
	return key, extra, nil
}
