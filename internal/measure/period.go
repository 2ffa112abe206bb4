package measure

import (
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/problem"
)

// Period is a range of whole days, both ends included, in the brand's time
// zone.
type Period struct {
	From string `json:"from"` // 2025-01-01
	To   string `json:"to"`   // 2025-03-31
	Days int    `json:"days"`
	from int32
	to   int32
}

func newPeriod(from, to int32) Period {
	return Period{From: dayString(from), To: dayString(to), Days: int(to - from + 1), from: from, to: to}
}

// previous is the period of the same length just before p.
func (p Period) previous() Period { return newPeriod(p.from-int32(p.Days), p.from-1) }

// parsePeriod reads a report's range: from and to are dates (2025-01-31),
// both included; an empty to is today, an empty from 30 days before to.
func parsePeriod(from, to string, today int32) (Period, error) {
	t := today
	if to != "" {
		d, err := parseDay(to)
		if err != nil {
			return Period{}, problem.Invalid("to", err.Error())
		}
		t = d
	}
	f := t - 29
	if from != "" {
		d, err := parseDay(from)
		if err != nil {
			return Period{}, problem.Invalid("from", err.Error())
		}
		f = d
	}
	switch {
	case f > t:
		return Period{}, problem.Invalid("from", fmt.Sprintf("%s is after to (%s)", dayString(f), dayString(t)))
	case t-f >= maxDays:
		return Period{}, problem.Invalid("from", fmt.Sprintf("the range is %d days; at most %d", t-f+1, maxDays))
	}
	return newPeriod(f, t), nil
}

// maxDays bounds a report's range (ten years).
const maxDays = 3660

// The intervals a series is bucketed by.
const (
	IntervalDay   = "day"
	IntervalWeek  = "week"
	IntervalMonth = "month"
)

// bucket is one point of a series: the days [from, to].
type bucket struct{ from, to int32 }

// defaultInterval picks the interval that gives a readable chart: days up
// to three months, weeks up to a year, months beyond.
func defaultInterval(p Period) string {
	switch {
	case p.Days <= 93:
		return IntervalDay
	case p.Days <= 366:
		return IntervalWeek
	}
	return IntervalMonth
}

// buckets splits p by interval (weeks start on Monday; the first and last
// buckets are cut to the period).
func buckets(p Period, interval string) ([]bucket, error) {
	var out []bucket
	start := p.from
	for start <= p.to {
		end := start
		t := time.Unix(int64(start)*secondsPerDay, 0).UTC()
		switch interval {
		case IntervalDay:
		case IntervalWeek:
			monday0 := (int(t.Weekday()) + 6) % 7 // Monday 0 ... Sunday 6
			end = start + int32(6-monday0)
		case IntervalMonth:
			next := time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
			end = int32(next.Unix()/secondsPerDay) - 1
		default:
			return nil, problem.Invalid("interval", fmt.Sprintf("%q is not day, week or month", interval))
		}
		end = min(end, p.to)
		out = append(out, bucket{start, end})
		start = end + 1
	}
	return out, nil
}
