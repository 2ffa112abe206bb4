package server_test

import (
	"strings"
	"testing"
)

// TestHostileManagement throws hostile input at the management API
// (/api/v1), on both engines: missing and forged keys, bodies that are
// not JSON, cut short, too large, too deep or of the wrong type, NUL
// bytes, numbers no field holds, ids of 100,000 bytes, with NUL or
// climbing out of their path, bad cursors and limits, unknown ids and
// endpoints. Each row gets its exact status and an error naming what,
// where and why; the refusals change nothing, and what is good beside
// them is kept (issue 14.9).
func TestHostileManagement(t *testing.T) {
	onEngines(t, func(t *testing.T, h *harness, _ engine) {
		h.commerceBasics()
		long := strings.Repeat("x", 100000)
		src := func(body string) []byte { return []byte(body) }
		rows := []hostile{
			// Authentication.
			{name: "no key", method: "GET", path: "/api/v1/sources",
				status: 401, code: "unauthorized", says: []string{"Authorization: Bearer"}},
			{name: "forged key", method: "GET", path: "/api/v1/sources", header: map[string]string{"Authorization": "Bearer pk_admin_forged"},
				status: 401, code: "unauthorized", says: []string{"not an API key"}},
			{name: "write key", method: "GET", path: "/api/v1/sources", auth: "write",
				status: 401, code: "unauthorized", says: []string{"Bearer"}},
			{name: "100,000-byte key", method: "GET", path: "/api/v1/sources", header: map[string]string{"Authorization": "Bearer " + long},
				status: 401, code: "unauthorized", says: []string{"not an API key"}},
			{name: "no key on a write", method: "POST", path: "/api/v1/sources", body: src(`{"name":"Intruder","channel":"web"}`),
				status: 401, code: "unauthorized"},
			// Bodies.
			{name: "not JSON", method: "POST", path: "/api/v1/sources", auth: "admin", body: src(`name=x`),
				status: 400, code: "invalid_request", says: []string{`"field":"body"`, "invalid character"}},
			{name: "JSON cut short", method: "POST", path: "/api/v1/sources", auth: "admin", body: src(`{"name":"Cut","channel":`),
				status: 400, code: "invalid_request", says: []string{`"field":"body"`, "unexpected EOF"}},
			{name: "body cut short on the wire", method: "POST", path: "/api/v1/sources", auth: "admin", body: src(`{"name":"Cut",`), truncated: 50,
				status: 400, code: "invalid_request", says: []string{`"field":"body"`, "unexpected EOF"}},
			{name: "an array", method: "POST", path: "/api/v1/sources", auth: "admin", body: src(`[{"name":"A","channel":"web"}]`),
				status: 400, code: "invalid_request", says: []string{`"field":"body"`, "array"}},
			{name: "unknown field", method: "POST", path: "/api/v1/sources", auth: "admin", body: src(`{"nme":"Typo","channel":"web"}`),
				status: 400, code: "invalid_request", says: []string{`"field":"body"`, `unknown field "nme"`}},
			{name: "wrong type", method: "POST", path: "/api/v1/sources", auth: "admin", body: src(`{"name":42,"channel":"web"}`),
				status: 400, code: "invalid_request", says: []string{`"field":"body"`, "name", "string"}},
			{name: "over 1 MiB", method: "POST", path: "/api/v1/sources", auth: "admin", body: src(`{"name":"` + strings.Repeat("x", 2<<20) + `","channel":"web"}`),
				status: 400, code: "invalid_request", says: []string{`"field":"body"`, "too large"}},
			{name: "5,000 levels deep, saved", method: "POST", path: "/api/v1/segments", auth: "admin", body: src(`{"id":"deep","name":"Deep","where":` + strings.Repeat(`{"not":`, 5000) + `{"country":"FR"}` + strings.Repeat(`}`, 5000) + `}`),
				status: 400, code: "invalid_segment", says: []string{"where.not.not", "more than 32 levels deep"}},
			{name: "5,000 levels deep", method: "POST", path: "/api/v1/segments/preview", auth: "admin", body: src(`{"id":"deep","name":"Deep","where":` + strings.Repeat(`{"not":`, 5000) + `{"country":"FR"}` + strings.Repeat(`}`, 5000) + `}`),
				status: 400, code: "invalid_segment", says: []string{"where.not.not", "more than 32 levels deep"}},
			{name: "NUL in a name", method: "POST", path: "/api/v1/sources", auth: "admin", body: src(`{"name":"Web\u0000shop","channel":"web"}`),
				status: 400, code: "invalid_request", says: []string{`"field":"name"`, "NUL", "byte 3"}},
			{name: "NUL in a product", method: "PUT", path: "/api/v1/products/cap", auth: "admin", body: src(`{"name":"Cap","variants":[{"sku":"CAP-1","price":9,"currency":"EUR\u0000"}]}`),
				status: 400, code: "invalid_request", says: []string{`"field":"variants[0].currency"`, "NUL"}},
			{name: "NUL in a template", method: "PUT", path: "/api/v1/templates/t1", auth: "admin", body: src(`{"name":"Hi\u0000","body":{}}`),
				status: 400, code: "invalid_request", says: []string{`"field":"name"`, "NUL"}},
			{name: "NUL in a consent proof's key", method: "POST", path: "/api/v1/consent", auth: "admin", body: src(`{"profile_id":1,"channel":"email","granted":true,"proof":{"ip\u0000":"x"}}`),
				status: 400, code: "invalid_request", says: []string{`"field":"proof"`, "key", "NUL"}},
			{name: "text/plain is read as JSON", method: "POST", path: "/api/v1/sources", auth: "admin", header: map[string]string{"Content-Type": "text/plain"},
				body: src(`{"name":"Plain","channel":"web"}`), status: 201},
			{name: "invalid UTF-8", method: "POST", path: "/api/v1/sources", auth: "admin", body: src("{\"name\":\"Caf\xe9\",\"channel\":\"web\"}"),
				status: 400, code: "invalid_request", says: []string{`"field":"body"`, "UTF-8 at byte 12"}},
			{name: "NUL in a journey", method: "POST", path: "/api/v1/journeys", auth: "admin", body: src(`{"id":"j","name":"J\u0000","triggers":[{"api":true}],"steps":[{"exit":{}}]}`),
				status: 400, code: "invalid_request", says: []string{`"field":"body"`, "NUL"}},
			{name: "invalid UTF-8 in a segment", method: "POST", path: "/api/v1/segments", auth: "admin", body: src("{\"id\":\"s\",\"name\":\"\xff\",\"conditions\":[]}"),
				status: 400, code: "invalid_request", says: []string{`"field":"body"`, "UTF-8"}},
			{name: "an escaped backslash before u0000 is text", method: "POST", path: "/api/v1/sources", auth: "admin", body: src(`{"name":"C:\\u0000","channel":"web"}`),
				status: 201, says: []string{`C:\\u0000`}},
			// Numbers.
			{name: "1e131072 on hand", method: "PUT", path: "/api/v1/stock/SHOE-42/lyon", auth: "admin", body: src(`{"on_hand":1e131072}`),
				status: 400, code: "invalid_request", says: []string{`"field":"body"`, "on_hand"}},
			{name: "on hand beyond the bound", method: "PUT", path: "/api/v1/stock/SHOE-42/lyon", auth: "admin", body: src(`{"on_hand":9223372036854775807}`),
				status: 400, code: "invalid_request", says: []string{"on_hand", "out of range"}},
			{name: "latitude 1e131072", method: "PUT", path: "/api/v1/locations/far", auth: "admin", body: src(`{"name":"Far","lat":1e131072,"lon":0}`),
				status: 400, code: "invalid_request", says: []string{`"field":"body"`, "lat"}},
			{name: "profile id 1e131072", method: "POST", path: "/api/v1/consent", auth: "admin", body: src(`{"profile_id":1e131072,"channel":"email","granted":true}`),
				status: 400, code: "invalid_request", says: []string{`"field":"body"`, "profile_id"}},
			// Ids in paths.
			{name: "100,000-byte SKU", method: "GET", path: "/api/v1/stock/" + long, auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"sku"`, "128 bytes"}},
			{name: "100,000-byte source", method: "GET", path: "/api/v1/sources/" + long, auth: "admin",
				status: 404, code: "not_found"},
			{name: "NUL in a product id", method: "GET", path: "/api/v1/products/a%00b", auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"id"`, "NUL", "byte 1"}},
			{name: "NUL in a source id", method: "GET", path: "/api/v1/sources/a%00b", auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"id"`, "NUL"}},
			{name: "NUL in a journey id", method: "GET", path: "/api/v1/journeys/a%00b", auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"id"`, "NUL"}},
			{name: "NUL in a segment id", method: "GET", path: "/api/v1/segments/a%00b/members", auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"id"`, "NUL"}},
			{name: "NUL in a template id", method: "GET", path: "/api/v1/templates/a%00b", auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"id"`, "NUL"}},
			{name: "NUL in a query", method: "GET", path: "/api/v1/events?user_id=a%00b", auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"user_id"`, "NUL"}},
			{name: "invalid UTF-8 in a path", method: "GET", path: "/api/v1/journeys/%ff%fe", auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"id"`, "UTF-8"}},
			{name: "traversal in a product id", method: "GET", path: "/api/v1/products/..%2F..%2Fetc%2Fpasswd", auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"id"`, "'/'"}},
			{name: "traversal in a source id", method: "GET", path: "/api/v1/sources/..%2Fadmin-key", auth: "admin",
				status: 404, code: "not_found"},
			{name: "traversal in a template id", method: "GET", path: "/api/v1/templates/..%2F..%2Fetc%2Fpasswd", auth: "admin",
				status: 404, code: "not_found"},
			{name: "traversal out of the API", method: "GET", path: "/api/v1/../../etc/passwd", auth: "admin",
				status: 307},
			{name: "profile id past int64", method: "GET", path: "/api/v1/profiles/99999999999999999999", auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"id"`}},
			{name: "negative task id", method: "GET", path: "/api/v1/tasks/-1", auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"id"`, "positive"}},
			{name: "message id 1e3", method: "GET", path: "/api/v1/messages/1e3", auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"id"`, "positive integer"}},
			// Cursors and limits.
			{name: "garbage events cursor", method: "GET", path: "/api/v1/events?cursor=garbage", auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"cursor"`}},
			{name: "garbage products cursor", method: "GET", path: "/api/v1/products?cursor=%00%ff", auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"cursor"`}},
			{name: "garbage reservations cursor", method: "GET", path: "/api/v1/reservations?cursor=" + long[:5000], auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"cursor"`}},
			{name: "garbage rejections cursor", method: "GET", path: "/api/v1/rejections?cursor=-1", auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"cursor"`}},
			{name: "negative limit", method: "GET", path: "/api/v1/orders?limit=-1", auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"limit"`}},
			{name: "limit past int64", method: "GET", path: "/api/v1/tasks?limit=99999999999999999999", auth: "admin",
				status: 400, code: "invalid_request", says: []string{`"field":"limit"`}},
			// Unknown ids and endpoints.
			{name: "unknown segment's members", method: "GET", path: "/api/v1/segments/nope/members", auth: "admin",
				status: 404, code: "not_found"},
			{name: "unknown profile", method: "GET", path: "/api/v1/profiles/424242", auth: "admin",
				status: 404, code: "not_found"},
			{name: "unknown order", method: "GET", path: "/api/v1/orders/nope", auth: "admin",
				status: 404, code: "not_found"},
			{name: "unknown journey", method: "POST", path: "/api/v1/journeys/nope/pause", auth: "admin",
				status: 404, code: "not_found"},
			{name: "unknown endpoint", method: "GET", path: "/api/v1/nope", auth: "admin",
				status: 404, code: "not_found", says: []string{"GET /api/v1/nope"}},
			{name: "unknown method", method: "DELETE", path: "/api/v1/sources", auth: "admin",
				status: 404, code: "not_found", says: []string{"DELETE /api/v1/sources"}},
			// Good beside bad: a stock adjustment with one bad line applies
			// none of them.
			{name: "adjustment with a bad line", method: "POST", path: "/api/v1/stock/adjustments", auth: "admin",
				body:   src(`{"key":"adj-h","deltas":[{"sku":"SHOE-42","location_id":"lyon","delta":1},{"sku":"SHOE-42","location_id":"lyon","delta":1e131072}]}`),
				status: 400, code: "invalid_request", says: []string{`"field":"body"`, "delta"}},
		}
		h.runHostile(t, nil, rows)
		// What the refusals left: the harness's source and the two good
		// ones, stock as it was.
		list, err := h.st.ListSources(t.Context())
		if err != nil || len(list) != 3 {
			t.Fatalf("sources after the rows: %d %v; want Web shop, Plain and C:\\u0000", len(list), err)
		}
		if _, s := h.call("GET", "/api/v1/stock/SHOE-42", ""); s["available"] != 5.0 {
			t.Fatalf("stock after the rows: %v", s)
		}
	})
}
