package segment_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/segment"
)

const buyersAndLapsed = `
kind: segment
id: buyers
name: Bought once
where: {performed: {event: Order Completed}}
---
kind: segment
id: lapsed
name: Bought, but not in 30 days
where:
  all:
    - performed: {event: Order Completed}
    - not: {performed: {event: Order Completed, within: 30d}}
`

// historicalAnnounced lists the Segment Entered/Exited events in the log
// as "Entered seg user", with " (history)" when they carry historical.
func (p *pipeline) historicalAnnounced() []string {
	p.t.Helper()
	ctx := context.Background()
	events, err := p.st.ReadAfter(ctx, 0, 100_000)
	if err != nil {
		p.t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		if e.Event != segment.EventEntered && e.Event != segment.EventExited {
			continue
		}
		var props struct {
			ProfileID  int64  `json:"profileId"`
			SegmentID  string `json:"segmentId"`
			Historical bool   `json:"historical"`
		}
		_ = json.Unmarshal(e.Properties, &props)
		pr, _ := p.st.Profile(ctx, props.ProfileID)
		s := strings.TrimPrefix(e.Event, "Segment ") + " " + props.SegmentID + " " + userOf(pr)
		if props.Historical {
			s += " (history)"
		}
		out = append(out, s)
	}
	return out
}

// TestMembershipCausedByHistory: a segment change caused only by history
// (an imported event, an event older than event.DefaultMaxAge when
// received, a backfill) is announced with historical: true, so that no
// journey takes it for news; one caused by a live event or by time
// passing is not.
func TestMembershipCausedByHistory(t *testing.T) {
	p := newPipeline(t)
	p.apply(buyersAndLapsed)
	now := p.clk.Now()
	imported := p.ev("track user=ana event=Order_Completed")
	imported.Imported = true
	old := p.ev("track user=ben event=Order_Completed")
	old.Timestamp = now.Add(-400 * 24 * time.Hour) // a 2025 order sent through the tracking API
	live := p.ev("track user=cid event=Order_Completed")
	// dan: an imported order, and in the same batch a live identify that
	// changes nothing the segments read: still history.
	danOrder := p.ev("track user=dan event=Order_Completed")
	danOrder.Imported, danOrder.Timestamp = true, now.Add(-40*24*time.Hour)
	danLive := p.ev(`identify user=dan traits={"city":"Lyon"}`)
	if err := p.st.Append(context.Background(), []*event.Event{imported, old, live, danOrder, danLive}, nil); err != nil {
		t.Fatal(err)
	}
	p.drain()
	eq(t, "after the batch", p.historicalAnnounced(), []string{
		"Entered buyers ana (history)",
		"Entered buyers ben (history)", "Entered lapsed ben (history)",
		"Entered buyers cid",
		"Entered buyers dan (history)", "Entered lapsed dan (history)",
	})
	// 31 days on, ana and cid lapse: time passing is news.
	p.clk.Advance(31 * 24 * time.Hour)
	if _, err := p.seg.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.drain()
	got := p.historicalAnnounced()
	eq(t, "after 31 days", got[6:], []string{"Entered lapsed ana", "Entered lapsed cid"})
	// A segment saved now finds its members by a backfill: history.
	p.apply(`
kind: segment
id: repeat
name: Ordered
where: {performed: {event: Order Completed, count: {gte: 1}}}
`)
	got = p.historicalAnnounced()
	eq(t, "backfill", got[8:], []string{"Entered repeat ana (history)", "Entered repeat ben (history)",
		"Entered repeat cid (history)", "Entered repeat dan (history)"})
}
