package store_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store"
)

func seqs(events []*event.Event) []int64 {
	var out []int64
	for _, e := range events {
		out = append(out, e.Seq)
	}
	return out
}

func evs(from, to int64) []*event.Event {
	var out []*event.Event
	for s := from; s <= to; s++ {
		out = append(out, &event.Event{Seq: s, MessageID: "m", Type: event.Track, Event: "E", Properties: json.RawMessage(`{"a":1}`)})
	}
	return out
}

func TestTailAnswersOnlyContiguousRuns(t *testing.T) {
	tl := store.NewTail(8, 0)
	if _, ok := tl.Read(0, 10); ok {
		t.Fatal("an empty tail answered")
	}
	tl.Add(evs(1, 5))
	got, ok := tl.Read(0, 10)
	if !ok || !reflect.DeepEqual(seqs(got), []int64{1, 2, 3, 4, 5}) {
		t.Fatalf("Read(0) = %v, %v", seqs(got), ok)
	}
	if got, ok := tl.Read(2, 2); !ok || !reflect.DeepEqual(seqs(got), []int64{3, 4}) {
		t.Fatalf("Read(2, limit 2) = %v, %v", seqs(got), ok)
	}
	if _, ok := tl.Read(5, 10); ok {
		t.Fatal("a read past the newest event answered: the store may hold newer events from elsewhere")
	}
	// Duplicates the log dropped have no seq.
	tl.Add([]*event.Event{{Seq: 0}, {Seq: 6}})
	// A gap (7 appended elsewhere): nothing before it may be answered.
	tl.Add(evs(8, 9))
	if _, ok := tl.Read(4, 10); ok {
		t.Fatal("answered across a gap: event 7 would be skipped")
	}
	if got, ok := tl.Read(7, 10); !ok || !reflect.DeepEqual(seqs(got), []int64{8, 9}) {
		t.Fatalf("Read(7) = %v, %v", seqs(got), ok)
	}
	// Reported late (its commit's Add ran after a newer one): ignored.
	tl.Add(evs(7, 7))
	if got, ok := tl.Read(7, 10); !ok || !reflect.DeepEqual(seqs(got), []int64{8, 9}) {
		t.Fatalf("after a late add, Read(7) = %v, %v", seqs(got), ok)
	}
	// Bounded: the oldest go first.
	tl.Add(evs(10, 20))
	if _, ok := tl.Read(11, 10); ok {
		t.Fatal("answered from an evicted event")
	}
	if got, ok := tl.Read(12, 100); !ok || len(got) != 8 || got[0].Seq != 13 || got[7].Seq != 20 {
		t.Fatalf("Read(12) = %v, %v", seqs(got), ok)
	}
	if st := tl.Stats(); st.Events != 8 || st.Hits == 0 || st.Misses == 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestTailBoundedByBytes(t *testing.T) {
	tl := store.NewTail(1000, 4096)
	big := evs(1, 100)
	for _, e := range big {
		e.Properties = json.RawMessage(`{"pad":"` + string(make([]byte, 0)) + `xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)
	}
	tl.Add(big)
	st := tl.Stats()
	if st.Bytes > 4096 || st.Events == 0 || st.Events >= 100 {
		t.Fatalf("stats = %+v; want at most 4096 bytes and some events", st)
	}
	if got, ok := tl.Read(99, 10); !ok || got[0].Seq != 100 {
		t.Fatalf("the newest event is not held: %v %v", seqs(got), ok)
	}
}

func TestTailCopiesWhatItKeeps(t *testing.T) {
	tl := store.NewTail(0, 0)
	buf := []byte(`{"sku":"SHOE-42"}`)
	e := &event.Event{Seq: 1, MessageID: "m", Type: event.Track, Event: "E", Properties: buf,
		Timestamp: time.Date(2026, 12, 2, 9, 0, 0, 0, time.FixedZone("CET", 3600))}
	tl.Add([]*event.Event{e})
	copy(buf, `{"sku":"XXXX-00"}`) // the request's buffer, reused
	got, _ := tl.Read(0, 1)
	if string(got[0].Properties) != `{"sku":"SHOE-42"}` {
		t.Fatalf("the tail shares the caller's buffer: %s", got[0].Properties)
	}
	if got[0].Timestamp.Location() != time.UTC || !got[0].Timestamp.Equal(e.Timestamp) {
		t.Fatalf("timestamp = %v; want the same instant in UTC, as stored", got[0].Timestamp)
	}
}

// FuzzStored checks that what the tail keeps is what decoding the stored
// form gives, field for field, whatever the event holds.
func FuzzStored(f *testing.F) {
	f.Add("m1", "Product Viewed", "u1", "", []byte(`{"sku":"SHOE-42","price":89.9}`), []byte(`{"ip":"1.2.3.4"}`), int64(1764662400123456789), 3600, false)
	f.Add("m\xff", "E\x00", "", "a", []byte(`null`), []byte(` {"a":1} `), int64(0), 0, true)
	f.Add("m", "", "u", "", []byte(`[1,2]`), []byte(`"s"`), int64(-62135596800000000), -7200, false)
	f.Fuzz(func(t *testing.T, id, name, user, anon string, props, ctx []byte, nanos int64, zone int, imported bool) {
		if !json.Valid(props) {
			props = nil
		}
		if !json.Valid(ctx) {
			ctx = nil
		}
		at := time.Unix(0, nanos).In(time.FixedZone("z", zone%86400))
		e := &event.Event{Seq: 42, MessageID: id, Type: event.Track, Event: name, UserID: user, AnonymousID: anon,
			Properties: props, Context: ctx, Timestamp: at, ReceivedAt: time.Now(), SentAt: at.Add(time.Second),
			SourceID: "src", Channel: "web", Imported: imported}
		want := new(event.Event)
		stored := *e
		stored.Seq = 0
		if err := event.Unmarshal(stored.AppendJSON(nil), want); err != nil {
			t.Skip("not storable:", err)
		}
		want.Seq = 42
		if got := store.Stored(e); !reflect.DeepEqual(got, want) {
			t.Fatalf("the tail keeps\n%#v\nthe store gives back\n%#v", got, want)
		}
	})
}
