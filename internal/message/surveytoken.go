package message

import (
	"strconv"
	"time"
)

// tokenSurvey signs the links of surveys (internal/survey).
const tokenSurvey = 's'

// SignSurvey returns the token of a survey link: the survey send's key
// and the instant the link expires, signed like every link Parcours
// sends (HMAC-SHA256 with the link secret), so that nobody can forge one
// to answer in someone else's name or stretch its life.
func (p *Pipeline) SignSurvey(key string, expires time.Time) string {
	return p.sign(tokenSurvey, key, strconv.FormatInt(expires.Unix(), 10))
}

// VerifySurvey checks a survey token and returns its send key and
// expiry; ErrBadToken when it does not verify (forged, altered, or
// another kind of link's).
func (p *Pipeline) VerifySurvey(token string) (key string, expires time.Time, err error) {
	key, extra, err := p.verify(tokenSurvey, token)
	if err != nil {
		return "", time.Time{}, err
	}
	secs, err := strconv.ParseInt(extra, 10, 64)
	if err != nil || key == "" {
		return "", time.Time{}, ErrBadToken
	}
	return key, time.Unix(secs, 0).UTC(), nil
}

// PublicURL is path on the server's public URL (--public-url); path
// alone when none is set.
func (p *Pipeline) PublicURL(path string) string { return p.url(path) }
