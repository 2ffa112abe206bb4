package segment

import (
	"fmt"
	"slices"
	"strings"

	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/source"
)

// The channel vocabulary of channel and last_channel conditions. Events
// carry the channel of the source that sent them (source.Channels: web,
// ios, android, pos, call_center, ..., and the messaging channels, on
// which opens and clicks come back); commerce records an order's channel
// as web, app, store or call_center, and changes no touchpoint caused as
// "commerce"; Parcours' own events are "internal". A condition may name
// any of these, or a group that stands for several.

// ChannelGroups are the names that stand for several channels: "app" is
// every mobile app (a source declared ios, android or app, and orders
// placed in the app), "store" every till and in-store order (pos sources,
// orders placed in store).
var ChannelGroups = map[string][]string{
	"app":   {"app", "ios", "android"},
	"store": {"store", "pos"},
}

// commerceChannels are the channels commerce writes that no source has.
var commerceChannels = []string{"store", "commerce"}

// Channels are the names channel and last_channel conditions accept: every
// source channel, commerce's, internal, and the groups.
func Channels() []string {
	out := source.Channels()
	out = append(out, commerceChannels...)
	out = append(out, profile.InternalChannel)
	for g := range ChannelGroups {
		out = append(out, g)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// channelMatches reports whether an event's channel is the one a condition
// names, or one of the group's.
func channelMatches(cond, channel string) bool {
	if g, ok := ChannelGroups[cond]; ok {
		return slices.Contains(g, channel)
	}
	return cond == channel
}

// usedChannel reports whether the profile was seen on the condition's
// channel (or one of its group's).
func usedChannel(p *profile.Profile, cond string) bool {
	if g, ok := ChannelGroups[cond]; ok {
		for _, ch := range g {
			if p.Agg.Channels[ch] > 0 {
				return true
			}
		}
		return false
	}
	return p.Agg.Channels[cond] > 0
}

// checkChannel says why name is not a channel a condition can use.
func checkChannel(name string) string {
	names := Channels()
	if slices.Contains(names, name) {
		return ""
	}
	groups := make([]string, 0, len(ChannelGroups))
	for _, g := range sortedGroupNames() {
		groups = append(groups, g+" = "+strings.Join(ChannelGroups[g], "+"))
	}
	hint := ""
	if lower := strings.ToLower(strings.TrimSpace(name)); lower != name && slices.Contains(names, lower) {
		hint = fmt.Sprintf(" (did you mean %q? channels are lower case)", lower)
	}
	return fmt.Sprintf("%q is not a channel%s; channels are: %s; groups: %s",
		name, hint, strings.Join(names, ", "), strings.Join(groups, ", "))
}

func sortedGroupNames() []string {
	names := make([]string, 0, len(ChannelGroups))
	for g := range ChannelGroups {
		names = append(names, g)
	}
	slices.Sort(names)
	return names
}
