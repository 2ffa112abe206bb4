package email_test

import (
	"context"
	"errors"
	"net"
	"net/smtp"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parcours/parcours/internal/message/email"
	"github.com/parcours/parcours/internal/message/provider"
)

// TestBounceServerHandsMailToOnMail: a customer's reply reaches OnMail
// whole, with its recipients; a report still goes to OnReceipts only; a
// failing OnMail answers 451, so the sending server retries.
func TestBounceServerHandsMailToOnMail(t *testing.T) {
	var mu sync.Mutex
	var mails [][]byte
	var rcpts [][]string
	var receipts []provider.Receipt
	fail := true
	srv, err := email.NewBounceServer(email.BounceConfig{Domain: "reply.shop.example", Provider: "smtp-main",
		OnReceipts: func(_ context.Context, rcs []provider.Receipt) error {
			mu.Lock()
			defer mu.Unlock()
			receipts = append(receipts, rcs...)
			return nil
		},
		OnMail: func(_ context.Context, to []string, raw []byte) error {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				fail = false
				return errors.New("store unavailable")
			}
			mails, rcpts = append(mails, raw), append(rcpts, to)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Close()
	reply := []byte("From: Ines <ines@example.com>\r\nTo: reply+12.abc@reply.shop.example\r\nSubject: Re: votre commande\r\n" +
		"Message-ID: <r1@example.com>\r\nIn-Reply-To: <0f3c@shop.example>\r\n\r\nMerci !\r\n")
	send := func(b []byte) error {
		return smtp.SendMail(l.Addr().String(), nil, "ines@example.com", []string{"reply+12.abc@reply.shop.example"}, b)
	}
	if err := send(reply); err == nil || !strings.HasPrefix(err.Error(), "451") {
		t.Fatalf("first delivery: %v; want 451", err)
	}
	if err := send(reply); err != nil {
		t.Fatal(err)
	}
	dsn, _ := os.ReadFile("testdata/dsn_postfix.eml")
	if err := send(dsn); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(mails) != 1 || !strings.Contains(string(mails[0]), "Merci !") || !slices.Equal(rcpts[0], []string{"reply+12.abc@reply.shop.example"}) {
		t.Fatalf("OnMail got %d mails %q, rcpts %v", len(mails), mails, rcpts)
	}
	if len(receipts) != 3 {
		t.Fatalf("the report's receipts: %d; want 3", len(receipts))
	}
}
