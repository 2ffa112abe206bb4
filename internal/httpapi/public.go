package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/store"
)

// Tracking is what the public message routes need of the pipeline.
type Tracking interface {
	Click(ctx context.Context, token string) (string, error)
	Open(ctx context.Context, token string) error
	Unsubscribe(ctx context.Context, token string, proof map[string]any) error
	Preferences(ctx context.Context, token string) (*message.Preferences, error)
	SavePreferences(ctx context.Context, token string, all bool, topics map[string]bool, proof map[string]any) error
	ConfirmDoubleOptIn(ctx context.Context, token string, proof map[string]any) (*store.ConsentRecord, error)
}

// public serves the routes customers reach from messages, without the
// admin key (their signed tokens are their authority): clicks, the open
// pixel, the preference page, one-click unsubscribe (RFC 8058), the double
// opt-in confirmation (see Routes).
type public struct {
	t   Tracking
	log *slog.Logger
}

func (h *public) click(w http.ResponseWriter, r *http.Request) {
	target, err := h.t.Click(r.Context(), r.PathValue("token"))
	if target == "" {
		http.Error(w, "This link is not valid.", http.StatusNotFound)
		return
	}
	if err != nil {
		h.log.Error("tracking: recording a click failed", "err", err)
	}
	http.Redirect(w, r, target, http.StatusFound)
}

var confirmTemplate = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Confirmation</title><style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}</style></head>
<body>{{if .}}<p><strong>{{.}}</strong></p>{{else}}<h1>Confirmez votre inscription</h1>
<form method="post"><button type="submit">Je confirme vouloir recevoir vos emails</button></form>{{end}}
</body></html>
`))

// confirmPage asks for the confirmation with a button: mail scanners that
// open every link must not confirm in the customer's place.
func (h *public) confirmPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = confirmTemplate.Execute(w, "")
}

func (h *public) confirm(w http.ResponseWriter, r *http.Request) {
	if _, err := h.t.ConfirmDoubleOptIn(r.Context(), r.PathValue("token"), proof(r, "double opt-in confirmation page")); err != nil {
		h.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = confirmTemplate.Execute(w, "Merci, votre inscription est confirmée.")
}

// pixel is a transparent 1x1 GIF.
var pixel, _ = base64.StdEncoding.DecodeString("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

func (h *public) open(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutSuffix(r.PathValue("file"), ".gif")
	if ok {
		if err := h.t.Open(r.Context(), token); err != nil && !errors.Is(err, message.ErrBadToken) {
			h.log.Error("tracking: recording an open failed", "err", err)
		}
	}
	// The pixel is served whatever happened: a broken image would show.
	w.Header().Set("Content-Type", "image/gif")
	w.Header().Set("Cache-Control", "no-store, max-age=0")
	_, _ = w.Write(pixel)
}

func proof(r *http.Request, form string) map[string]any {
	p := map[string]any{"user_agent": r.UserAgent(), "form": form}
	if ip := r.Header.Get("X-Forwarded-For"); ip != "" {
		p["ip"] = strings.TrimSpace(strings.Split(ip, ",")[0])
	} else {
		p["ip"] = r.RemoteAddr[:max(0, strings.LastIndexByte(r.RemoteAddr, ':'))]
	}
	return p
}

var pageTemplate = template.Must(template.New("prefs").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vos préférences</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#222}
label{display:block;margin:.6rem 0}small{color:#666}button{margin-top:1rem;padding:.5rem 1rem}</style></head>
<body>
{{if .Done}}<p><strong>{{.Done}}</strong></p>{{end}}
<h1>Vos préférences</h1>
<p>Messages {{.Prefs.Channel}} envoyés à {{.Prefs.Address}}.</p>
<form method="post">
<input type="hidden" name="action" value="save">
<label><input type="checkbox" name="all" value="on" {{if .Prefs.All}}checked{{end}}> Recevoir nos messages {{.Prefs.Channel}}</label>
{{range .Prefs.Topics}}<label style="margin-left:1.5rem"><input type="checkbox" name="topic" value="{{.Name}}" {{if .Subscribed}}checked{{end}}>
 {{.Name}} <small>{{.Description}}</small></label>
{{end}}<button type="submit">Enregistrer</button>
</form>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Me désabonner de ces messages</button></form>
</body></html>
`))

func (h *public) render(w http.ResponseWriter, r *http.Request, done string) {
	prefs, err := h.t.Preferences(r.Context(), r.PathValue("token"))
	if err != nil {
		h.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pageTemplate.Execute(w, map[string]any{"Prefs": prefs, "Done": done}); err != nil {
		h.log.Error("preferences: page failed", "err", err)
	}
}

func (h *public) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, message.ErrBadToken) {
		http.Error(w, "This link is not valid.", http.StatusNotFound)
		return
	}
	h.log.Error("preferences: request failed", "err", err)
	http.Error(w, "Something went wrong; please try again later.", http.StatusInternalServerError)
}

func (h *public) page(w http.ResponseWriter, r *http.Request) { h.render(w, r, "") }

// post is the one-click unsubscribe (a mail client POSTs
// "List-Unsubscribe=One-Click", RFC 8058) or the preference form.
func (h *public) post(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad form.", http.StatusBadRequest)
		return
	}
	token := r.PathValue("token")
	if r.PostForm.Get("action") == "save" {
		topics := map[string]bool{}
		if prefs, err := h.t.Preferences(r.Context(), token); err == nil {
			for _, t := range prefs.Topics {
				topics[t.Name] = false
			}
		}
		for _, t := range r.PostForm["topic"] {
			topics[t] = true
		}
		if err := h.t.SavePreferences(r.Context(), token, r.PostForm.Get("all") == "on", topics, proof(r, "preference page")); err != nil {
			h.fail(w, err)
			return
		}
		h.render(w, r, "Vos préférences sont enregistrées.")
		return
	}
	if err := h.t.Unsubscribe(r.Context(), token, proof(r, "one-click unsubscribe")); err != nil {
		h.fail(w, err)
		return
	}
	h.render(w, r, "Vous êtes désabonné(e).")
}
