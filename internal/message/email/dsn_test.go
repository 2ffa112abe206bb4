package email_test

import (
	"context"
	"errors"
	"net"
	"net/smtp"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message/email"
	"github.com/parcours/parcours/internal/message/provider"
)

func TestParseDSN(t *testing.T) {
	f, err := os.Open("testdata/dsn_postfix.eml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rcs, err := email.ParseDSN(f)
	if err != nil {
		t.Fatal(err)
	}
	arrival := time.Date(2026, 11, 23, 13, 4, 58, 0, time.UTC)
	want := []provider.Receipt{
		{ProviderID: "4f1c0b2a9e@shop.example", Status: provider.Bounced, At: arrival, Address: "nobody@client.example", Code: "5.1.1",
			Reason: "smtp; 550 5.1.1 <nobody@client.example>: Recipient address rejected: User unknown in local recipient table"},
		{ProviderID: "4f1c0b2a9e@shop.example", Status: provider.SoftBounced, At: arrival, Address: "full@client.example", Code: "5.2.2", Reason: "smtp; 552 5.2.2 Mailbox full"},
		{ProviderID: "4f1c0b2a9e@shop.example", Status: provider.SoftBounced, At: arrival.Add(time.Second), Address: "slow@client.example", Code: "4.4.1", Reason: "smtp; 421 4.4.1 Connection timed out"},
	}
	if len(rcs) != len(want) {
		t.Fatalf("%d receipts: %+v", len(rcs), rcs)
	}
	for i := range want {
		if rcs[i] != want[i] {
			t.Errorf("receipt %d:\n got %+v\nwant %+v", i, rcs[i], want[i])
		}
	}
}

func TestParseARFComplaint(t *testing.T) {
	f, _ := os.Open("testdata/arf.eml")
	defer f.Close()
	rcs, err := email.ParseDSN(f)
	if err != nil {
		t.Fatal(err)
	}
	want := provider.Receipt{ProviderID: "77aa@shop.example", Status: provider.Complained, At: time.Date(2026, 11, 24, 8, 55, 0, 0, time.UTC),
		Address: "camille@mailbox.example", Code: "abuse"}
	if len(rcs) != 1 || rcs[0] != want {
		t.Fatalf("%+v", rcs)
	}
}

func TestParseDSNRejectsOrdinaryMail(t *testing.T) {
	_, err := email.ParseDSN(strings.NewReader("From: a@b.c\r\nSubject: Out of office\r\nContent-Type: text/plain\r\n\r\nI am away.\r\n"))
	if !errors.Is(err, email.ErrNotReport) {
		t.Fatalf("err %v", err)
	}
}

func TestBounceServer(t *testing.T) {
	var mu sync.Mutex
	var got []provider.Receipt
	fail := true
	srv, err := email.NewBounceServer(email.BounceConfig{Domain: "bounces.shop.example", Provider: "smtp-main",
		OnReceipts: func(_ context.Context, rcs []provider.Receipt) error {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				fail = false
				return errors.New("store unavailable")
			}
			got = append(got, rcs...)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Close()
	dsn, _ := os.ReadFile("testdata/dsn_postfix.eml")
	send := func() error {
		return smtp.SendMail(l.Addr().String(), nil, "", []string{"bounces+j1@shop.example"}, dsn)
	}
	// The store fails the first time: the server answers 451 so the
	// sending MTA keeps the bounce and retries.
	if err := send(); err == nil || !strings.HasPrefix(err.Error(), "451") {
		t.Fatalf("first delivery: %v, want 451", err)
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || got[0].Provider != "smtp-main" || got[0].Status != provider.Bounced || got[0].Address != "nobody@client.example" {
		t.Fatalf("receipts %+v", got)
	}
}

func FuzzParseDSN(f *testing.F) {
	b, _ := os.ReadFile("testdata/dsn_postfix.eml")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = email.ParseDSN(strings.NewReader(string(b))) })
}
