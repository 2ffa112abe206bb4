package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/email"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/providers"
	"github.com/parcours/parcours/internal/message/sms"
	"github.com/parcours/parcours/internal/message/webhook"
	"github.com/parcours/parcours/internal/message/whatsapp"
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

func (h *hooks) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /hooks/twilio/{name}/status", h.twilioStatus)
	mux.HandleFunc("POST /hooks/twilio/{name}/inbound", h.twilioInbound)
	mux.HandleFunc("/hooks/vonage/{name}/dlr", h.vonageDLR)
	mux.HandleFunc("/hooks/vonage/{name}/inbound", h.vonageInbound)
	mux.HandleFunc("GET /hooks/whatsapp/{name}", h.whatsappVerify)
	mux.HandleFunc("POST /hooks/whatsapp/{name}", h.whatsapp)
	mux.HandleFunc("POST /hooks/webhook/{name}/receipts", h.webhookReceipt)
}

// settings returns the named provider's settings if it has the type.
func settings[T any](h *hooks, w http.ResponseWriter, r *http.Request) (*T, bool) {
	e, ok := h.entries[r.PathValue("name")]
	s, isT := e.Settings.(*T)
	if !ok || !isT {
		httpjson.Error(w, http.StatusNotFound, "not_found", "no such provider of this type: "+r.PathValue("name"), nil)
		return nil, false
	}
	return s, true
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

// receipt records receipts and answers the provider.
func (h *hooks) receipt(w http.ResponseWriter, r *http.Request, rs []provider.Receipt, err error) {
	switch {
	case errors.Is(err, sms.ErrInterimStatus):
		w.WriteHeader(http.StatusOK) // a state that is not a receipt: nothing to record
		return
	case err != nil:
		h.log.Warn("hooks: callback refused", "path", r.URL.Path, "err", err)
		httpjson.Error(w, http.StatusForbidden, "forbidden", "callback refused: "+err.Error(), nil)
		return
	}
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
			httpjson.Error(w, http.StatusServiceUnavailable, "unavailable", "try again", nil)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (h *hooks) twilioStatus(w http.ResponseWriter, r *http.Request) {
	s, ok := settings[providers.TwilioSettings](h, w, r)
	if !ok {
		return
	}
	rc, err := sms.ParseTwilioStatusCallback(r, s.AuthToken, h.fullURL(r), r.PathValue("name"), h.now())
	h.receipt(w, r, []provider.Receipt{rc}, err)
}

func (h *hooks) twilioInbound(w http.ResponseWriter, r *http.Request) {
	s, ok := settings[providers.TwilioSettings](h, w, r)
	if !ok {
		return
	}
	in, err := sms.ParseTwilioInbound(r, s.AuthToken, h.fullURL(r), r.PathValue("name"))
	if err != nil {
		h.receipt(w, r, nil, err)
		return
	}
	if !h.inbound(w, r, in.MessageID, in.From, in.Body) {
		return
	}
	// An empty TwiML answer: Twilio's own STOP handling confirms
	// opt-outs; the policy's opt_out_confirmation, when set, goes as a
	// message of its own.
	w.Header().Set("Content-Type", "text/xml")
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
}

// inbound applies an inbound SMS (STOP, ARRET, ...); it answers 503 and
// returns false when the change could not be recorded.
func (h *hooks) inbound(w http.ResponseWriter, r *http.Request, id, from, body string) bool {
	if _, err := h.msgs.Receive(r.Context(), message.Inbound{Channel: provider.SMS, From: from, Body: body, ID: id}); err != nil {
		h.log.Error("hooks: inbound sms", "err", err)
		httpjson.Error(w, http.StatusServiceUnavailable, "unavailable", "try again", nil)
		return false
	}
	return true
}

func (h *hooks) vonageDLR(w http.ResponseWriter, r *http.Request) {
	s, ok := settings[providers.VonageSettings](h, w, r)
	if !ok {
		return
	}
	rc, err := sms.ParseVonageDLR(r, s.APIKey, r.PathValue("name"), h.now())
	h.receipt(w, r, []provider.Receipt{rc}, err)
}

func (h *hooks) vonageInbound(w http.ResponseWriter, r *http.Request) {
	s, ok := settings[providers.VonageSettings](h, w, r)
	if !ok {
		return
	}
	in, err := sms.ParseVonageInbound(r, s.APIKey, r.PathValue("name"))
	if err != nil {
		h.receipt(w, r, nil, err)
		return
	}
	if h.inbound(w, r, in.MessageID, in.From, in.Body) {
		w.WriteHeader(http.StatusOK)
	}
}

func (h *hooks) whatsappVerify(w http.ResponseWriter, r *http.Request) {
	s, ok := settings[providers.WhatsAppSettings](h, w, r)
	if !ok {
		return
	}
	challenge, err := whatsapp.VerifySubscription(r.URL.Query(), s.VerifyToken)
	if err != nil {
		httpjson.Error(w, http.StatusForbidden, "forbidden", err.Error(), nil)
		return
	}
	io.WriteString(w, challenge)
}

func (h *hooks) whatsapp(w http.ResponseWriter, r *http.Request) {
	s, ok := settings[providers.WhatsAppSettings](h, w, r)
	if !ok {
		return
	}
	n, err := whatsapp.ParseWebhook(r, s.AppSecret, r.PathValue("name"))
	if err != nil {
		h.receipt(w, r, nil, err)
		return
	}
	for _, in := range n.Inbound {
		if _, err := h.msgs.Receive(r.Context(), message.Inbound{Channel: provider.WhatsApp, From: in.From, Body: in.Body, ID: in.MessageID}); err != nil {
			h.log.Error("hooks: inbound whatsapp", "err", err)
			httpjson.Error(w, http.StatusServiceUnavailable, "unavailable", "try again", nil)
			return
		}
	}
	h.receipt(w, r, n.Receipts, nil)
}

func (h *hooks) webhookReceipt(w http.ResponseWriter, r *http.Request) {
	s, ok := settings[providers.WebhookSettings](h, w, r)
	if !ok {
		return
	}
	rc, err := webhook.ParseReceipt(r, r.PathValue("name"), s.Secret, h.now(), 5*time.Minute)
	h.receipt(w, r, []provider.Receipt{rc}, err)
}

// startBounces starts an inbound bounce server for each SMTP provider that
// has a bounce_addr; the returned function stops them.
func startBounces(ctx context.Context, cfg *providers.Config, msgs *message.Pipeline, log *slog.Logger) (func(), error) {
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
		srv, err := email.NewBounceServer(email.BounceConfig{
			Addr: s.BounceAddr, Domain: s.HELO, Provider: e.Name, Logger: log,
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
