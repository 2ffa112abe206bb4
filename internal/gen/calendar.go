package gen

import "time"

// Times inside the generator are milliseconds since Options.Start: an int64
// is cheaper to compare, store and add to than a time.Time.
const (
	msSecond = int64(1000)
	msMinute = 60 * msSecond
	msHour   = 60 * msMinute
	msDay    = 24 * msHour
	never    = int64(1) << 62
)

// calendar knows the local days of the period: where each starts, which
// weekday it is and how busy it is. Activity follows Paris time, not UTC.
type calendar struct {
	start    time.Time
	end      int64
	midnight []int64 // start of local day d, ms since start (day 0 may start before)
	weekday  []time.Weekday
	online   []float64 // relative online activity of day d
	store    []float64 // relative store traffic of day d (0 on Sundays)
	sales    []bool    // the winter or summer sales are on
}

// parisOffset is Europe/Paris's offset from UTC at t. It is computed rather
// than loaded so that the generator does not depend on the system's zone
// database: CEST from the last Sunday of March to the last Sunday of
// October, at 01:00 UTC.
func parisOffset(t time.Time) time.Duration {
	y := t.Year()
	if t.Before(lastSunday(y, time.March)) || !t.Before(lastSunday(y, time.October)) {
		return time.Hour
	}
	return 2 * time.Hour
}

func lastSunday(y int, m time.Month) time.Time {
	return lastWeekday(y, m, time.Sunday).Add(time.Hour)
}

func lastWeekday(y int, m time.Month, wd time.Weekday) time.Time {
	d := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC) // the last day of m
	return d.AddDate(0, 0, -((int(d.Weekday()) - int(wd) + 7) % 7))
}

// Weekday weights, Sunday first.
var (
	onlineWeekday = [7]float64{1.35, 0.9, 0.9, 1.0, 1.0, 1.05, 1.3}
	storeWeekday  = [7]float64{0, 0.7, 0.8, 1.0, 0.9, 1.1, 1.8}
)

// Hour-of-day weights: evenings online, afternoons in store.
var (
	onlineHours = cumulate([]float64{1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.8, 2.5, 2.8, 3, 3.2,
		4.2, 4.5, 3.5, 3.3, 3.5, 4, 5, 6, 7.5, 8, 6, 3})
	storeHours = cumulate([]float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3,
		4, 3.5, 3.5, 4, 4.5, 5, 4.5, 0, 0, 0, 0, 0})
	officeHours = cumulate([]float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4, 4,
		2, 3, 4, 4, 3.5, 3, 2, 0, 0, 0, 0, 0})
)

func newCalendar(start time.Time, days int) *calendar {
	start = start.UTC()
	local := start.Add(parisOffset(start))
	y, m, d0 := local.Date()
	c := &calendar{start: start, end: int64(days) * msDay}
	for d := 0; d <= days+1; d++ {
		day := time.Date(y, m, d0+d, 0, 0, 0, 0, time.UTC)
		mid := day.Add(-parisOffset(day))
		c.midnight = append(c.midnight, mid.Sub(start).Milliseconds())
		c.weekday = append(c.weekday, day.Weekday())
		s, sales := season(day)
		c.online = append(c.online, onlineWeekday[day.Weekday()]*s)
		c.store = append(c.store, storeWeekday[day.Weekday()]*s)
		c.sales = append(c.sales, sales)
	}
	return c
}

// season is the activity multiplier of a day: the sales, Black Friday and
// Christmas are busy, August is quiet.
func season(day time.Time) (float64, bool) {
	y := day.Year()
	winter := nthWeekday(y, time.January, time.Wednesday, 2)
	summer := lastWeekday(y, time.June, time.Wednesday)
	inSales := func(from time.Time) bool { return !day.Before(from) && day.Before(from.AddDate(0, 0, 28)) }
	bf := nthWeekday(y, time.November, time.Thursday, 4).AddDate(0, 0, 1)
	switch {
	case inSales(winter) || inSales(summer):
		return 1.5, true
	case !day.Before(bf) && day.Before(bf.AddDate(0, 0, 4)):
		return 1.7, false
	case day.Month() == time.December && day.Day() <= 24:
		return 1.35, false
	case day.Month() == time.August:
		return 0.85, false
	}
	return 1, false
}

func nthWeekday(y int, m time.Month, wd time.Weekday, n int) time.Time {
	d := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	d = d.AddDate(0, 0, (int(wd)-int(d.Weekday())+7)%7)
	return d.AddDate(0, 0, 7*(n-1))
}

// day returns the local day that contains at, clamped to the table.
func (c *calendar) day(at int64) int {
	d := int((at - c.midnight[0]) / msDay)
	d = min(max(d, 0), len(c.midnight)-2)
	for d > 0 && c.midnight[d] > at {
		d--
	}
	for d < len(c.midnight)-2 && c.midnight[d+1] <= at {
		d++
	}
	return d
}

// at returns the instant of day d at local hour h plus a random part of
// the hour.
func (c *calendar) at(d, h int, r *rng) int64 {
	return c.midnight[d] + int64(h)*msHour + int64(r.intn(int(msHour)))
}

// pickDay draws a day at least minDay, about gap days after from, accepting
// busy days more often than quiet ones. It returns -1 past the period.
func (c *calendar) pickDay(r *rng, from int, gap float64, weights []float64) int {
	for try := 0; try < 12; try++ {
		d := from + int(r.exp(gap))
		if d >= len(c.midnight)-1 {
			return -1
		}
		if r.float()*2.6 < weights[d] {
			return d
		}
	}
	for d := from + 1; d < len(c.midnight)-1; d++ {
		if weights[d] > 0 {
			return d
		}
	}
	return -1
}

// nextOpen returns the first instant at or after t when stores (or, with
// office hours, the call center) are open, at a plausible hour.
func (c *calendar) nextOpen(t int64, r *rng, hours []float64) int64 {
	d := c.day(t)
	for ; d < len(c.midnight)-1; d++ {
		if c.store[d] == 0 {
			continue
		}
		if at := c.at(d, r.pick(hours), r); at >= t {
			return at
		}
		if at := c.at(d, 18, r); at >= t {
			return at
		}
	}
	return never
}
