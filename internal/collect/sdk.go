package collect

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/source"
)

// The browser SDKs fetch their settings from their vendor's CDN before
// they send anything; pointed at Parcours (docs/ingestion.md, "Web and
// mobile"), they fetch them here. The settings are the source's: its write
// key, its name and id, and where to send events (this server, as the
// browser reached it). Nothing else is configured: no device-mode
// destinations, no remote plugins, no metrics sent to the vendor.

// SegmentSettings serves GET /v1/projects/{writeKey}/settings, what
// analytics.js 2.0 (@segment/analytics-next) loads from its CDN: the
// "Segment.io" integration pointed back at this server.
func (h *Handler) SegmentSettings(w http.ResponseWriter, r *http.Request) {
	src, ok := h.sdkSource(w, r, r.PathValue("writeKey"))
	if !ok {
		return
	}
	proto, host := h.origin(r)
	httpjson.Write(w, http.StatusOK, map[string]any{
		"integrations": map[string]any{
			"Segment.io": map[string]any{
				"apiKey":                src.WriteKey,
				"apiHost":               host + "/v1",
				"protocol":              proto,
				"unbundledIntegrations": []string{},
				"addBundledMetadata":    true,
				"maybeBundledConfigIds": map[string]any{},
			},
		},
		"plan": map[string]any{
			"track":    map[string]any{"__default": map[string]any{"enabled": true, "integrations": map[string]any{}}},
			"identify": map[string]any{"__default": map[string]any{"enabled": true}},
			"group":    map[string]any{"__default": map[string]any{"enabled": true}},
		},
		"edgeFunction":              map[string]any{},
		"analyticsNextEnabled":      true,
		"middlewareSettings":        map[string]any{},
		"enabledMiddleware":         map[string]any{},
		"metrics":                   map[string]any{"sampleRate": 0},
		"legacyVideoPluginsEnabled": false,
		"remotePlugins":             []any{},
		"consentSettings":           map[string]any{"allCategories": []string{}},
	})
}

// RudderSourceConfig serves GET /sourceConfig/, what RudderStack's
// JavaScript SDK (v3) loads from its control plane (its configUrl): the
// source, enabled, with no destinations. The write key comes as the HTTP
// Basic user name (the SDK sends it so) or ?writeKey=.
func (h *Handler) RudderSourceConfig(w http.ResponseWriter, r *http.Request) {
	key := BasicWriteKey(r.Header.Get("Authorization"))
	if key == "" {
		key = r.URL.Query().Get("writeKey")
	}
	src, ok := h.sdkSource(w, r, key)
	if !ok {
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{
		"isHosted": false,
		"source": map[string]any{
			"id":          src.ID,
			"name":        src.Name,
			"writeKey":    src.WriteKey,
			"enabled":     true,
			"workspaceId": "parcours",
			"config": map[string]any{
				"statsCollection": map[string]any{
					"errors":  map[string]any{"enabled": false},
					"metrics": map[string]any{"enabled": false},
				},
			},
			"destinations": []any{},
			"updatedAt":    src.Created,
		},
	})
}

// Beacon serves POST /beacon/v1/batch?writeKey=KEY: RudderStack's beacon
// sends (navigator.sendBeacon on page unload), which cannot set headers
// and put the write key in the query. The body is a batch, as on
// /v1/batch.
func (h *Handler) Beacon() http.Handler {
	batch := h.Calls("")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if key := r.URL.Query().Get("writeKey"); key != "" && r.Header.Get("Authorization") == "" {
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(key+":")))
		}
		batch.ServeHTTP(w, r)
	})
}

// sdkSource answers the CORS preflight and methods other than GET, and
// resolves the write key of a settings request; on failure it has
// answered.
func (h *Handler) sdkSource(w http.ResponseWriter, r *http.Request, key string) (*source.Source, bool) {
	cors(w, r)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		w.Header().Set("Access-Control-Allow-Methods", "GET, OPTIONS")
		w.WriteHeader(http.StatusNoContent)
		return nil, false
	default:
		w.Header().Set("Allow", "GET, OPTIONS")
		httpjson.Fail(w, r, h.log, errSettingsMethod)
		return nil, false
	}
	// Settings are read once per page load by every visitor's browser:
	// let the browser keep them a little.
	w.Header().Set("Cache-Control", "public, max-age=60")
	return h.source(w, r.Context(), key)
}

var errSettingsMethod = problem.New(problem.KindMethod, "method_not_allowed", "use GET")

// origin is the scheme and host:port the browser reached this server at,
// which the SDKs are told to send their events to.
func (h *Handler) origin(r *http.Request) (proto, host string) {
	proto, host = "http", r.Host
	if r.TLS != nil {
		proto = "https"
	}
	if h.opts.TrustProxy {
		if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
			proto = p
		}
		if fh := r.Header.Get("X-Forwarded-Host"); fh != "" {
			host, _, _ = strings.Cut(fh, ",")
			host = strings.TrimSpace(host)
		}
	}
	return proto, host
}
