package segment_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/segment"
)

// loadCounter counts the profiles the stage loads.
type loadCounter struct {
	segment.Store
	loaded int
}

func (c *loadCounter) LoadProfiles(ctx context.Context, ids []int64) (map[int64]*profile.Profile, error) {
	c.loaded += len(ids)
	return c.Store.LoadProfiles(ctx, ids)
}

// TestMessageOutcomesCostNoEvaluation: a broadcast announces a Message
// Sent (Delivered, Deferred, Skipped) per recipient; none can change a
// membership, so the stage neither loads the profile nor evaluates it,
// while a Message Bounced (a suppression may follow) is still evaluated.
func TestMessageOutcomesCostNoEvaluation(t *testing.T) {
	p := newPipeline(t)
	counter := &loadCounter{Store: p.st}
	p.seg = segment.NewStage(counter, segment.Options{Clock: p.clk, Emit: collect.Direct{Appender: p.st}, Stores: []place.Location{lyon}, Index: p.idx})
	if err := p.seg.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.apply(`
kind: segment
id: reachable
name: Reachable by email
where: {reachable: email}
`)
	p.send(`identify user=ana traits={"email":"ana@example.com","emailOptIn":true}`)
	if got := p.members("reachable"); len(got) != 1 || got[0] != "ana" {
		t.Fatalf("members: %v", got)
	}
	id := profileOf(t, p, "ana")
	before := counter.loaded
	for _, name := range []string{"Message_Sent", "Message_Delivered", "Message_Deferred", "Message_Skipped"} {
		p.send(`track event=` + name + ` ch=internal src=src_parcours props={"profileId":` + id + `,"channel":"email"}`)
	}
	if counter.loaded != before {
		t.Fatalf("message outcomes loaded %d profiles; want none", counter.loaded-before)
	}
	p.send(`track event=Message_Bounced ch=internal src=src_parcours props={"profileId":` + id + `,"channel":"email"}`)
	if counter.loaded == before {
		t.Fatal("a Message Bounced was not evaluated")
	}
	if got := p.members("reachable"); len(got) != 1 {
		t.Fatalf("members after the outcomes: %v", got)
	}
}

func profileOf(t *testing.T, p *pipeline, user string) string {
	t.Helper()
	ms, err := p.st.SegmentMembers(context.Background(), "reachable", 0, 10)
	if err != nil || len(ms) != 1 {
		t.Fatalf("members: %v %v", ms, err)
	}
	pr, err := p.st.Profile(context.Background(), ms[0].Profile)
	if err != nil || userOf(pr) != user {
		t.Fatalf("profile: %v %v", pr, err)
	}
	return strconv.FormatInt(pr.ID, 10)
}
