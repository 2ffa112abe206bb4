package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/parcours/parcours/internal/message/provider"
)

// BounceConfig configures the inbound SMTP server that receives bounces
// and complaints (point the Return-Path / MX of the bounce domain at it).
type BounceConfig struct {
	Addr      string // listen address, e.g. ":2525"
	Domain    string // announced in the greeting
	TLSConfig *tls.Config
	// Provider names the receipts (the sending provider's name).
	Provider string
	// OnReceipts records the receipts of one report. An error makes the
	// server answer 451 so the sending MTA retries later: nothing is lost.
	OnReceipts func(ctx context.Context, receipts []provider.Receipt) error
	// OnMail, when set, receives the messages that are not reports: the
	// customers' replies (conversations). An error makes the server
	// answer 451 so that the sending MTA retries later.
	OnMail func(ctx context.Context, rcpts []string, raw []byte) error
	Logger *slog.Logger
}

// NewBounceServer returns a go-smtp server that accepts any recipient,
// parses each message with ParseDSN and hands the receipts to OnReceipts.
// Messages that are not reports are accepted and dropped (rejecting them
// would make the sender bounce the bounce). Start it with ListenAndServe
// and stop it with Shutdown.
func NewBounceServer(cfg BounceConfig) (*smtp.Server, error) {
	if cfg.OnReceipts == nil {
		return nil, errors.New("email bounce server: OnReceipts is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &bounceSession{cfg: &cfg}, nil
	}))
	s.Addr, s.Domain, s.TLSConfig = cfg.Addr, cfg.Domain, cfg.TLSConfig
	s.MaxMessageBytes = maxReport
	s.MaxRecipients = 50
	s.ReadTimeout, s.WriteTimeout = time.Minute, time.Minute
	return s, nil
}

type bounceSession struct {
	cfg   *BounceConfig
	rcpts []string
}

func (s *bounceSession) Reset()                                      { s.rcpts = nil }
func (s *bounceSession) Logout() error                               { return nil }
func (s *bounceSession) Mail(from string, _ *smtp.MailOptions) error { return nil }
func (s *bounceSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *bounceSession) Data(r io.Reader) error {
	if s.cfg.OnMail != nil {
		// Kept whole: a message that is not a report goes to OnMail.
		raw, err := io.ReadAll(io.LimitReader(r, maxReport))
		_, _ = io.Copy(io.Discard, r)
		if err != nil {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
		r = bytes.NewReader(raw)
		if _, derr := ParseDSN(bytes.NewReader(raw)); derr != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.cfg.OnMail(ctx, s.rcpts, raw); err != nil {
				s.cfg.Logger.Warn("email inbound server: message not taken, asking the sender to retry", "err", err)
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
			}
			return nil
		}
	}
	receipts, err := ParseDSN(r)
	_, _ = io.Copy(io.Discard, r) // the reader must be consumed
	if err != nil {
		s.cfg.Logger.Debug("email bounce server: message dropped", "reason", err)
		return nil
	}
	for i := range receipts {
		receipts[i].Provider = s.cfg.Provider
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.cfg.OnReceipts(ctx, receipts); err != nil {
		s.cfg.Logger.Warn("email bounce server: receipts not recorded, asking the sender to retry", "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	return nil
}
