package recommend

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
)

// at is the decay's epoch plus d: events at the epoch count exactly their
// kind's weight.
func at(d time.Duration) time.Time { return epoch.Add(d) }

var seq int64

func track(name, user string, t time.Time, props map[string]any) *event.Event {
	seq++
	b, _ := json.Marshal(props)
	return &event.Event{Seq: seq, MessageID: fmt.Sprint("m", seq), Type: event.Track, Event: name, UserID: user,
		Properties: b, Timestamp: t, ReceivedAt: t}
}

func line(id, cat string, price float64) map[string]any {
	return map[string]any{"product_id": id, "sku": "SKU-" + id, "name": "Product " + id, "category": cat, "price": price, "quantity": 1}
}

func order(user, store string, t time.Time, lines ...map[string]any) *event.Event {
	return track(EventOrderCompleted, user, t, map[string]any{"order_id": "o" + fmt.Sprint(seq), "store_id": store, "products": lines})
}

func view(user, id, cat string, t time.Time) *event.Event {
	return track(EventProductViewed, user, t, line(id, cat, 10))
}

// fixture is the small dataset of the hand-computed figures below.
func fixture() []*event.Event {
	t := at(0)
	A, B, C := line("A", "shoes", 80), line("B", "bags", 120), line("C", "socks", 9)
	return []*event.Event{
		order("u1", "S1", t, A, B),  // N(A)=4 N(B)=4 C(A,B)=4
		order("u2", "S1", t, A, C),  // N(A)=8 N(C)=4 C(A,C)=4
		order("u3", "S2", t, A, B),  // N(A)=12 N(B)=8 C(A,B)=8
		view("u4", "B", "bags", t),  // N(B)=9
		view("u4", "C", "socks", t), // N(C)=5 C(B,C)=1 (same session)
	}
}

func TestCooccurrenceCosine(t *testing.T) {
	m := NewModel(Options{})
	m.LearnBatch(fixture())
	want := map[[2]string]float64{
		{"A", "B"}: 8 / math.Sqrt(12*9),
		{"A", "C"}: 4 / math.Sqrt(12*5),
		{"B", "C"}: 1 / math.Sqrt(9*5),
	}
	for pair, w := range want {
		for _, p := range [][2]string{pair, {pair[1], pair[0]}} {
			got := -1.0
			for _, s := range m.Similar(p[0], 10) {
				if m.items[s.Item].ID == p[1] {
					got = s.Score
				}
			}
			if math.Abs(got-w) > 1e-12 {
				t.Errorf("sim(%s,%s) = %v, want %v", p[0], p[1], got, w)
			}
		}
	}
	// Ranked: A's nearest is B (bought together twice), then C.
	if s := m.Similar("A", 10); len(s) != 2 || m.items[s[0].Item].ID != "B" || m.items[s[1].Item].ID != "C" {
		t.Errorf("Similar(A) = %v, want B then C", s)
	}
	if m.catPair[[2]string{"bags", "shoes"}] != 8 || m.catPair[[2]string{"shoes", "socks"}] != 4 {
		t.Errorf("category pairs = %v", m.catPair)
	}
}

func TestPopularityByStoreAndReturns(t *testing.T) {
	m := NewModel(Options{Regions: map[string]string{"S1": "north", "S2": "north"}})
	m.LearnBatch(fixture())
	ids := func(is []int32) (out []string) {
		for _, i := range is {
			out = append(out, m.items[i].ID)
		}
		return out
	}
	if got := fmt.Sprint(ids(m.popular(""))); got != "[A B C]" {
		t.Errorf("popular = %s, want [A B C]", got)
	}
	if got := fmt.Sprint(ids(m.popular(storeScope("S2")))); got != "[A B]" {
		t.Errorf("popular in S2 = %s, want [A B]", got)
	}
	// A refund at S2 takes B out of S2's popularity and lowers it
	// everywhere.
	m.Learn(track(EventOrderRefunded, "u3", at(0), map[string]any{"order_id": "x", "store_id": "S2", "products": []any{line("B", "bags", 120)}}))
	time.Sleep(rankRefresh + 10*time.Millisecond) // rankings are refreshed at most once a second
	if got := fmt.Sprint(ids(m.popular(storeScope("S2")))); got != "[A]" {
		t.Errorf("popular in S2 after the refund = %s, want [A]", got)
	}
	if got := fmt.Sprint(ids(m.popular(regionScope("north")))); got != "[A B C]" {
		t.Errorf("popular in the region = %s, want [A B C] (B=1 and C=1: first seen first)", got)
	}
}

// TestDecay: an event one half-life later counts twice as much, whatever
// the order the events are learned in.
func TestDecay(t *testing.T) {
	h := 30 * 24 * time.Hour
	evs := []*event.Event{
		order("u1", "S1", at(0), line("A", "x", 1), line("B", "y", 1)),
		order("u2", "S1", at(h), line("A", "x", 1), line("C", "z", 1)),
	}
	for _, order := range [][]int{{0, 1}, {1, 0}} {
		m := NewModel(Options{HalfLife: h})
		for _, k := range order {
			m.Learn(evs[k])
		}
		// N(A)=4+8=12, N(B)=4, N(C)=8, C(A,B)=4, C(A,C)=8.
		s := m.Similar("A", 2)
		if len(s) != 2 || m.items[s[0].Item].ID != "C" {
			t.Fatalf("Similar(A) = %v, want C first", s)
		}
		if w := 8 / math.Sqrt(12*8); math.Abs(s[0].Score-w) > 1e-12 {
			t.Errorf("sim(A,C) = %v, want %v", s[0].Score, w)
		}
		if w := 4 / math.Sqrt(12*4); math.Abs(s[1].Score-w) > 1e-12 {
			t.Errorf("sim(A,B) = %v, want %v", s[1].Score, w)
		}
	}
}

// TestBoundedNeighbours: an item keeps at most Slots neighbours, and a
// pair bought together often is not pushed out by one-off co-views.
func TestBoundedNeighbours(t *testing.T) {
	m := NewModel(Options{Slots: 4})
	for k := 0; k < 5; k++ {
		m.Learn(order(fmt.Sprint("b", k), "S1", at(0), line("A", "x", 1), line("B", "y", 1)))
	}
	for k := 0; k < 50; k++ {
		u := fmt.Sprint("v", k)
		m.Learn(view(u, "A", "x", at(0)))
		m.Learn(view(u, fmt.Sprint("N", k), "y", at(0)))
	}
	if n := len(m.nbrs[m.ids["A"]]); n != 4 {
		t.Errorf("A keeps %d neighbours, want 4", n)
	}
	if s := m.Similar("A", 1); len(s) != 1 || m.items[s[0].Item].ID != "B" {
		t.Errorf("A's nearest = %v, want B", s)
	}
}

func TestBadEventsAreSkipped(t *testing.T) {
	m := NewModel(Options{})
	bad := track(EventOrderCompleted, "u", at(0), nil)
	bad.Properties = []byte(`{"products": "not a list"}`)
	m.Learn(bad)
	m.LearnBatch(fixture())
	if st := m.Stats(); st.Items != 3 || st.Events != 5 {
		t.Errorf("stats = %+v, want 3 items from 5 events", st)
	}
}

// TestSnapshot: a model saved and loaded answers as the one saved, and
// learning the rest of the log after it gives the model that learned the
// whole log at once.
func TestSnapshot(t *testing.T) {
	evs := fixture()
	whole := NewModel(Options{})
	whole.LearnBatch(evs)

	first := NewModel(Options{})
	first.LearnBatch(evs[:3])
	file := t.TempDir() + "/recommend.model"
	if err := first.WriteFile(file); err != nil {
		t.Fatal(err)
	}
	loaded := NewModel(Options{})
	if ok, err := loaded.ReadFile(file); !ok || err != nil {
		t.Fatalf("read: %v %v", ok, err)
	}
	if loaded.Stats().LastSeq != evs[2].Seq {
		t.Fatalf("last seq %d, want %d", loaded.Stats().LastSeq, evs[2].Seq)
	}
	loaded.LearnBatch(evs[3:])
	for _, id := range []string{"A", "B", "C"} {
		if got, want := fmt.Sprint(loaded.Similar(id, 5)), fmt.Sprint(whole.Similar(id, 5)); got != want {
			t.Errorf("Similar(%s) = %s, want %s", id, got, want)
		}
	}
	// Another half-life: the file is not used.
	other := NewModel(Options{HalfLife: time.Hour})
	if ok, err := other.ReadFile(file); ok || err != nil {
		t.Errorf("another half-life: %v %v", ok, err)
	}
	if ok, err := NewModel(Options{}).ReadFile(file + ".none"); ok || err != nil {
		t.Errorf("no file: %v %v", ok, err)
	}
}
