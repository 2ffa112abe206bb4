package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/conversation"
	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/email"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/providers"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// ProviderSet builds the providers of a providers file, by channel: the
// first provider of each channel in the file serves it, at its
// rate_per_second.
func ProviderSet(cfg *providers.Config) (message.ProviderSet, map[string]provider.Provider, error) {
	built, err := providers.BuildAll(cfg)
	if err != nil {
		return nil, nil, err
	}
	set := message.ProviderSet{}
	for _, e := range cfg.Providers {
		if _, taken := set[e.Channel]; taken {
			continue
		}
		set[e.Channel] = message.Configured{Provider: built[e.Name], Limits: message.Limits{Rate: e.RatePerSecond}}
	}
	return set, built, nil
}

// hooks serves the providers' callbacks — delivery receipts and inbound
// messages — under /hooks/. Providers call them, so they are outside the
// admin key; each is authenticated by its provider's own signature.
type hooks struct {
	entries   map[string]providers.Entry
	msgs      *message.Pipeline
	publicURL string // the URL providers were given, to check Twilio's signature
	now       func() time.Time
	log       *slog.Logger
}

func newHooks(cfg *providers.Config, msgs *message.Pipeline, publicURL string, now func() time.Time, log *slog.Logger) *hooks {
	h := &hooks{entries: map[string]providers.Entry{}, msgs: msgs, publicURL: strings.TrimSuffix(publicURL, "/"), now: now, log: log}
	if cfg != nil {
		for _, e := range cfg.Providers {
			h.entries[e.Name] = e
		}
	}
	return h
}

// fullURL is the URL the provider was configured with for this request.
func (h *hooks) fullURL(r *http.Request) string {
	if h.publicURL != "" {
		return h.publicURL + r.URL.RequestURI()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

// serve handles one callback route for the named provider of its type:
// the texts customers sent (STOP, ARRET, ...) on the provider's channel,
// then the receipts, then the provider's answer. A callback that does not
// authenticate is refused (403); one that could not be recorded is
// answered 503, so that the provider retries it.
func (h *hooks) serve(hk providers.Hook) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e, ok := h.entries[r.PathValue("name")]
		if !ok || e.Type != hk.Type {
			httpjson.Fail(w, r, h.log, &problem.NotFoundError{Kind: hk.Type + " provider", ID: r.PathValue("name"), Hint: "the providers file names none of this type"})
			return
		}
		cb, err := hk.Parse(r, e, providers.Call{URL: h.fullURL(r), Now: h.now()})
		if err != nil {
			h.log.Warn("hooks: callback refused", "path", r.URL.Path, "err", err)
			httpjson.Fail(w, r, h.log, problem.New(problem.KindForbidden, "forbidden", "callback refused: "+err.Error()))
			return
		}
		for _, in := range cb.Inbound {
			if _, err := h.msgs.Receive(r.Context(), message.Inbound{Channel: e.Channel, From: in.From, Body: in.Body, ID: in.ID,
				ReplyID: in.ReplyID, Provider: e.Name, At: h.now()}); err != nil {
				h.log.Error("hooks: inbound text", "channel", e.Channel, "err", err)
				httpjson.Fail(w, r, h.log, errTryAgain)
				return
			}
		}
		if !h.receipts(w, r, cb.Receipts) {
			return
		}
		if cb.Reply == "" {
			w.WriteHeader(http.StatusOK)
			return
		}
		if cb.ReplyType != "" {
			w.Header().Set("Content-Type", cb.ReplyType)
		}
		io.WriteString(w, cb.Reply)
	}
}

// errTryAgain answers a callback that could not be recorded: a 5xx makes
// the provider retry it.
var errTryAgain = problem.New(problem.KindUnavailable, "unavailable", "try again")

// receipts records receipts; it answers 503 and returns false when one
// could not be recorded.
func (h *hooks) receipts(w http.ResponseWriter, r *http.Request, rs []provider.Receipt) bool {
	for _, rc := range rs {
		if err := h.msgs.HandleReceipt(r.Context(), rc); err != nil {
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, message.ErrInvalid) {
				// A receipt for a message this server did not send: the
				// provider must not retry it.
				h.log.Info("hooks: receipt for an unknown message", "provider", rc.Provider, "provider_id", rc.ProviderID)
				continue
			}
			// Anything else is ours: a 5xx makes the provider retry.
			h.log.Error("hooks: record receipt", "provider", rc.Provider, "err", err)
			httpjson.Fail(w, r, h.log, errTryAgain)
			return false
		}
	}
	return true
}

// startBounces starts an inbound bounce server for each SMTP provider that
// has a bounce_addr; the returned function stops them.
func startBounces(ctx context.Context, cfg *providers.Config, msgs *message.Pipeline, convs *conversation.Service, log *slog.Logger) (func(), error) {
	var servers []interface{ Close() error }
	stop := func() {
		for _, s := range servers {
			s.Close()
		}
	}
	if cfg == nil {
		return stop, nil
	}
	for _, e := range cfg.Providers {
		s, ok := e.Settings.(*providers.SMTPSettings)
		if !ok || s.BounceAddr == "" {
			continue
		}
		var onMail func(ctx context.Context, rcpts []string, raw []byte) error
		if convs != nil {
			// What is not a report is a customer writing: a reply to an
			// agent's email (reply_domain's MX points here), or any mail.
			onMail = convs.ReceiveEmail
		}
		srv, err := email.NewBounceServer(email.BounceConfig{
			Addr: s.BounceAddr, Domain: s.HELO, Provider: e.Name, Logger: log, OnMail: onMail,
			OnReceipts: func(ctx context.Context, rs []provider.Receipt) error {
				for _, rc := range rs {
					if err := msgs.HandleReceipt(ctx, rc); err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, message.ErrInvalid) {
						return err
					}
				}
				return nil
			},
		})
		if err != nil {
			stop()
			return nil, err
		}
		servers = append(servers, srv)
		go func() {
			if err := srv.ListenAndServe(); err != nil && ctx.Err() == nil {
				log.Error("bounces: server stopped", "provider", e.Name, "addr", s.BounceAddr, "err", err)
			}
		}()
	}
	return stop, nil
}
