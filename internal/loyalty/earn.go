package loyalty

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// OrderCause is the cause of an order's earning: one per order, whichever
// channel reported it and however often.
func OrderCause(orderID string) string { return "order:" + orderID }

// ReturnCause is the cause of a return's reversal.
func ReturnCause(returnID string) string { return "return:" + returnID }

// CancelCause is the cause of a cancelled order's reversal.
func CancelCause(orderID string) string { return "cancel:" + orderID }

// RequestCause is the cause of a till's request, by its idempotency key.
func RequestCause(op, key string) string { return op + ":" + key }

// Line is one line of an order, as earning sees it.
type Line struct {
	SKU      string  `json:"sku"`
	Category string  `json:"category,omitempty"`
	Price    float64 `json:"price"` // unit price
	Quantity int64   `json:"quantity"`
}

// Order is what an order earns on.
type Order struct {
	ID      string
	Channel string
	Store   string
	Lines   []Line
	// Total is used when there are no lines (a receipt without detail).
	Total float64
}

// orderDetail is what an earning keeps of its order: the points of each
// line, for the returns.
type orderDetail struct {
	Lines []lineDetail `json:"lines"`
}

type lineDetail struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
	Points   int64  `json:"points"`
}

// Points computes what an order earns a member in tier: each line by the
// first rule that matches it, times the tier's multiplier, rounded down
// per line.
func (p *Programme) Points(o Order, tier string) (int64, orderDetail) {
	mult := 1.0
	if t, ok := p.Tier(tier); ok && t.Benefits.Multiplier > 0 {
		mult = t.Benefits.Multiplier
	}
	var d orderDetail
	var total int64
	lines := o.Lines
	if len(lines) == 0 && o.Total > 0 {
		lines = []Line{{SKU: "", Price: o.Total, Quantity: 1}}
	}
	for _, l := range lines {
		if l.Quantity <= 0 || l.Price <= 0 {
			continue
		}
		rule, ok := p.rule(o, l)
		if !ok {
			continue
		}
		cents := math.Round(l.Price*100) * float64(l.Quantity)
		pts := int64(math.Floor(cents*rule.PointsPerEuro*mult/100 + 1e-9))
		total += pts
		d.Lines = append(d.Lines, lineDetail{SKU: l.SKU, Quantity: l.Quantity, Points: pts})
	}
	return total, d
}

func (p *Programme) rule(o Order, l Line) (EarnRule, bool) {
	for _, r := range p.Earn {
		if r.Channel != "" && !strings.EqualFold(r.Channel, o.Channel) {
			continue
		}
		if r.Store != "" && r.Store != o.Store {
			continue
		}
		if r.Category != "" && !strings.EqualFold(r.Category, l.Category) {
			continue
		}
		return r, true
	}
	return EarnRule{}, false
}

// bonusCause keys a bonus: once per member (ever, year, month), else per
// event.
func bonusCause(b BonusRule, profile int64, at time.Time, eventKey string) string {
	switch b.Once {
	case "ever":
		return fmt.Sprintf("bonus:%s:%d", b.ID, profile)
	case "year":
		return fmt.Sprintf("bonus:%s:%d:%d", b.ID, profile, at.Year())
	case "month":
		return fmt.Sprintf("bonus:%s:%d:%s", b.ID, profile, at.Format("2006-01"))
	}
	return fmt.Sprintf("bonus:%s:%s", b.ID, eventKey)
}
