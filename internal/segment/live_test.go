package segment_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/segment"
)

const mixed = `
kind: segment
id: shoe-viewers
name: Viewed shoes twice in 3 days
where:
  performed: {event: Product Viewed, where: {category: shoes}, within: 3d, count: {gte: 2}}
---
kind: segment
id: big-spenders
name: Spent 200 or more in 10 days, by email or app
where:
  all:
    - performed: {event: Order Completed, within: 10d, sum: {property: total, gte: 200}}
    - any:
        - consent: email
        - device_type: ios
---
kind: segment
id: lapsed
name: Ordered once, not in the last 5 days
where:
  all:
    - computed: order_count
      gte: 1
    - computed: last_order_date
      older_than: 5d
---
kind: segment
id: birthday-week
name: Birthday within 7 days
where:
  trait: birthday
  anniversary_within: 7d
---
kind: segment
id: vip-not-shoes
name: Big spenders who are not shoe viewers, reachable by email
where:
  all:
    - member: big-spenders
    - not: {member: shoe-viewers}
    - reachable: email
---
kind: segment
id: browsers-not-buyers
name: Browsed in 2 days, no order in 5, unless a big spender or not a shoe viewer
where:
  all:
    - performed: {event: Product Viewed, within: 2d}
    - not: {performed: {event: Order Completed, within: 5d}}
    - any:
        - performed: {event: Order Completed, sum: {property: total, gte: 300}}
        - not: {member: shoe-viewers}
---
kind: segment
id: few-bag-views
name: At most two bag views ever
where:
  performed: {event: Product Viewed, where: {category: [bags, BAGS ]}, count: {lte: 2}}
`

// indexed are the segments of mixed the behaviour index answers alone.
var indexed = []string{"shoe-viewers", "browsers-not-buyers", "few-bag-views"}

// TestLiveEqualsBatch is the correctness property of requirement 6: after
// a random stream of events (with identity merges and time passing), live
// membership equals a from-scratch evaluation of every profile.
func TestLiveEqualsBatch(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			p := newPipeline(t)
			p.apply(mixed)
			r := rand.New(rand.NewPCG(seed, 99))
			users := []string{"u0", "u1", "u2", "u3", "u4", "u5"}
			for step := range 60 {
				u := users[r.IntN(len(users))]
				var batch []string
				for range 1 + r.IntN(4) {
					switch r.IntN(7) {
					case 0:
						batch = append(batch, fmt.Sprintf(`identify user=%s anon=a%d traits={"email":"%s@example.fr","emailOptIn":%v,"birthday":"1990-11-%02d"}`,
							u, r.IntN(8), u, r.IntN(2) == 0, 1+r.IntN(28)))
					case 1, 2:
						cat := []string{"shoes", "bags"}[r.IntN(2)]
						batch = append(batch, fmt.Sprintf(`track anon=a%d event=Product_Viewed props={"category":"%s"}`, r.IntN(8), cat))
					case 3:
						batch = append(batch, fmt.Sprintf(`track user=%s event=Product_Viewed props={"category":"shoes"} ctx={"device":{"type":"ios"}}`, u))
					case 4:
						batch = append(batch, fmt.Sprintf(`track user=%s event=Order_Completed props={"order_id":"o%d","total":%d}`, u, step, 50+r.IntN(200)))
					case 5:
						batch = append(batch, fmt.Sprintf(`alias user=%s anon=a%d`, u, r.IntN(8)))
					case 6:
						batch = append(batch, fmt.Sprintf(`page user=%s`, u))
					}
				}
				p.send(batch...)
				p.clk.Advance(time.Duration(r.IntN(36)) * time.Hour)
				if _, err := p.seg.Tick(context.Background()); err != nil {
					t.Fatal(err)
				}
				if step%20 == 19 {
					compare(t, p)
				}
			}
			compare(t, p)
		})
	}
}

func compare(t *testing.T, p *pipeline) {
	t.Helper()
	ctx := context.Background()
	p.drain()
	want, err := p.seg.BatchMembers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, seg := range []string{"shoe-viewers", "big-spenders", "lapsed", "birthday-week", "vip-not-shoes", "browsers-not-buyers", "few-bag-views"} {
		ms, err := p.st.SegmentMembers(ctx, seg, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, m := range ms {
			got = append(got, m.Profile)
		}
		w := want[seg]
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Fatalf("at %s, segment %s: live members %v, from scratch %v", p.clk.Now().Format(time.DateTime), seg, got, w)
		}
	}
	// The behaviour index answers the same, without reading a timeline.
	defs, err := segment.ParseYAML("mixed", strings.NewReader(mixed))
	if err != nil {
		t.Fatal(err)
	}
	// The others take their behaviour from the index and the rest from
	// the profiles, but for conditions on context (device type), which
	// the index does not keep.
	for _, d := range defs {
		pv, err := p.seg.Preview(ctx, d, 1000, nil)
		if err != nil {
			t.Fatal(err)
		}
		via := "index+profiles"
		switch {
		case slices.Contains(indexed, d.ID):
			via = "index"
		case d.ID == "big-spenders" || d.ID == "vip-not-shoes":
			via = "timelines"
		case d.ID == "lapsed" || d.ID == "birthday-week":
			via = "profiles"
		}
		w := want[d.ID]
		slices.Sort(w)
		if pv.Via != via || !slices.Equal(pv.SampleID, w) {
			t.Fatalf("at %s, segment %s: preview via %s %v, from scratch %v", p.clk.Now().Format(time.DateTime), d.ID, pv.Via, pv.SampleID, w)
		}
	}
}
