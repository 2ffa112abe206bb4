package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/message"
)

// MessageSecretFile holds, in the data directory, the key that signs the
// tracking and unsubscribe links of sent messages. It must outlive
// restarts: links in emails already sent are checked against it.
const MessageSecretFile = "message-secret"

// EnsureMessageSecret returns the message link secret of dataDir,
// creating it on first use.
func EnsureMessageSecret(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, MessageSecretFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("server: message secret: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: message secret: %w", err)
	}
	secret := []byte(hex.EncodeToString([]byte(rand.Text() + rand.Text())))
	if err := os.WriteFile(path, append(secret, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("server: message secret: %w", err)
	}
	return secret, nil
}

// Messages returns the message pipeline.
func (s *Server) Messages() *message.Pipeline { return s.messages }

// runMessages runs the pipeline's workers, restarting after a failure.
func (s *Server) runMessages(ctx context.Context) {
	s.logUnsubscribe()
	if dir := s.opts.TemplatesDir; dir != "" {
		n, err := s.messages.ImportTemplateFiles(ctx, dir)
		if err != nil {
			s.log.Error("messages: template files refused; fix them and restart, or save them with parcours templates save", "dir", dir, "err", err)
		}
		s.log.Info("messages: template files imported", "dir", dir, "templates", n)
	}
	s.restartLoop(ctx, "message workers", func(ctx context.Context) error { return s.messages.Run(ctx) })
}

// runConsent records the consent identify traits carry.
func (s *Server) runConsent(ctx context.Context) {
	s.restartLoop(ctx, "message consent consumer", func(ctx context.Context) error { return s.messages.RunConsent(ctx, s.unified) })
}

func (s *Server) restartLoop(ctx context.Context, what string, run func(context.Context) error) {
	for ctx.Err() == nil {
		err := runRecovered(ctx, run)
		if err == nil || ctx.Err() != nil {
			return
		}
		s.log.Error(what+" stopped; restarting in 5 seconds", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}

// runRecovered runs a background loop, turning a panic into an error so
// that restartLoop logs it and starts the loop again instead of the whole
// process dying.
func runRecovered(ctx context.Context, run func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return run(ctx)
}

// logUnsubscribe says at startup whether marketing emails can carry a
// working unsubscribe link, and how to fix it when they cannot.
func (s *Server) logUnsubscribe() {
	warnings, err := message.CheckPublicURL(s.opts.Messages.BaseURL)
	if err != nil {
		warnings = append(warnings, err.Error())
	}
	for _, w := range warnings {
		s.log.Warn("messages: " + w)
	}
	if ok, msg := s.messages.UnsubscribeStatus(); ok {
		s.log.Info(msg)
	} else {
		s.log.Warn(msg)
	}
}
