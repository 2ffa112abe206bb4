package profile

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/parcours/parcours/internal/event"
)

// deviceContext is what Device and Campaign read from an event's context.
type deviceContext struct {
	UserAgent string `json:"userAgent"`
	Device    struct {
		Type string `json:"type"`
	} `json:"device"`
	Campaign struct {
		Name string `json:"name"`
	} `json:"campaign"`
}

// applyDevice folds the device type and the campaign of e, latest by event
// time (ties by message id), like the locale.
func (a *Aggregates) applyDevice(e *event.Event) {
	c := e.Context
	if !bytes.Contains(c, []byte(`"userAgent"`)) && !bytes.Contains(c, []byte(`"device"`)) && !bytes.Contains(c, []byte(`"campaign"`)) {
		return
	}
	var ctx deviceContext
	if json.Unmarshal(c, &ctx) != nil {
		return
	}
	if d := DeviceType(ctx.Device.Type, ctx.UserAgent); d != "" {
		a.Device = latest(a.Device, Stamped{Value: d, At: e.Timestamp, Key: e.MessageID})
	}
	if n := strings.TrimSpace(ctx.Campaign.Name); n != "" && len(n) <= 200 {
		a.Campaign = latest(a.Campaign, Stamped{Value: n, At: e.Timestamp, Key: e.MessageID})
	}
}

// latest returns the newer of two stamped values (a zero one never wins).
func latest(a, b Stamped) Stamped {
	if b.At.IsZero() && b.Key == "" {
		return a
	}
	if (a.At.IsZero() && a.Key == "") || b.newer(a) {
		return b
	}
	return a
}

// DeviceType is the kind of device an event came from: mobile, tablet,
// desktop or tv. An app's SDK says it in context.device.type (Segment's
// "ios"/"android" and RudderStack's "Android"/"iOS" are phones unless the
// model says tablet: the kind is read from the user agent first when
// there is one, unless it is an app's HTTP library's: Dalvik, CFNetwork);
// a browser's user agent says it by its tokens. "" when
// neither tells.
func DeviceType(deviceType, userAgent string) string {
	ua := strings.ToLower(userAgent)
	switch {
	case ua == "", strings.HasPrefix(ua, "dalvik/"), strings.Contains(ua, "cfnetwork"), strings.Contains(ua, "okhttp"):
		// none, or an app's HTTP library: the app's device.type tells.
	case strings.Contains(ua, "smart-tv") || strings.Contains(ua, "smarttv") || strings.Contains(ua, "appletv") || strings.Contains(ua, "googletv") || strings.Contains(ua, "tizen"):
		return "tv"
	case strings.Contains(ua, "ipad") || strings.Contains(ua, "tablet") || (strings.Contains(ua, "android") && !strings.Contains(ua, "mobile")):
		return "tablet"
	case strings.Contains(ua, "mobi") || strings.Contains(ua, "iphone") || strings.Contains(ua, "ipod"):
		return "mobile"
	case strings.Contains(ua, "windows") || strings.Contains(ua, "macintosh") || strings.Contains(ua, "x11") || strings.Contains(ua, "linux") || strings.Contains(ua, "cros"):
		return "desktop"
	}
	switch t := strings.ToLower(strings.TrimSpace(deviceType)); t {
	case "ios", "android", "mobile", "phone", "iphone":
		return "mobile"
	case "tablet", "ipad":
		return "tablet"
	case "desktop", "macos", "windows", "linux", "web":
		return "desktop"
	case "tv", "tvos", "androidtv":
		return "tv"
	}
	return ""
}
