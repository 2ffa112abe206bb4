package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestConversationsCommands(t *testing.T) {
	var asked []string
	var bodies []map[string]any
	conv := `{"id":12,"profile_id":7,"status":"open","team":"service","tags":["vip"],"priority":"high","channel":"sms",
		"version":3,"created_at":"2026-12-02T09:00:00Z","updated_at":"2026-12-02T09:00:00Z","last_message_at":"2026-12-02T09:00:00Z",
		"first_response_due":"2026-12-02T10:00:00Z","breaches":[]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.Method+" "+r.URL.RequestURI())
		var in map[string]any
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &in)
		bodies = append(bodies, in)
		w.Header().Set("Content-Type", "application/json")
		switch r.Method + " " + r.URL.Path {
		case "GET /api/v1/conversations":
			w.Write([]byte(`{"conversations":[` + conv + `]}`))
		case "GET /api/v1/conversations/12":
			w.Write([]byte(strings.TrimSuffix(conv, "}") + `,"messages":[{"id":1,"conversation_id":12,"key":"k","channel":"sms","direction":"inbound",
				"author":"+33612345678","body":"Où est ma commande ?","status":"received","created_at":"2026-12-02T09:00:00Z"},
				{"id":2,"conversation_id":12,"key":"k2","channel":"whatsapp","direction":"outbound","author":"leo@shop.example",
				"body":"Elle part demain","status":"delivered","created_at":"2026-12-02T09:05:00Z"}],"whatsapp_window_ends":"2026-12-03T09:00:00Z"}`))
		case "POST /api/v1/conversations/12/messages":
			w.WriteHeader(201)
			w.Write([]byte(`{"conversation":` + strings.Replace(conv, `"open"`, `"pending"`, 1) + `,"message":{"id":3,"channel":"whatsapp","status":"queued"}}`))
		case "POST /api/v1/conversations/12/assign":
			w.Write([]byte(strings.Replace(conv, `"team":"service"`, `"team":"service","assignee":"ana@shop.example"`, 1)))
		case "POST /api/v1/conversations/12/resolve":
			w.Write([]byte(strings.Replace(conv, `"open"`, `"resolved"`, 1)))
		default:
			w.WriteHeader(404)
			w.Write([]byte(`{"error":{"code":"not_found","message":"conversation 99: not found"}}`))
		}
	}))
	defer srv.Close()
	flags := []string{"--server", srv.URL, "--admin-key", "k"}
	code, out, errOut := run(t, append([]string{"conversations", "list", "--team", "service", "--assignee", "-"}, flags...)...)
	if code != 0 || !strings.Contains(out, "profile 7") || !strings.Contains(out, "reply by") ||
		asked[0] != "GET /api/v1/conversations?assignee=-&limit=100&status=active&team=service" {
		t.Fatalf("list: exit %d\n%s\n%s\n%v", code, out, errOut, asked)
	}
	code, out, _ = run(t, append([]string{"conversations", "show", "12"}, flags...)...)
	if code != 0 || !strings.Contains(out, "customer +33612345678") || !strings.Contains(out, "Elle part demain") ||
		!strings.Contains(out, "delivered") || !strings.Contains(out, "WhatsApp window") {
		t.Fatalf("show: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, append([]string{"conversations", "reply", "12", "--channel", "whatsapp", "Elle part demain", "--key", "r1"}, flags...)...)
	if code != 0 || strings.TrimSpace(out) != "message 3 on whatsapp: queued; conversation 12 is pending" ||
		bodies[2]["body"] != "Elle part demain" || bodies[2]["key"] != "r1" || bodies[2]["channel"] != "whatsapp" {
		t.Fatalf("reply: exit %d\n%s\n%v", code, out, bodies[2])
	}
	code, out, _ = run(t, append([]string{"conversations", "assign", "12", "--round-robin"}, flags...)...)
	if code != 0 || strings.TrimSpace(out) != "conversation 12 is assigned to ana@shop.example" || bodies[3]["round_robin"] != true {
		t.Fatalf("assign: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, append([]string{"conversations", "resolve", "12"}, flags...)...)
	if code != 0 || strings.TrimSpace(out) != "conversation 12 is resolved" {
		t.Fatalf("resolve: exit %d\n%s", code, out)
	}
	if code, _, errOut := run(t, append([]string{"conversations", "show", "99"}, flags...)...); code == 0 || !strings.Contains(errOut, "not found") {
		t.Fatalf("show 99: exit %d %s", code, errOut)
	}
	for _, cmd := range [][]string{{"conversations"}, {"conversations", "list"}, {"conversations", "reply"}, {"conversations", "assign"}} {
		if code, out, _ := run(t, append(cmd, "--help")...); code != 0 || !strings.Contains(out, "Usage: parcours") {
			t.Errorf("parcours %s --help: exit %d\n%s", strings.Join(cmd, " "), code, out)
		}
	}
}
