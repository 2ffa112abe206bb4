package segment_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/segment"
)

// TestChannelVocabulary: channel conditions name the channels sources
// send from (ios, android, pos, ...) and the groups app (ios, android and
// app orders) and store (pos tills and in-store orders).
func TestChannelVocabulary(t *testing.T) {
	p := newPipeline(t)
	p.apply(`
kind: segment
id: app-users
name: Used the app
where: {channel: app}
---
kind: segment
id: ios-users
name: Used iOS
where: {channel: ios}
---
kind: segment
id: store-visitors
name: Seen in store
where: {channel: store}
---
kind: segment
id: last-on-app
name: Last seen on the app
where: {last_channel: app}
---
kind: segment
id: call-center
name: Called us
where: {channel: call_center}
`)
	p.send("track user=ios event=Product_Viewed ch=ios",
		"track user=droid event=Product_Viewed ch=android",
		"track user=till event=Order_Completed ch=pos",
		"track user=shop event=Order_Placed ch=store",
		"track user=web event=Product_Viewed ch=web",
		"track user=caller event=Call_Ended ch=call_center")
	eq(t, "app", p.members("app-users"), []string{"ios", "droid"})
	eq(t, "ios", p.members("ios-users"), []string{"ios"})
	eq(t, "store", p.members("store-visitors"), []string{"till", "shop"})
	eq(t, "last on app", p.members("last-on-app"), []string{"ios", "droid"})
	eq(t, "call center", p.members("call-center"), []string{"caller"})

	// The iOS customer's latest event is now on the web: still an app
	// user, no longer last seen on the app.
	p.send("track user=ios event=Product_Viewed ch=web")
	eq(t, "app after web", p.members("app-users"), []string{"ios", "droid"})
	eq(t, "last on app after web", p.members("last-on-app"), []string{"droid"})
}

// TestUnknownChannelRefused: a channel nobody sends from is refused with
// the path of the condition and the vocabulary.
func TestUnknownChannelRefused(t *testing.T) {
	for _, tc := range []struct{ yaml, path, says string }{
		{"where: {channel: mobile}", "where.channel", `"mobile" is not a channel`},
		{"where: {all: [{last_channel: iOS}]}", "where.all[0].last_channel", `did you mean "ios"`},
	} {
		defs, err := segment.ParseYAML("t.yaml", strings.NewReader("kind: segment\nid: s\nname: S\n"+tc.yaml))
		if err == nil {
			err = segment.Validate(defs[0], segment.Known{})
		}
		var ve *problem.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("%s: err = %v, want a ValidationError", tc.yaml, err)
		}
		if ve.Path != tc.path || !strings.Contains(ve.Reason, tc.says) || !strings.Contains(ve.Reason, "app = app+ios+android") {
			t.Errorf("%s: %v; want path %s saying %s and the groups", tc.yaml, err, tc.path, tc.says)
		}
	}
}
