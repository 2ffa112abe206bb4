package recommend

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/profile"
)

// EventRecommendationClicked is appended when a short link is followed:
// the customer's timeline shows which recommendation brought them.
const EventRecommendationClicked = "Recommendation Clicked"

// Links makes the short links an SMS carries: BASE/r/PROFILE/PRODUCT/
// NAME/SIG, about 60 characters whatever the product's URL, signed so
// that nobody can make one point elsewhere. Following one appends
// Recommendation Clicked and redirects to the product's tagged URL.
type Links struct {
	// Base is serve's public URL; Secret signs (the message pipeline's).
	// Without either, SMS carry the product's tagged URL itself.
	Base   string
	Secret []byte
}

func (l Links) enabled() bool { return l.Base != "" && len(l.Secret) > 0 }

func (l Links) sign(profileID int64, product, name string) string {
	mac := hmac.New(sha256.New, l.Secret)
	fmt.Fprintf(mac, "rec\x00%d\x00%s\x00%s", profileID, product, name)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:6])
}

// Short returns the short link of a product proposed to a profile.
func (l Links) Short(profileID int64, product, name string) string {
	return fmt.Sprintf("%s/r/%d/%s/%s/%s", strings.TrimSuffix(l.Base, "/"), profileID, url.PathEscape(product),
		url.PathEscape(name), l.sign(profileID, product, name))
}

// ErrBadLink is a short link that was not signed here.
var ErrBadLink = errors.New("recommend: this link was not made by this server (or was altered)")

// Follow checks a short link's parts and returns where it leads (the
// product's tagged URL) and the event that records the click.
func (r *Recommender) Follow(profileID, product, name, sig string, now time.Time) (string, *event.Event, error) {
	id, err := strconv.ParseInt(profileID, 10, 64)
	if err != nil || !r.Links.enabled() || !hmac.Equal([]byte(sig), []byte(r.Links.sign(id, product, name))) {
		return "", nil, ErrBadLink
	}
	it, ok := r.Model.Item(product)
	if !ok || it.URL == "" {
		return "", nil, fmt.Errorf("recommend: product %s has no URL the model knows: %w", product, ErrBadLink)
	}
	props, _ := json.Marshal(map[string]any{"profileId": id, "product_id": product, "recommendation": name, "url": it.URL})
	e := &event.Event{MessageID: event.NewMessageID(), Type: event.Track, Event: EventRecommendationClicked,
		Properties: props, Timestamp: now, ReceivedAt: now, SourceID: "src_parcours", Channel: profile.InternalChannel}
	return Tag(it.URL, name, "sms"), e, nil
}

// shorten replaces the links of an SMS's products by short ones.
func (r *Recommender) shorten(ctx context.Context, profileID int64, name string, items []Recommendation) {
	if !r.Links.enabled() || profileID == 0 {
		return
	}
	for k := range items {
		if items[k].URL != "" {
			items[k].URL = r.Links.Short(profileID, items[k].ProductID, name)
		}
	}
}
