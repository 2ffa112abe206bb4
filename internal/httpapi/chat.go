package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/problem"
)

// The web chat: a site's widget starts a chat with the site's write key
// and the visitor's analytics anonymous id, and gets a visitor token
// (Authorization: Bearer TOKEN) that lets it post the visitor's lines
// and read the chat's. Outside the admin authentication, open to any
// origin (the token is the authority, no cookie), and rate-limited per
// client address.

// chatRate is what one client address may ask of the chat, per second
// (burst twice as much).
const chatRate = 5

// chatLimits are the per-address limiters of the chat endpoints.
type chatLimits struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func newChatLimits() *chatLimits { return &chatLimits{m: map[string]*rate.Limiter{}} }

func (l *chatLimits) allow(addr string, now time.Time) bool {
	l.mu.Lock()
	lim, ok := l.m[addr]
	if !ok {
		if len(l.m) > 10_000 {
			clear(l.m)
		}
		lim = rate.NewLimiter(chatRate, 2*chatRate)
		l.m[addr] = lim
	}
	l.mu.Unlock()
	return lim.AllowN(now, 1)
}

// chatRoute wraps a chat handler: CORS (any origin; the preflight is
// answered here), the method, the rate limit.
func (a *API) chatRoute(method string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		hd.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		hd.Set("Cache-Control", "no-store")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.Method != method {
			hd.Set("Allow", method+", OPTIONS")
			httpjson.Fail(w, r, nil, problem.New(problem.KindMethod, "method_not_allowed", r.Method+" "+r.URL.Path+": this path answers "+method))
			return
		}
		if a.conversations == nil {
			noSuchEndpoint(w, r)
			return
		}
		if !a.chat.allow(a.clientIP(r), a.clock.Now()) {
			a.fail(w, r, &problem.Error{Kind: problem.KindTooMany, Code: "rate_limited", RetryAfter: time.Second,
				Message: "more than " + strconv.Itoa(chatRate) + " chat requests a second from this address: slow down"})
			return
		}
		h(w, r)
	}
}

func chatToken(r *http.Request) string {
	t, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return strings.TrimSpace(t)
}

// startChat serves POST /api/v1/chat/sessions {"write_key", "anonymous_id"}.
func (a *API) startChat(w http.ResponseWriter, r *http.Request) {
	var in struct {
		WriteKey    string `json:"write_key"`
		AnonymousID string `json:"anonymous_id"`
	}
	if err := decodeBodyMax(r, &in, 4096); err != nil {
		a.fail(w, r, err)
		return
	}
	src, err := a.store.SourceByWriteKey(r.Context(), in.WriteKey)
	if err != nil || !src.Enabled() {
		a.fail(w, r, &problem.Error{Kind: problem.KindUnauthorized, Code: "unauthorized",
			Message: "write_key: not the write key of an enabled source (the site's, as its analytics use)"})
		return
	}
	s, err := a.conversations.StartChat(in.AnonymousID)
	a.reply(w, r, http.StatusCreated, s, err)
}

// chatSay serves POST /api/v1/chat/messages {"id", "text"}.
func (a *API) chatSay(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	}
	if err := decodeBodyMax(r, &in, 16<<10); err != nil {
		a.fail(w, r, err)
		return
	}
	line, err := a.conversations.ChatSay(r.Context(), chatToken(r), in.Text, in.ID)
	a.reply(w, r, http.StatusCreated, line, err)
}

// chatLines serves GET /api/v1/chat/messages?after=ID.
func (a *API) chatLines(w http.ResponseWriter, r *http.Request) {
	var after int64
	if s := r.URL.Query().Get("after"); s != "" {
		var err error
		if after, err = strconv.ParseInt(s, 10, 64); err != nil {
			a.fail(w, r, problem.Invalid("after", "is the id of the last line the widget has"))
			return
		}
	}
	lines, err := a.conversations.ChatLines(r.Context(), chatToken(r), after)
	a.reply(w, r, http.StatusOK, map[string]any{"lines": lines}, err)
}
