package server_test

import (
	"fmt"
	"testing"

	"github.com/parcours/parcours/internal/segment"
)

// TestUnmergeThroughTheAPIRebuildsSegments: POST .../unmerge is the same
// operation as parcours profiles unmerge (pipeline.Pipeline.Unmerge): the
// events that moved take their segment memberships with them, and the
// customers who no longer qualify leave the segment.
func TestUnmergeThroughTheAPIRebuildsSegments(t *testing.T) {
	h := newHarness(t)
	seg := `{"id":"browsed-and-bought","name":"Viewed a product and ordered","where":{"all":[
		{"performed":{"event":"Order Completed"}},{"performed":{"event":"Product Viewed"}}]}}`
	if code, resp := h.post("/api/v1/segments?wait=true", seg); code != 200 {
		t.Fatalf("segment: %d %v", code, resp)
	}
	// bob's view on a1's device merges the two: the profile has ordered
	// (a1) and viewed (bob); apart, neither did both.
	body := `{"batch":[
		{"type":"track","anonymousId":"a1","event":"Order Completed","timestamp":"2026-11-23T09:00:00Z"},
		{"type":"identify","userId":"bob","timestamp":"2026-11-23T09:05:00Z"},
		{"type":"track","userId":"bob","anonymousId":"a1","event":"Product Viewed","timestamp":"2026-11-23T09:10:00Z"}]}`
	if code, resp := h.ingest("/v1/batch", body); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	members := func() int {
		_, m := h.api("/api/v1/segments/browsed-and-bought/members")
		return len(m["members"].([]any))
	}
	waitFor(t, "the merged profile in the segment", func() bool { return members() == 1 })
	h.waitConsumer(segment.Consumer)
	id := h.profileOf("bob")
	_, merges := h.api(fmt.Sprintf("/api/v1/profiles/%d/merges", id))
	list := merges["merges"].([]any)
	if len(list) != 1 {
		t.Fatalf("merges %v", merges)
	}
	mergeID := int64(list[0].(map[string]any)["id"].(float64))
	code, _, res := h.do("POST", fmt.Sprintf("/api/v1/profiles/%d/unmerge", id), []byte(fmt.Sprintf(`{"merge_id":%d}`, mergeID)),
		map[string]string{"Authorization": "Bearer " + h.admin})
	if code != 200 {
		t.Fatalf("unmerge: %d %v", code, res)
	}
	// The rebuild is part of the call: no wait.
	if n := members(); n != 0 {
		t.Fatalf("%d members after the unmerge, want none (the order is a1's, the view bob's)", n)
	}
}
