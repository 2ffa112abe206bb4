package segment_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/segment"
)

// TestIndexViewChannels reads rows through the view: profile (merged ones
// mapped to the survivor), time, channel, property filters; the channels
// survive a write and a reload of the index file.
func TestIndexViewChannels(t *testing.T) {
	path := filepath.Join(t.TempDir(), "behaviour.idx")
	x, err := segment.OpenIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	ev := func(seq int64, name, channel, props string) *event.Event {
		return &event.Event{Seq: seq, Type: event.Track, Event: name, Channel: channel, Timestamp: at.Add(time.Duration(seq) * time.Minute),
			Properties: json.RawMessage(props)}
	}
	x.Add([]*event.Event{
		ev(1, "Product Viewed", "web", `{"category":"shoes"}`),
		ev(2, "Product Viewed", "ios", `{"category":"bags"}`),
		ev(3, "Order Completed", "pos", `{}`),
		{Seq: 4, Type: event.Track, Event: "Profile Merged", Channel: "internal"},
	}, []int64{1, 2, 2, 0}, map[int][2]int64{3: {1, 2}})
	check := func(x *segment.Index) {
		t.Helper()
		err := x.View(func(v *segment.IndexView) error {
			rows, err := v.Rows("Product Viewed", map[string]any{"category": "shoes"})
			if err != nil {
				return err
			}
			var got []string
			for i := range rows.Len() {
				if rows.Match(i) {
					got = append(got, v.Channel(rows.ChannelCode(i)))
					if rows.Profile(i) != 1 || rows.At(i) != at.Add(time.Minute).UnixMilli() {
						t.Errorf("row %d: profile %d at %d", i, rows.Profile(i), rows.At(i))
					}
				}
			}
			if len(got) != 1 || got[0] != "web" {
				t.Errorf("shoes rows: %v", got)
			}
			orders, _ := v.Rows("Order Completed", nil)
			// Profile 2 was merged into 1.
			if orders.Len() != 1 || orders.Profile(0) != 1 || v.Channel(orders.ChannelCode(0)) != "pos" {
				t.Errorf("order row: %d rows, profile %d", orders.Len(), orders.Profile(0))
			}
			if none, _ := v.Rows("Nothing", nil); none.Len() != 0 {
				t.Errorf("an event without rows has %d", none.Len())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check(x)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	y, err := segment.OpenIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	check(y)
}

// TestIndexWithoutChannelsIsRebuilt opens an index file written before
// rows kept their channel: it starts empty, to be built again from the
// log.
func TestIndexWithoutChannelsIsRebuilt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "behaviour.idx")
	if err := os.WriteFile(path, segment.OldIndexRecord(t), 0o644); err != nil {
		t.Fatal(err)
	}
	x, err := segment.OpenIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if st := x.Stats(); st.Rows != 0 || st.Upto != 0 {
		t.Fatalf("an old index is kept: %+v", st)
	}
	if fi, _ := os.Stat(path); fi.Size() != 0 {
		t.Fatalf("the old file is still %d bytes", fi.Size())
	}
}
