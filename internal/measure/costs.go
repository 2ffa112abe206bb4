package measure

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// ParseCosts reads a campaign cost file: CSV with a header naming date,
// channel, spend and optionally campaign and currency (in any order), one
// row per channel (and campaign) and day, spend in currency units (1250.50).
// The channel is where the money went, named as customers are acquired
// there: a UTM source (google, instagram, ...) or a channel (web, pos).
// Every bad row is reported, with its line.
func ParseCosts(r io.Reader) ([]store.MeasureCost, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, problem.Invalid("costs", "the file is empty; it needs a header: date,channel,campaign,spend,currency")
	}
	if err != nil {
		return nil, problem.Invalid("costs", err.Error())
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, need := range []string{"date", "channel", "spend"} {
		if _, ok := col[need]; !ok {
			return nil, problem.Invalid("costs", fmt.Sprintf("the header has no %s column (it has %s; write date,channel,campaign,spend,currency)",
				need, strings.Join(head, ",")))
		}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []store.MeasureCost
	var bad []string
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("line %d: %v", line, err))
			continue
		}
		day, err := parseDay(get(rec, "date"))
		if err != nil {
			bad = append(bad, fmt.Sprintf("line %d: date: %v", line, err))
			continue
		}
		channel := strings.ToLower(get(rec, "channel"))
		if channel == "" {
			bad = append(bad, fmt.Sprintf("line %d: channel is empty (a UTM source like google, or a channel like web)", line))
			continue
		}
		spend, err := strconv.ParseFloat(strings.ReplaceAll(get(rec, "spend"), ",", "."), 64)
		if err != nil || spend < 0 || math.IsInf(spend, 0) || math.IsNaN(spend) || spend > 1e12 {
			bad = append(bad, fmt.Sprintf("line %d: spend %q is not an amount like 1250.50", line, get(rec, "spend")))
			continue
		}
		out = append(out, store.MeasureCost{Day: day, Date: dayString(day), Channel: channel, Campaign: get(rec, "campaign"),
			Cents: int64(math.Round(spend * 100)), Currency: strings.ToUpper(get(rec, "currency"))})
	}
	if len(bad) > 0 {
		if len(bad) > 20 {
			bad = append(bad[:20], fmt.Sprintf("and %d more", len(bad)-20))
		}
		return nil, problem.Invalid("costs", "nothing imported: "+strings.Join(bad, "; "))
	}
	return out, nil
}
