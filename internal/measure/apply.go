package measure

import (
	"context"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/profile"
)

// The touch kinds attribution credits.
const (
	touchCampaign   = "campaign"        // a visit from a campaign link (context.campaign, UTM)
	touchSent       = "message_sent"    // a message sent or delivered
	touchOpened     = "message_opened"  // a message opened
	touchClicked    = "message_clicked" // a message clicked
	touchStoreVisit = "store_visit"     // something done in a store, other than an order
	touchCall       = "call_center"     // a call-center contact
)

// apply counts one event of the profile owner. Lock should be held.
func (s *Stage) apply(ctx context.Context, e *event.Event, owner int64) {
	if e.Type != event.Track && e.Type != event.Page && e.Type != event.Screen {
		return
	}
	at := e.Timestamp.Truncate(time.Microsecond)
	day := dayOf(at, s.o.Zone)
	if day <= s.today+1 { // a clock far in the future must not evict today's sets
		s.maxDay = max(s.maxDay, day)
	}
	s.loadDay(ctx, day)
	p := &s.props
	*p = props{}
	if e.Type == event.Track && needsProps(e) {
		p = decode(e)
	}
	store := e.StoreID
	if p.StoreID != "" {
		store = p.StoreID
	}
	internal := e.Channel == profile.InternalChannel
	isOrder := e.Type == event.Track && (e.Event == EventOrderCompleted || e.Event == EventOrderRefunded ||
		e.Event == EventRefundIssued || e.Event == EventOrderCancelled)
	if !internal && visitChannels[e.Channel] {
		s.visit(ctx, e, owner, at, day)
		if storeChannels[e.Channel] && !isOrder {
			s.p.touch(touchKey{owner, touchStoreVisit, e.Channel, store, day}, at)
		}
	}
	if !internal && e.Channel == "call_center" && !isOrder {
		s.p.touch(touchKey{owner, touchCall, e.Channel, "", day}, at)
	}
	if e.Type != event.Track {
		return
	}
	switch e.Event {
	case EventOrderCompleted:
		s.completed(ctx, e, owner, at, p, store)
		return
	case EventOrderCancelled:
		if p.OrderID != "" {
			s.cancelled(ctx, p.OrderID, owner)
		}
		return
	case EventOrderRefunded, EventRefundIssued:
		s.refunded(ctx, e, owner, at, day, p, store)
		return
	}
	if loyaltyEvent(e) {
		s.loyalty(e, owner, day, p)
		return
	}
	if outcome, channel := messageEvent(e); outcome != "" {
		s.message(e, owner, at, day, p, outcome, channel)
		return
	}
	if nps, csat, hasNPS, hasCSAT := survey(e, p); hasNPS || hasCSAT {
		dims := []string{"channel", e.Channel, "store", store}
		if e.Event == EventSurveyAnswered {
			// Parcours' own answers: the channel the survey went out on,
			// the journey that sent it (as campaign, like its messages:
			// the journey breakdown reads it there), the agent.
			dims = []string{"channel", p.Channel, "store", store, "campaign", p.JourneyID, "agent", p.Agent}
		}
		if hasNPS {
			s.p.add(day, "nps_responses", 1, dims...)
			switch {
			case nps >= 9:
				s.p.add(day, "nps_promoters", 1, dims...)
			case nps <= 6:
				s.p.add(day, "nps_detractors", 1, dims...)
			}
		}
		if hasCSAT {
			s.p.add(day, "csat_responses", 1, dims...)
			if csat >= 4 {
				s.p.add(day, "csat_satisfied", 1, dims...)
			}
		}
	}
	if p.InStock != nil && !*p.InStock && strings.HasPrefix(e.Event, "Product") && !internal {
		s.p.add(day, "stockouts_seen", 1, "channel", e.Channel, "store", store)
	}
}

// loadDay makes sure the sets of day are in memory. Lock should be held.
func (s *Stage) loadDay(ctx context.Context, day int32) {
	if s.sets.days[day] == nil {
		s.fail(s.sets.load(ctx, day, day))
	}
}

// visit counts a visit: the visitor sets of its day, and whether it is the
// profile's first (which says how they were acquired).
func (s *Stage) visit(ctx context.Context, e *event.Event, owner int64, at time.Time, day int32) {
	for _, k := range dimsOf(day, setVisitors, "channel", e.Channel, "source", e.SourceID, "store", e.StoreID) {
		s.sets.add(k, owner)
	}
	s.prof.span(owner, day)
	source, campaign := utm(e)
	if source != "" || campaign != "" {
		s.p.touch(touchKey{owner, touchCampaign, orUnknown(source), campaign, day}, at)
	}
	label := source
	if label == "" {
		label = e.Channel
	}
	s.seen(ctx, owner, at, label)
}

// dimsOf returns the keys of a set of day for the total and for each
// dimension value (pairs; an empty value is skipped).
func dimsOf(day int32, name string, dims ...string) []setKey {
	out := []setKey{{day, name, "", ""}}
	for i := 0; i+1 < len(dims); i += 2 {
		if dims[i+1] != "" {
			out = append(out, setKey{day, name, dims[i], dims[i+1]})
		}
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// message counts a message outcome: per channel and campaign, the reach
// (profiles sent to), and the touch.
func (s *Stage) message(e *event.Event, owner int64, at time.Time, day int32, p *props, outcome, channel string) {
	if channel == "" {
		channel = strings.ToLower(p.Channel)
	}
	if outcome == msgUnsubscribed && p.Complaint {
		outcome = msgComplained
	}
	campaign := p.campaign()
	s.p.add(day, "messages_"+outcome, 1, "channel", channel, "campaign", campaign)
	kind := ""
	switch outcome {
	case msgSent, msgDelivered:
		for _, k := range dimsOf(day, setReached, "channel", channel, "campaign", campaign) {
			s.sets.add(k, owner)
		}
		s.prof.span(owner, day)
		kind = touchSent
	case msgOpened:
		kind = touchOpened
	case msgClicked:
		kind = touchClicked
	default:
		return
	}
	s.p.touch(touchKey{owner, kind, orUnknown(channel), campaign, day}, at)
}

// loyalty counts one of the loyalty ledger's events: members joined and
// merged away, points by flow (each a positive count), and who was active
// (earned or redeemed).
func (s *Stage) loyalty(e *event.Event, owner int64, day int32, p *props) {
	var pts int64
	if p.Points != nil {
		pts = int64(*p.Points)
	}
	active := false
	switch e.Event {
	case EventLoyaltyJoined:
		s.p.add(day, "loyalty_joined", 1)
	case EventLoyaltyMerged:
		s.p.add(day, "loyalty_merged", 1)
	case EventLoyaltyEarned:
		s.p.add(day, "loyalty_points_earned", pts)
		active = true
	case EventLoyaltyRedeemed:
		s.p.add(day, "loyalty_points_redeemed", -pts)
		active = true
	case EventLoyaltyExpired:
		s.p.add(day, "loyalty_points_expired", -pts)
	case EventLoyaltyReversed:
		s.p.add(day, "loyalty_points_reversed", -pts)
	case EventLoyaltyAdjusted:
		s.p.add(day, "loyalty_points_adjusted", pts)
	}
	if active {
		s.sets.add(setKey{day, setLoyaltyActive, "", ""}, owner)
	}
}
