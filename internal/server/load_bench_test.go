package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// cartCustomer is a customer's Product Added (no identify).
func cartCustomer(user string, j int, ts string) string {
	return fmt.Sprintf(`{"type":"track","userId":"%s","event":"Product Added","properties":{"sku":"S%d"},"timestamp":"%s"}`, user, j, ts)
}

// emailCustomer is a customer who gives an email and its opt-in, then
// adds to their cart.
func emailCustomer(user string, j int, ts string) string {
	return fmt.Sprintf(`{"type":"identify","userId":"%s","traits":{"email":"%s@example.fr","emailOptIn":true},"timestamp":"%s"},`, user, user, ts) +
		cartCustomer(user, j, ts)
}

// postPaced posts batches /v1/batch requests of size customers, one every
// 10 ms, each customer's events written by events (user "u<i>-<j>", j its
// place in the batch, ts the event time), and returns when each
// customer's request was posted, by user id.
func postPaced(tb testing.TB, h *harness, batches, size int, events func(user string, j int, ts string) string) map[string]time.Time {
	tb.Helper()
	auth := basic(h.src.WriteKey + ":")
	posted := make(map[string]time.Time, batches*size)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{}
	ts := h.clock.Now().Format(time.RFC3339)
	for i := range batches {
		<-tick.C
		var buf bytes.Buffer
		buf.WriteString(`{"batch":[`)
		for j := range size {
			if j > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(events(fmt.Sprintf("u%d-%d", i, j), j, ts))
		}
		buf.WriteString(`]}`)
		req, _ := http.NewRequest("POST", h.http.URL+"/v1/batch", &buf)
		req.Header.Set("Authorization", auth)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			tb.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			tb.Fatalf("status %d", resp.StatusCode)
		}
		for j := range size {
			posted[fmt.Sprintf("u%d-%d", i, j)] = start
		}
	}
	return posted
}
