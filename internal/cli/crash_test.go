package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/source"
)

// TestMain lets the test binary act as the parcours binary, so that a test
// can run `parcours serve` as a real process and kill it.
func TestMain(m *testing.M) {
	if os.Getenv("PARCOURS_TEST_RUN_MAIN") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// startServe runs `parcours serve` in a child process.
func startServe(t *testing.T, dataDir string, flags ...string) (url string, cmd *exec.Cmd) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd = exec.Command(os.Args[0], append([]string{"serve", "--data-dir", dataDir, "--addr", addr, "--log-level", "warn"}, flags...)...)
	cmd.Env = append(os.Environ(), "PARCOURS_TEST_RUN_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	url = "http://" + addr
	if err := waitReady(context.Background(), url+"/readyz", 20*time.Second); err != nil {
		cmd.Process.Kill()
		t.Fatalf("%v; server said: %s", err, stderr.String())
	}
	return url, cmd
}

// TestCrashLosesNothingAcknowledged kills the server with SIGKILL while
// clients are sending, and checks that every acknowledged event is in the
// log after a restart, and that resending everything stores nothing twice.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	ctx := context.Background()
	dir := t.TempDir()
	g := &config.Globals{DataDir: dir}
	st, err := openStore(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := source.New("Web shop", "web", "", time.Now())
	if err := st.CreateSource(ctx, src); err != nil {
		t.Fatal(err)
	}
	st.Close()

	url, cmd := startServe(t, dir)
	const senders, perBatch = 8, 50
	var mu sync.Mutex
	acked := map[string]bool{}
	var sent [][]byte
	send := func(body []byte) (int, error) {
		req, _ := http.NewRequest("POST", url+"/v1/batch", bytes.NewReader(body))
		req.SetBasicAuth(src.WriteKey, "")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; ; b++ {
				select {
				case <-stop:
					return
				default:
				}
				var ids []string
				var sb strings.Builder
				sb.WriteString(`{"batch":[`)
				for i := range perBatch {
					id := fmt.Sprintf("w%d-b%d-%d", w, b, i)
					ids = append(ids, id)
					if i > 0 {
						sb.WriteByte(',')
					}
					fmt.Fprintf(&sb, `{"type":"track","userId":"u-%d","event":"Product Viewed","messageId":"%s","properties":{"sku":"SHOE-42"}}`, i, id)
				}
				sb.WriteString(`]}`)
				body := []byte(sb.String())
				mu.Lock()
				sent = append(sent, body)
				mu.Unlock()
				code, err := send(body)
				if err != nil {
					return // the server is gone
				}
				if code == http.StatusOK {
					mu.Lock()
					for _, id := range ids {
						acked[id] = true
					}
					mu.Unlock()
				}
			}
		}()
	}
	// Let a good number of commits happen, then kill without warning.
	for {
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 5000 {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	close(stop)
	wg.Wait()

	st, err = openStore(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	events, err := st.ReadAfter(ctx, 0, 10_000_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		stored[e.MessageID]++
	}
	st.Close()
	for id := range acked {
		if stored[id] != 1 {
			t.Fatalf("acknowledged event %s stored %d times after the crash", id, stored[id])
		}
	}
	t.Logf("%d events acknowledged before SIGKILL, %d stored", len(acked), len(events))

	// The clients retry everything after the restart: nothing is stored twice.
	url, cmd = startServe(t, dir)
	for _, body := range sent {
		if code, err := send(body); err != nil || code != http.StatusOK {
			t.Fatalf("resend: %d %v", code, err)
		}
	}
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	st, err = openStore(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events, _ = st.ReadAfter(ctx, 0, 10_000_000)
	count := map[string]int{}
	for _, e := range events {
		count[e.MessageID]++
		if count[e.MessageID] > 1 {
			t.Fatalf("event %s stored twice after resending", e.MessageID)
		}
	}
	if len(events) != len(sent)*perBatch {
		t.Fatalf("after resending everything the log holds %d events, want %d", len(events), len(sent)*perBatch)
	}
}
