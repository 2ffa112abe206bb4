package storetest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/store"
)

func runPrivacy(t *testing.T, open Opener) {
	t.Run("ErasePersonRewritesTheirEvents", func(t *testing.T) { testErasePerson(t, open(t)) })
	t.Run("PruneEventsKeepsTheLast", func(t *testing.T) { testPruneEvents(t, open(t)) })
}

// testErasePerson: the person's events keep their place in the log but
// lose everything that names them; another's events are untouched; the
// export found them before; their identifiers are suppressed by hash
// until lifted; the erasure is recorded with its counts.
func testErasePerson(t *testing.T, s store.Store) {
	ctx := context.Background()
	var batch []*event.Event
	for i, user := range []string{"erin", "other", "erin", "erin"} {
		e := Event("web", "m"+string(rune('a'+i)), user, t0.Add(time.Duration(i)*time.Minute))
		e.Traits = []byte(`{"email":"erin@example.fr"}`)
		batch = append(batch, e)
	}
	if err := s.Append(ctx, batch, nil); err != nil {
		t.Fatal(err)
	}
	p := &store.Person{Seqs: []int64{batch[0].Seq, batch[2].Seq, batch[3].Seq}, Suppress: true,
		Identifiers: []identity.Identifier{{Kind: identity.UserID, Value: "erin"}, {Kind: identity.Email, Value: "erin@example.fr"}}}
	rows, err := s.PersonRows(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows["events"]) != 3 {
		t.Fatalf("export: %d events, want 3", len(rows["events"]))
	}
	rec, err := s.ErasePerson(ctx, p, t0, "test")
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID == 0 || rec.Counts["events"] != 3 {
		t.Fatalf("erasure record: %+v", rec)
	}
	got, err := s.ReadAfter(ctx, 0, 10)
	if err != nil || len(got) != 4 {
		t.Fatalf("log after erasure: %d events, %v", len(got), err)
	}
	for i, e := range got {
		if e.Seq != batch[i].Seq {
			t.Errorf("event %d moved to seq %d", batch[i].Seq, e.Seq)
		}
		named := e.UserID == "erin" || strings.Contains(string(e.Traits)+string(e.Properties)+string(e.Context)+e.MessageID, "erin")
		switch {
		case i == 1 && (e.UserID != "other" || e.MessageID != "mb"):
			t.Errorf("another's event was changed: %+v", e)
		case i != 1 && (named || e.MessageID != "erased:"+itoa(e.Seq) || e.Event != "Product Viewed" || !e.Timestamp.Equal(batch[i].Timestamp)):
			t.Errorf("erased event %d: %+v", e.Seq, e)
		}
	}
	hashes := p.Hashes()
	erased, err := s.ErasedIdentifiers(ctx, append(hashes, "nobody"))
	if err != nil || len(erased) != 2 || !erased[hashes[1]] {
		t.Fatalf("erased identifiers: %v %v", erased, err)
	}
	if err := s.LiftErasure(ctx, hashes[:1]); err != nil {
		t.Fatal(err)
	}
	if erased, _ := s.ErasedIdentifiers(ctx, hashes); erased[hashes[0]] || !erased[hashes[1]] {
		t.Errorf("after lifting the user id: %v", erased)
	}
	list, err := s.Erasures(ctx, 10)
	if err != nil || len(list) != 1 || list[0].Reason != "test" || list[0].Counts["events"] != 3 {
		t.Fatalf("erasures: %+v %v", list, err)
	}
}

// testPruneEvents: retention deletes a source's events received before
// a time, in batches, but never the last event of the log; a second pass
// deletes nothing.
func testPruneEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	var batch []*event.Event
	for i := range 5 {
		batch = append(batch, Event("web", "p"+itoa(int64(i)), "u", t0.Add(time.Duration(i)*time.Minute)))
	}
	batch = append(batch, Event("pos", "kept", "u", t0))
	if err := s.Append(ctx, batch[:5], nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, batch[5:], nil); err != nil {
		t.Fatal(err)
	}
	var total int64
	for {
		n, err := s.PruneEvents(ctx, "web", t0.Add(time.Hour), 2)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if n < 2 {
			break
		}
	}
	if total != 5 {
		t.Fatalf("pruned %d web events, want 5", total)
	}
	if n, err := s.PruneEvents(ctx, "pos", t0.Add(time.Hour), 10); err != nil || n != 0 {
		t.Fatalf("the log's last event pruned (%d, %v)", n, err)
	}
	if n, _ := s.PruneEvents(ctx, "web", t0.Add(time.Hour), 10); n != 0 {
		t.Errorf("a second pass pruned %d", n)
	}
	got, _ := s.ReadAfter(ctx, 0, 10)
	if len(got) != 1 || got[0].MessageID != "kept" {
		t.Fatalf("left: %v", got)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
