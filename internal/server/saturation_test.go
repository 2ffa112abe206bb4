package server_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/server"
)

// TestReadyzReportsSaturation: /readyz stayed 200 while every client was
// answered 503; a load balancer must see that this server refuses work.
func TestReadyzReportsSaturation(t *testing.T) {
	h := newHarness(t, func(o *server.Options) {
		o.Ingest = collect.HandlerOptions{MaxInFlight: 1, BodyTimeout: time.Minute}
	})
	ready := func() (int, map[string]any) {
		code, _, body := h.do("GET", "/readyz", nil, nil)
		return code, body
	}
	if code, body := ready(); code != 200 || body["ingest"] == nil {
		t.Fatalf("idle: %d %v", code, body)
	}
	// A keyed request whose body is slow holds the only slot.
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Length: 100\r\n\r\n{", basic(h.src.WriteKey+":"))
	deadline := time.Now().Add(5 * time.Second)
	code, body := ready()
	for code == 200 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
		code, body = ready()
	}
	if e, _ := body["error"].(map[string]any); code != 503 || e["code"] != "saturated" || !strings.Contains(fmt.Sprint(e["message"]), "slot") {
		t.Fatalf("every slot taken: %d %v", code, body)
	}
	// A client refused meanwhile keeps /readyz at 503 for a few seconds.
	if code, body := h.ingest("/v1/track", fmt.Sprintf(track, "refused")); code != 503 {
		t.Fatalf("second request: %d %v", code, body)
	}
	conn.Close()
	deadline = time.Now().Add(5 * time.Second)
	for {
		code, body = ready()
		if e, _ := body["error"].(map[string]any); code == 503 && strings.Contains(fmt.Sprint(e["message"]), "refused") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a refusal, slot free: %d %v", code, body)
		}
		time.Sleep(2 * time.Millisecond)
	}
	h.clock.Advance(collect.SaturationWindow + time.Second)
	if code, body := ready(); code != 200 {
		t.Fatalf("once the window has passed: %d %v", code, body)
	}
	resp, err := http.Get(h.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`parcours_ingest_refused_total{reason="in_flight"} 1`, "parcours_ingest_saturated 0", "parcours_ingest_in_flight_requests 0"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
