package measure

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"

	channelpkg "github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/profile"
)

// The events measurement reads, besides visits.
const (
	EventOrderCompleted  = profile.EventOrderCompleted
	EventOrderRefunded   = profile.EventOrderRefunded
	EventOrderCancelled  = profile.EventOrderCancelled
	EventRefundIssued    = profile.EventRefundIssued
	EventSurveyCompleted = "Survey Completed"
	// EventSurveyAnswered is an answer to one of Parcours' own surveys
	// (internal/survey): score and survey_type, and the channel, store,
	// journey and agent it is measured by.
	EventSurveyAnswered = "Survey Answered"
)

// The loyalty programme's events (internal/loyalty, on source
// src_parcours): points is the entry's, signed (a redemption's is
// negative). docs/loyalty.md lists them.
const (
	EventLoyaltyJoined   = "Loyalty Member Joined"
	EventLoyaltyEarned   = "Loyalty Points Earned"
	EventLoyaltyRedeemed = "Loyalty Points Redeemed"
	EventLoyaltyExpired  = "Loyalty Points Expired"
	EventLoyaltyAdjusted = "Loyalty Points Adjusted"
	EventLoyaltyReversed = "Loyalty Points Reversed"
	EventLoyaltyMerged   = "Loyalty Accounts Merged"
)

// loyaltyEvent reports whether e is one the loyalty ledger appended.
func loyaltyEvent(e *event.Event) bool {
	if e.SourceID != profile.ParcoursSource {
		return false
	}
	switch e.Event {
	case EventLoyaltyJoined, EventLoyaltyEarned, EventLoyaltyRedeemed, EventLoyaltyExpired, EventLoyaltyAdjusted,
		EventLoyaltyReversed, EventLoyaltyMerged:
		return true
	}
	return false
}

// visitChannels are the channels where a customer shops: an event of
// theirs there (a page, a screen, a tracked action, an order) is a visit.
// Messages, call-center contacts and Parcours' own events are not.
var visitChannels = map[string]bool{"web": true, "ios": true, "android": true, "app": true, "pos": true, "store": true}

// storeChannels are the channels of a physical store.
var storeChannels = map[string]bool{"pos": true, "store": true}

// Message outcomes, as the message metrics name them.
const (
	msgSent         = "sent"
	msgDelivered    = "delivered"
	msgOpened       = "opened"
	msgClicked      = "clicked"
	msgUnsubscribed = "unsubscribed"
	msgComplained   = "complained"
	msgBounced      = "bounced"
)

// props are the properties of the events measurement reads, decoded once.
type props struct {
	OrderID     string   `json:"order_id"`
	Revenue     *float64 `json:"revenue"`
	Total       *float64 `json:"total"`
	StoreID     string   `json:"store_id"`
	Fulfillment string   `json:"fulfillment"`
	Products    []struct {
		Price    *float64 `json:"price"`
		Quantity float64  `json:"quantity"`
	} `json:"products"`
	// Messages (Parcours' own Message events and Segment-style
	// Email/SMS/Push events).
	Channel      string `json:"channel"`
	Campaign     string `json:"campaign"`
	CampaignID   string `json:"campaign_id"`
	CampaignName string `json:"campaign_name"`
	SendKey      string `json:"sendKey"`
	Complaint    bool   `json:"complaint"`
	// Surveys.
	SurveyType string   `json:"survey_type"`
	JourneyID  string   `json:"journey_id"`
	Agent      string   `json:"agent"`
	Score      *float64 `json:"score"`
	NPS        *float64 `json:"nps"`
	CSAT       *float64 `json:"csat"`
	// Stock.
	InStock *bool `json:"in_stock"`
	// Loyalty: an entry's points, signed.
	Points *float64 `json:"points"`
}

// cents is an order's amount in cents: its revenue, else its total (as
// the profile's lifetime value counts it).
func (p *props) cents() int64 {
	v := p.Revenue
	if v == nil {
		v = p.Total
	}
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return 0
	}
	return int64(math.Round(*v * 100))
}

// refund is a refund's amount in cents, and full when it names none (the
// whole order is given back).
func (p *props) refund() (int64, bool) {
	if p.Revenue != nil || p.Total != nil {
		return p.cents(), false
	}
	sum, priced := 0.0, false
	for _, x := range p.Products {
		if x.Price != nil {
			q := 1.0
			if x.Quantity != 0 {
				q = x.Quantity
			}
			sum += *x.Price * q
			priced = true
		}
	}
	if priced {
		return int64(math.Round(sum * 100)), false
	}
	return 0, true
}

// campaign is a message's campaign: the journey of a journey's send, else
// the campaign it names.
func (p *props) campaign() string {
	if rest, ok := strings.CutPrefix(p.SendKey, "journey:"); ok {
		if id, _, ok := strings.Cut(rest, ":"); ok && id != "" {
			return id
		}
	}
	for _, c := range []string{p.Campaign, p.CampaignID, p.CampaignName} {
		if c != "" {
			return c
		}
	}
	return ""
}

// messageEvent says which message outcome an event reports and on which
// channel ("" when it reports none): Parcours' own Message Sent,
// Delivered, Opened, Clicked, Unsubscribed (complaint: true is a
// complaint) and Bounced, and the Segment-style names providers and
// analytics libraries send (Email Delivered, Email Link Clicked, SMS
// Delivered, Push Opened, Unsubscribed, ...).
func messageEvent(e *event.Event) (outcome, channel string) {
	return messageOutcome(e.Event, e.Channel)
}

// messageOutcome is messageEvent for an event's name and channel.
func messageOutcome(name, eventChannel string) (outcome, channel string) {
	if rest, ok := strings.CutPrefix(name, "Message "); ok {
		switch rest {
		case "Sent", "Delivered", "Opened", "Clicked", "Unsubscribed", "Bounced":
			return strings.ToLower(rest), ""
		}
		return "", ""
	}
	if name == "Unsubscribed" {
		return msgUnsubscribed, eventChannel
	}
	medium, verb, ok := strings.Cut(name, " ")
	if !ok {
		return "", ""
	}
	d, ok := channelpkg.Lookup(channelpkg.Name(strings.ToLower(medium)))
	if !ok || !d.Personal() {
		return "", "" // not a messaging channel's name (Product Viewed, ...)
	}
	channel = string(d.Name)
	switch verb {
	case "Sent":
		return msgSent, channel
	case "Delivered":
		return msgDelivered, channel
	case "Opened", "Read":
		return msgOpened, channel
	case "Clicked", "Link Clicked":
		return msgClicked, channel
	case "Unsubscribed":
		return msgUnsubscribed, channel
	case "Marked as Spam", "Complained":
		return msgComplained, channel
	case "Bounced":
		return msgBounced, channel
	}
	return "", ""
}

// needsProps reports whether measurement reads e's properties: most
// events (page and product views) it counts without decoding them.
func needsProps(e *event.Event) bool {
	switch e.Event {
	case EventOrderCompleted, EventOrderRefunded, EventRefundIssued, EventOrderCancelled, EventSurveyCompleted, EventSurveyAnswered:
		return true
	}
	if o, _ := messageEvent(e); o != "" || loyaltyEvent(e) {
		return true
	}
	return bytes.Contains(e.Properties, []byte(`"csat"`)) || bytes.Contains(e.Properties, []byte(`"in_stock"`))
}

// decode reads e's properties (zero when it has none or they do not
// decode: an event measurement cannot read counts as much as it can).
func decode(e *event.Event) *props {
	var p props
	if len(e.Properties) > 2 {
		_ = json.Unmarshal(e.Properties, &p)
	}
	return &p
}

// fulfillment classifies an order: click_and_collect, in_store or online.
func fulfillment(channel string, p *props) string {
	switch strings.ToLower(strings.ReplaceAll(p.Fulfillment, "-", "_")) {
	case "click_and_collect", "click_collect", "pickup", "pick_up", "collect", "bopis":
		return "click_and_collect"
	case "in_store", "store":
		return "in_store"
	case "":
		if storeChannels[channel] {
			return "in_store"
		}
	}
	return "online"
}

// utm is an event's campaign context (context.campaign), read only when
// the context names one.
func utm(e *event.Event) (source, name string) {
	if !bytes.Contains(e.Context, []byte(`"campaign"`)) {
		return "", ""
	}
	var c struct {
		Campaign struct {
			Source string `json:"source"`
			Name   string `json:"name"`
			Medium string `json:"medium"`
		} `json:"campaign"`
	}
	if json.Unmarshal(e.Context, &c) != nil {
		return "", ""
	}
	source = strings.ToLower(c.Campaign.Source)
	if source == "" {
		source = strings.ToLower(c.Campaign.Medium)
	}
	return source, c.Campaign.Name
}

// survey reads an answer: an NPS score (0-10) or a CSAT score (1-5).
// Survey Completed carries score with survey_type nps (the default) or
// csat, or an nps or csat property; any other event may carry csat (a
// call-center contact rated by the customer).
func survey(e *event.Event, p *props) (nps, csat float64, hasNPS, hasCSAT bool) {
	if p.CSAT != nil && *p.CSAT >= 1 && *p.CSAT <= 5 {
		csat, hasCSAT = *p.CSAT, true
	}
	if e.Event != EventSurveyCompleted && e.Event != EventSurveyAnswered {
		return
	}
	if p.NPS != nil && *p.NPS >= 0 && *p.NPS <= 10 {
		nps, hasNPS = *p.NPS, true
	}
	if p.Score == nil {
		return
	}
	switch strings.ToLower(p.SurveyType) {
	case "csat":
		if !hasCSAT && *p.Score >= 1 && *p.Score <= 5 {
			csat, hasCSAT = *p.Score, true
		}
	case "", "nps":
		if !hasNPS && *p.Score >= 0 && *p.Score <= 10 {
			nps, hasNPS = *p.Score, true
		}
	}
	return
}
