package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestClientelingCommands(t *testing.T) {
	var asked, bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.Method+" "+r.URL.RequestURI())
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		w.Header().Set("Content-Type", "application/json")
		switch r.Method + " " + r.URL.Path {
		case "GET /api/v1/clienteling/customers":
			if r.URL.Query().Get("code") == "X" {
				w.WriteHeader(409)
				w.Write([]byte(`{"error":{"code":"ambiguous_customer","message":"clienteling: code X matches 2 customers"}}`))
				return
			}
			w.Write([]byte(`{"profile_id":7,"found_by":"phone:+33612345678","store":{"id":"lyon-01","name":"Lyon Bellecour"},
				"identity":{"name":"Sophie Martin","email":"sophie@example.fr","phone":"+33612345678","loyalty_card":"LC-1234","identifiers":[]},
				"consent":[{"channel":"email","address":true,"granted":true,"topics":{"newsletter":false},"marketing":true},{"channel":"push","address":false,"granted":null,"marketing":false}],
				"traits":{"first_name":"Sophie","shoe_size":38},"sizes":{"shoe_size":38},
				"summary":{"lifetime_value":178,"order_count":2,"average_order_value":89,"last_order_date":null,"preferred_channel":"web","top_categories_viewed":["Shoes"],"top_brands_viewed":[],"first_seen":null,"last_seen":null},
				"cart":{"customer":"user_id:sophie","items":[{"sku":"SHOE-42","name":"Trail shoe","price":89.9,"quantity":1,"updated_at":"2026-11-23T10:00:00Z"}],"currency":"EUR","version":2},
				"recent_views":[{"sku":"SHOE-42","name":"Trail shoe","channel":"web","at":"2026-11-23T09:58:00Z"}],
				"orders":[{"id":"ord_1","channel":"web","fulfilment":"ship","status":"delivered","total":178,"currency":"EUR","created_at":"2026-11-20T10:00:00Z","lines":[],"returns":[{"id":"ret_1","location_id":"lyon-01","resolution":"refund","refunded":89,"lines":[]}]}],
				"open_tasks":[{"id":12,"store_id":"lyon-01","title":"VIP nearby"}],"conversations":null,"recommendations":null,
				"segments":[{"segment_id":"shoe_lovers","since":"2026-11-02T00:00:00Z"}],
				"notes":[{"text":"Wants it in blue","store_id":"lyon-01","author":"user:sam","at":"2026-11-22T15:00:00Z"}],
				"stock":[{"sku":"SHOE-42","name":"Trail shoe","on_hand":4,"available":3,"why":["in_cart","viewed"]}],
				"unavailable":{"conversations":"no conversation service is wired in this server (issue 21.1)"}}`))
		case "POST /api/v1/clienteling/customers/7/notes":
			w.WriteHeader(202)
			w.Write([]byte(`{"profile_id":7,"message_id":"parcours-note-ab","event":"Store Note Added","store_id":"lyon-01","at":"2026-11-23T10:00:00Z"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	code, out, errOut := run(t, "clienteling", "show", "--phone", "06 12 34 56 78", "--store", "lyon-01", "--server", srv.URL, "--admin-key", "k")
	for _, want := range []string{"Sophie Martin: profile 7, found by phone:+33612345678", "Store:     lyon-01 Lyon Bellecour",
		"email: yes, newsletter no · push: no address", "Sizes:     shoe_size 38", "1 × SHOE-42 Trail shoe 89.90",
		"ord_1 2026-11-20 web ship delivered 178.00 EUR", "return ret_1 at lyon-01: refund 89.00", "SHOE-42 Trail shoe: 3 available (in_cart, viewed)",
		"Task:      #12 lyon-01 VIP nearby", "Segments:  shoe_lovers", "user:sam: Wants it in blue", "(conversations: no conversation service"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q", want)
		}
	}
	if code != 0 || asked[0] != "GET /api/v1/clienteling/customers?phone=06+12+34+56+78&store=lyon-01" {
		t.Fatalf("show: exit %d\n%s\n%s\n%v", code, out, errOut, asked)
	}
	code, out, _ = run(t, "--json", "clienteling", "show", "--card", "LC-1234", "--server", srv.URL, "--admin-key", "k")
	if code != 0 || !strings.HasPrefix(out, `{"profile_id":7`) || asked[1] != "GET /api/v1/clienteling/customers?card=LC-1234" {
		t.Fatalf("show --json: exit %d\n%s\n%v", code, out, asked)
	}
	if code, _, errOut := run(t, "clienteling", "show", "--code", "X", "--server", srv.URL, "--admin-key", "k"); code == 0 || !strings.Contains(errOut, "matches 2 customers") {
		t.Fatalf("ambiguous: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := run(t, "clienteling", "show", "--server", srv.URL, "--admin-key", "k"); code == 0 || !strings.Contains(errOut, "give one of --phone") {
		t.Fatalf("no identifier: exit %d\n%s", code, errOut)
	}
	code, out, errOut = run(t, "clienteling", "note", "7", "--text", "Wants it in blue", "--key", "n1", "--server", srv.URL, "--admin-key", "k")
	if code != 0 || !strings.Contains(out, "note added to profile 7") || bodies[len(bodies)-1] != `{"key":"n1","store_id":"","text":"Wants it in blue"}` {
		t.Fatalf("note: exit %d\n%s\n%s\n%v", code, out, errOut, bodies)
	}
	for _, cmd := range [][]string{{"clienteling"}, {"clienteling", "show"}, {"clienteling", "note"}} {
		if code, out, _ := run(t, append(cmd, "--help")...); code != 0 || !strings.Contains(out, "Usage: parcours") {
			t.Errorf("parcours %s --help: exit %d\n%s", strings.Join(cmd, " "), code, out)
		}
	}
}
