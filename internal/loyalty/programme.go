// Package loyalty is the loyalty programme: one programme across web, app
// and stores, written as a file (kind: loyalty), and a points ledger with
// the guarantees of stock: nothing lost, nothing spent twice.
//
// The rules live here (River's model, as commerce's): what an order earns,
// which tier a member is in, which points expire, what a redemption may
// spend. An engine (store/sqlite, store/postgres) gives them a transaction
// and row operations (Tx), with the locking it needs, and decides nothing.
//
// Every entry of the ledger is keyed by its cause (the order, the return,
// the till's idempotency key): a replay of the log, a retried till request
// or a re-imported receipt finds its entry and changes nothing.
package loyalty

import (
	"fmt"
	"slices"
	"strings"

	"github.com/parcours/parcours/internal/problem"
)

// Programme is the loyalty programme, as its file says.
type Programme struct {
	Kind string `json:"kind,omitempty" yaml:"kind,omitempty"`
	ID   string `json:"id" yaml:"id"`
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Currency is what Earn rules' points_per_euro count in; EUR.
	Currency string `json:"currency,omitempty" yaml:"currency,omitempty"`
	// PointValue is what one point is worth to the brand, in the currency:
	// the liability report multiplies the points outstanding by it.
	PointValue float64 `json:"point_value" yaml:"point_value"`
	// Enrolment says who is a member: automatic (every customer with a
	// profile, the default) or card (a profile holding a loyalty card).
	Enrolment string `json:"enrolment,omitempty" yaml:"enrolment,omitempty"`
	// Earn are the rules that turn an order's lines into points: the first
	// rule whose conditions all hold for a line applies to it.
	Earn    []EarnRule  `json:"earn" yaml:"earn"`
	Bonuses []BonusRule `json:"bonuses,omitempty" yaml:"bonuses,omitempty"`
	Tiers   Tiers       `json:"tiers,omitzero" yaml:"tiers,omitempty"`
	Expiry  Expiry      `json:"expiry,omitzero" yaml:"expiry,omitempty"`
	Rewards []Reward    `json:"rewards,omitempty" yaml:"rewards,omitempty"`
}

// EarnRule gives points per euro of the lines it matches. Empty
// conditions match every line.
type EarnRule struct {
	Channel       string  `json:"channel,omitempty" yaml:"channel,omitempty"`   // web, app, store, call_center, ...
	Category      string  `json:"category,omitempty" yaml:"category,omitempty"` // the product's category
	Store         string  `json:"store,omitempty" yaml:"store,omitempty"`       // a store id
	PointsPerEuro float64 `json:"points_per_euro" yaml:"points_per_euro"`
}

// Bonus kinds: each names the event that earns it by default.
var bonusEvents = map[string]string{
	"review":   "Product Reviewed",
	"survey":   "Survey Answered",
	"birthday": "Birthday",
	"referral": "Referral Completed",
}

// BonusRule gives a fixed number of points for an event.
type BonusRule struct {
	ID string `json:"id" yaml:"id"`
	// On is review, survey, birthday, referral, or event (with Event).
	On     string `json:"on" yaml:"on"`
	Event  string `json:"event,omitempty" yaml:"event,omitempty"`
	Points int64  `json:"points" yaml:"points"`
	// Once limits the bonus per member: ever, year, month; "" gives it for
	// every event (each keyed by the event).
	Once string `json:"once,omitempty" yaml:"once,omitempty"`
}

// EventName is the event the bonus is earned on.
func (b BonusRule) EventName() string {
	if b.Event != "" {
		return b.Event
	}
	return bonusEvents[b.On]
}

// Tiers are the levels, by points earned over a rolling period.
type Tiers struct {
	// PeriodDays is the rolling window qualifying points count over;
	// default 365.
	PeriodDays int    `json:"period_days,omitempty" yaml:"period_days,omitempty"`
	Levels     []Tier `json:"levels,omitempty" yaml:"levels,omitempty"`
}

// Tier is one level. The first level's threshold is 0.
type Tier struct {
	ID        string   `json:"id" yaml:"id"`
	Name      string   `json:"name,omitempty" yaml:"name,omitempty"`
	Threshold int64    `json:"threshold" yaml:"threshold"`
	Benefits  Benefits `json:"benefits,omitzero" yaml:"benefits,omitempty"`
}

// Benefits are what a tier gives.
type Benefits struct {
	// Multiplier multiplies the points its members' orders earn; 1 when 0.
	Multiplier       float64 `json:"multiplier,omitempty" yaml:"multiplier,omitempty"`
	FreeClickCollect bool    `json:"free_click_collect,omitempty" yaml:"free_click_collect,omitempty"`
	EarlyAccess      bool    `json:"early_access,omitempty" yaml:"early_access,omitempty"`
}

// Expiry is when points lapse.
type Expiry struct {
	// AfterDays: each earning expires this many days after it was earned
	// (oldest points are spent first); 0 never expires.
	AfterDays int `json:"after_days,omitempty" yaml:"after_days,omitempty"`
	// WarnDays: a Loyalty Points Expiring event is announced this many
	// days before; default 30.
	WarnDays int `json:"warn_days,omitempty" yaml:"warn_days,omitempty"`
}

// Reward kinds.
const (
	RewardVoucher     = "voucher"
	RewardProduct     = "product"
	RewardTierUpgrade = "tier_upgrade"
)

// Reward is what points buy.
type Reward struct {
	ID   string `json:"id" yaml:"id"`
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	Kind string `json:"kind" yaml:"kind"` // voucher, product, tier_upgrade
	Cost int64  `json:"cost" yaml:"cost"` // in points
	// Value is a voucher's amount; SKU a free product's; Tier the tier a
	// tier upgrade gives until the next review.
	Value float64 `json:"value,omitempty" yaml:"value,omitempty"`
	SKU   string  `json:"sku,omitempty" yaml:"sku,omitempty"`
	Tier  string  `json:"tier,omitempty" yaml:"tier,omitempty"`
}

// Validate checks the programme and fills its defaults. The error is a
// problem.List naming every field that is wrong, by its path.
func (p *Programme) Validate() error {
	var errs problem.List
	bad := func(path, format string, args ...any) {
		errs = append(errs, &problem.ValidationError{Subject: "loyalty programme", ID: p.ID, Path: path, Reason: fmt.Sprintf(format, args...)})
	}
	if p.Kind != "" && p.Kind != "loyalty" {
		bad("kind", "must be loyalty")
	}
	p.Kind = "loyalty"
	if !validID(p.ID) {
		bad("id", "is required: letters, digits, - and _, like club")
	}
	if p.Currency == "" {
		p.Currency = "EUR"
	}
	if p.PointValue < 0 {
		bad("point_value", "must be 0 or more: what one point is worth, like 0.01")
	}
	switch p.Enrolment {
	case "":
		p.Enrolment = "automatic"
	case "automatic", "card":
	default:
		bad("enrolment", "must be automatic (every customer) or card (customers with a loyalty card)")
	}
	if len(p.Earn) == 0 {
		bad("earn", "needs at least one rule, like - points_per_euro: 1")
	}
	for i, r := range p.Earn {
		if r.PointsPerEuro < 0 || r.PointsPerEuro > 1000 {
			bad(fmt.Sprintf("earn[%d].points_per_euro", i), "must be between 0 and 1000")
		}
	}
	ids := map[string]bool{}
	for i, b := range p.Bonuses {
		path := fmt.Sprintf("bonuses[%d]", i)
		if !validID(b.ID) {
			bad(path+".id", "is required: letters, digits, - and _")
		} else if ids[b.ID] {
			bad(path+".id", "%s is used twice", b.ID)
		}
		ids[b.ID] = true
		if _, ok := bonusEvents[b.On]; !ok && b.On != "event" {
			bad(path+".on", "must be review, survey, birthday, referral or event (with event: the event's name)")
		}
		if b.On == "event" && strings.TrimSpace(b.Event) == "" {
			bad(path+".event", "is required with on: event: the name of the track event, like Store Visited")
		}
		if b.Points <= 0 {
			bad(path+".points", "must be a positive number of points")
		}
		switch b.Once {
		case "", "ever", "year", "month":
		default:
			bad(path+".once", "must be ever, year or month (or left out: every event earns)")
		}
	}
	if p.Tiers.PeriodDays == 0 {
		p.Tiers.PeriodDays = 365
	}
	if p.Tiers.PeriodDays < 0 {
		bad("tiers.period_days", "must be a positive number of days, like 365")
	}
	tierIDs := map[string]bool{}
	for i, t := range p.Tiers.Levels {
		path := fmt.Sprintf("tiers.levels[%d]", i)
		if !validID(t.ID) {
			bad(path+".id", "is required: letters, digits, - and _")
		} else if tierIDs[t.ID] {
			bad(path+".id", "%s is used twice", t.ID)
		}
		tierIDs[t.ID] = true
		switch {
		case i == 0 && t.Threshold != 0:
			bad(path+".threshold", "the first tier's threshold must be 0: every member is in a tier")
		case i > 0 && t.Threshold <= p.Tiers.Levels[i-1].Threshold:
			bad(path+".threshold", "must be above the previous tier's (%d): list tiers from the lowest", p.Tiers.Levels[i-1].Threshold)
		}
		if m := t.Benefits.Multiplier; m < 0 || m > 10 {
			bad(path+".benefits.multiplier", "must be between 0 and 10, like 1.5")
		}
	}
	if p.Expiry.AfterDays < 0 {
		bad("expiry.after_days", "must be 0 (never) or a number of days, like 365")
	}
	if p.Expiry.WarnDays == 0 {
		p.Expiry.WarnDays = 30
	}
	if p.Expiry.WarnDays < 0 {
		bad("expiry.warn_days", "must be a number of days, like 30")
	}
	rewardIDs := map[string]bool{}
	for i, r := range p.Rewards {
		path := fmt.Sprintf("rewards[%d]", i)
		if !validID(r.ID) {
			bad(path+".id", "is required: letters, digits, - and _")
		} else if rewardIDs[r.ID] {
			bad(path+".id", "%s is used twice", r.ID)
		}
		rewardIDs[r.ID] = true
		if r.Cost <= 0 {
			bad(path+".cost", "must be a positive number of points")
		}
		switch r.Kind {
		case RewardVoucher:
			if r.Value <= 0 {
				bad(path+".value", "a voucher needs its amount, like 5")
			}
		case RewardProduct:
			if r.SKU == "" {
				bad(path+".sku", "a free product needs its sku")
			}
		case RewardTierUpgrade:
			if !tierIDs[r.Tier] {
				bad(path+".tier", "must name one of the tiers (%s)", strings.Join(p.tierIDs(), ", "))
			}
		default:
			bad(path+".kind", "must be voucher, product or tier_upgrade")
		}
	}
	return errs.Err()
}

func (p *Programme) tierIDs() []string {
	var out []string
	for _, t := range p.Tiers.Levels {
		out = append(out, t.ID)
	}
	return out
}

// Reward returns the reward with id.
func (p *Programme) Reward(id string) (Reward, bool) {
	i := slices.IndexFunc(p.Rewards, func(r Reward) bool { return r.ID == id })
	if i < 0 {
		return Reward{}, false
	}
	return p.Rewards[i], true
}

// Tier returns the tier with id.
func (p *Programme) Tier(id string) (Tier, bool) {
	i := slices.IndexFunc(p.Tiers.Levels, func(t Tier) bool { return t.ID == id })
	if i < 0 {
		return Tier{}, false
	}
	return p.Tiers.Levels[i], true
}

func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
