package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/parcours/parcours/internal/crashtest"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/message/email"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// smtpSink is a real SMTP server (go-smtp) that counts the emails it
// accepts by Message-ID. Each DATA takes a little time before its 250, as
// a relay's does: a process killed meanwhile never hears that its email
// was accepted.
type smtpSink struct {
	srv   *smtp.Server
	port  int
	delay time.Duration
	mu    sync.Mutex
	byID  map[string]int
	at    []time.Time // acceptance times, in order
}

func startSMTPSink(t *testing.T, delay time.Duration) *smtpSink {
	t.Helper()
	s := &smtpSink{delay: delay, byID: map[string]int{}}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.ErrorLog = log.New(io.Discard, "", 0) // the kills reset connections: expected
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	go s.srv.Serve(l)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// accepted returns how many emails were accepted, and the time of the
// first one accepted after since (zero if none).
func (s *smtpSink) accepted(since time.Time) (n int, first time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, at := range s.at {
		if at.After(since) {
			first = at
			break
		}
	}
	return len(s.at), first
}

// counts returns the deliveries by Message-ID.
func (s *smtpSink) counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.byID))
	for k, v := range s.byID {
		out[k] = v
	}
	return out
}

type sinkSession struct{ s *smtpSink }

func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (*sinkSession) Reset()                               {}
func (*sinkSession) Logout() error                        { return nil }

func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return err
	}
	id := strings.Trim(msg.Header.Get("Message-ID"), "<>")
	time.Sleep(ss.s.delay)
	ss.s.mu.Lock()
	ss.s.byID[id]++
	ss.s.at = append(ss.s.at, time.Now())
	ss.s.mu.Unlock()
	return nil
}

// killFigures is what one SIGKILL during sending left, and how the
// restarted node got over it.
type killFigures struct {
	acceptedAtKill int
	leased         int           // messages leased by the node at the kill
	neverCalled    int           // ... whose provider call had not begun
	inDoubtTx      int           // ... transactional, call begun: resent
	inDoubtMk      int           // ... marketing, call begun: not resent
	ready          time.Duration // process start to /readyz
	leasesBack     time.Duration // process start to no message left under the dead run's leases
	resumed        time.Duration // process start to the first email accepted after it
}

// TestCrashDuringSending kills `serve` with SIGKILL three times while it
// sends 1,600 emails (half transactional, half marketing) to a real SMTP
// server through the API, on each engine. Clients that got no answer post
// again with the same idempotency key after each restart. It checks:
//   - the restarted node takes its leases back at once: sending resumes
//     and no message stays `sending` under the dead run's leases for more
//     than 30 s (a quarter of the lease) after the process starts;
//   - every transactional email arrives, at most once more than the
//     transactional messages in doubt at the kills (provider call begun,
//     outcome not recorded), and only those repeat;
//   - a marketing email never arrives twice: one in doubt at a kill fails
//     with "outcome unknown", every other one arrives once;
//   - every acknowledged request has exactly one message (history check).
func TestCrashDuringSending(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	for _, e := range crashEngines() {
		t.Run(e.name, func(t *testing.T) { crashSending(t, e.prepare(t)) })
	}
}

func crashSending(t *testing.T, e engine) {
	const (
		total    = 1600
		profiles = 40
		kills    = 3
		step     = 300 // emails accepted between kills
	)
	ctx := context.Background()
	dir := t.TempDir()
	st := e.open(t, dir)
	seedCustomers(t, st, profiles)
	st.Close()

	sink := startSMTPSink(t, 20*time.Millisecond)
	providersFile := filepath.Join(dir, "providers.yaml")
	if err := os.WriteFile(providersFile, fmt.Appendf(nil, `providers:
  - name: relay
    type: smtp
    rate_per_second: 400
    settings:
      host: 127.0.0.1
      port: %d
      tls: none
      from: "Boutique <shop@shop.example>"
      message_id_domain: shop.example
      pool_size: 16
`, sink.port), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--providers", providersFile, "--public-url", "https://crm.shop.example"}

	keys := make([]string, total)
	byMessageID := map[string]string{}
	transactional := map[string]bool{}
	for i := range keys {
		kind := "mk"
		if i%2 == 0 {
			kind = "tx"
		}
		keys[i] = fmt.Sprintf("%s-%04d", kind, i)
		transactional[keys[i]] = kind == "tx"
		byMessageID[email.MessageID("api:"+keys[i], "shop.example")] = keys[i]
	}
	h := crashtest.New()
	var mu sync.Mutex
	pending := append([]string(nil), keys...) // not acknowledged yet
	post := func(url, admin, key string) crashtest.Outcome {
		i := 0
		fmt.Sscanf(key[3:], "%d", &i)
		topic := "newsletter"
		if transactional[key] {
			topic = "order_updates"
		}
		body := fmt.Sprintf(`{"profile_id":%d,"channel":"email","topic":%q,"idempotency_key":%q,
			"content":{"email":{"subject":"Commande %s","html":"<p>Bonjour, votre commande %s.</p>"}}}`, 1+i%profiles, topic, key, key, key)
		req, _ := http.NewRequest("POST", url+"/api/v1/messages", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return crashtest.Unknown
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusAccepted:
			return crashtest.Acked
		case resp.StatusCode < 500:
			t.Errorf("send %s: %d %s", key, resp.StatusCode, b)
			return crashtest.Refused
		}
		return crashtest.Unknown
	}
	// clients post the pending keys with 8 clients until done or the
	// server is gone; what got no answer stays pending.
	clients := func(url, admin string) *sync.WaitGroup {
		mu.Lock()
		queue := pending
		pending = nil
		mu.Unlock()
		next := make(chan string, len(queue))
		for _, k := range queue {
			next <- k
		}
		close(next)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for k := range next {
					o := post(url, admin, k)
					h.Record(k, o)
					if o != crashtest.Acked {
						mu.Lock()
						pending = append(pending, k)
						mu.Unlock()
					}
					if o == crashtest.Unknown {
						for k := range next { // the server is gone: keep the rest for later
							mu.Lock()
							pending = append(pending, k)
							mu.Unlock()
						}
						return
					}
				}
			})
		}
		return &wg
	}

	inDoubtTx, inDoubtMk := map[string]int{}, map[string]bool{}
	var figures []killFigures
	var deadLeases map[int64]string // message id -> the dead run's lease token
	for k := 0; ; k++ {
		n := startNode(t, dir, e, args...)
		admin := adminKey(t, dir)
		if k > 0 {
			f := &figures[k-1]
			f.ready = n.ready.Sub(n.started)
			f.leasesBack, f.resumed = awaitResume(t, e, dir, n, sink, deadLeases)
		}
		wg := clients(n.url, admin)
		if k == kills {
			wg.Wait()
			awaitAllFinal(t, e, dir, keys)
			n.stop()
			break
		}
		before, _ := sink.accepted(time.Time{})
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(2 * time.Millisecond) {
			if got, _ := sink.accepted(time.Time{}); got >= before+step {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: fewer than %d emails accepted in 30s; server said: %s", k+1, step, n.log())
			}
		}
		n.kill()
		wg.Wait()
		f := killFigures{}
		f.acceptedAtKill, _ = sink.accepted(time.Time{})
		deadLeases = map[int64]string{}
		st := e.open(t, dir)
		leased, err := st.LeasedBy(ctx, nodeID(t, dir))
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
		f.leased = len(leased)
		for _, m := range leased {
			deadLeases[m.ID] = m.LeaseToken
			key := strings.TrimPrefix(m.SendKey, "api:")
			switch {
			case m.CalledAt.IsZero():
				f.neverCalled++
			case m.Transactional:
				f.inDoubtTx++
				inDoubtTx[key]++
			default:
				f.inDoubtMk++
				inDoubtMk[key] = true
			}
		}
		figures = append(figures, f)
	}

	// What the clients were told against what is stored and delivered.
	st = e.open(t, dir)
	defer st.Close()
	rows := map[string]int{}
	for _, k := range keys {
		m, err := st.MessageByKey(ctx, "api:"+k)
		if err != nil {
			continue
		}
		rows[k]++
		switch {
		case m.Status == store.MessageSent:
		case m.Status == store.MessageFailed && inDoubtMk[k] && strings.HasPrefix(m.Reason, "outcome unknown: "):
		default:
			t.Errorf("%s: %s (%s), want sent (or failed with outcome unknown for a marketing email in doubt)", k, m.Status, m.Reason)
		}
	}
	if r := h.CheckStored(rows); r.Err() != nil || r.Acked != total {
		t.Fatalf("history against the outbox: %s: %v", r, r.Err())
	}
	delivered := map[string]int{}
	for id, c := range sink.counts() {
		key, ok := byMessageID[id]
		if !ok {
			key = "unknown Message-ID " + id
		}
		delivered[key] += c
	}
	bound := 0
	for _, c := range inDoubtTx {
		bound += c
	}
	r := h.CheckDeliveries(delivered, func(k string) bool { return !inDoubtMk[k] }, bound)
	if err := r.Err(); err != nil {
		t.Fatalf("deliveries: %v", err)
	}
	for k, c := range delivered {
		if c > 1 && !transactional[k] {
			t.Errorf("marketing email %s delivered %d times", k, c)
		}
		if c > 1+inDoubtTx[k] {
			t.Errorf("%s delivered %d times, in doubt at %d kills", k, c, inDoubtTx[k])
		}
	}
	var ready, back, resumed []time.Duration
	var doubt []int
	for i, f := range figures {
		t.Logf("kill %d: %d emails accepted; %d messages leased: %d never called, %d transactional in doubt (resent), %d marketing in doubt (not resent); restarted: ready in %v, leases back in %v, first email in %v",
			i+1, f.acceptedAtKill, f.leased, f.neverCalled, f.inDoubtTx, f.inDoubtMk, f.ready.Round(time.Millisecond),
			f.leasesBack.Round(time.Millisecond), f.resumed.Round(time.Millisecond))
		ready, back, resumed = append(ready, f.ready), append(back, f.leasesBack), append(resumed, f.resumed)
		doubt = append(doubt, f.inDoubtTx+f.inDoubtMk)
	}
	t.Logf("%s: %d kills: %d duplicate emails (bound: %d transactional in doubt), %d marketing not resent; median ready %v, leases back %v, first email %v; median in doubt per kill %d",
		e.name, kills, r.Duplicates, bound, len(inDoubtMk), middle(ready).Round(time.Millisecond), middle(back).Round(time.Millisecond),
		middle(resumed).Round(time.Millisecond), middle(doubt))
}

// seedCustomers creates profiles 1..n with a user id and an email, and
// email consent.
func seedCustomers(t *testing.T, st store.Store, n int) {
	t.Helper()
	ctx := context.Background()
	b := &store.UnifyBatch{Consumer: "test"}
	for i := 1; i <= n; i++ {
		p := profile.New(int64(i))
		p.Identifiers = []identity.Identifier{{Kind: identity.UserID, Value: fmt.Sprint("u-", i)},
			{Kind: identity.Email, Value: fmt.Sprintf("c%d@example.com", i)}}
		b.Profiles = append(b.Profiles, p)
		for _, x := range p.Identifiers {
			b.Links = append(b.Links, store.Link{Identifier: x, Profile: int64(i)})
		}
	}
	if err := st.ApplyUnify(ctx, b); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if _, err := st.RecordConsent(ctx, &store.ConsentRecord{Key: fmt.Sprint("seed-consent-", i), ProfileID: int64(i),
			Channel: "email", Granted: true, Source: "test", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
}

// awaitResume measures, from the restarted process's start, when none of
// the messages the dead run held is still under its lease, and when the
// first email after the start is accepted; both must come within 30 s,
// a quarter of the 2-minute lease the dead run's messages are under: the
// restarted node takes its leases back at once, not when they expire
// (measured: well under a second on a quiet machine; up to 12 s on
// PostgreSQL with the 2 cores loaded 20 deep).
func awaitResume(t *testing.T, e engine, dir string, n *node, sink *smtpSink, dead map[int64]string) (leasesBack, resumed time.Duration) {
	t.Helper()
	ctx := context.Background()
	st := e.open(t, dir)
	defer st.Close()
	deadline := n.started.Add(30 * time.Second)
	for leasesBack == 0 || resumed == 0 {
		if leasesBack == 0 {
			held := 0
			for id, token := range dead {
				m, err := st.OutboxMessage(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if m.Status == store.MessageSending && m.LeaseToken == token {
					held++
				}
			}
			if held == 0 {
				leasesBack = time.Since(n.started)
			}
		}
		if _, first := sink.accepted(n.started); resumed == 0 && !first.IsZero() {
			resumed = first.Sub(n.started)
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after the restart: leases back after %v, first email after %v (0: not yet); server said: %s",
				leasesBack, resumed, n.log())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return leasesBack, resumed
}

// awaitAllFinal waits until the message of every key is final.
func awaitAllFinal(t *testing.T, e engine, dir string, keys []string) {
	t.Helper()
	ctx := context.Background()
	st := e.open(t, dir)
	defer st.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		waiting := 0
		var last *store.OutboxMessage
		for _, k := range keys {
			m, err := st.MessageByKey(ctx, "api:"+k)
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			if m.Status != store.MessageSent && m.Status != store.MessageFailed && m.Status != store.MessageSkipped {
				waiting++
				last = m
			}
		}
		if waiting == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages not final 30 s after the last restart, e.g. %s: %s (%s)", waiting, last.SendKey, last.Status, last.Reason)
		}
	}
}
