package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/server"
)

const npsSurvey = `{"id":"post-purchase-nps","type":"nps","template":"nps-invite","language":"fr",
 "question":{"fr":"Recommanderiez-vous Maison Lumière à un proche ?","en":"Would you recommend Maison Lumière to a friend?"},
 "comment":{"fr":"Qu'est-ce qui a compté ?"},
 "channels":{"sms":{"fr":"De 0 à 10, recommanderiez-vous Maison Lumière ?"}},
 "valid_for":"14d","detractor":{"at_most":6,"title":"NPS {{score}}/10 : rappeler le client"}}`

const npsTemplate = `{"id":"nps-invite","topic":"newsletter","body":{
 "sms":{"body":"{{ survey.question }} {{ survey.reply_hint }} {{ survey.url }}"},
 "email":{"subject":"Votre avis","html":"<p>{{ survey.question }}</p><p><a href=\"{{ survey.url }}\">Répondre</a></p><p><a href=\"{{ message.unsubscribe_url }}\">Se désabonner</a></p>"}}}`

// page gets or posts a public page, without the admin key.
func (h *harness) page(method, path string, form url.Values) (int, string) {
	h.t.Helper()
	var resp *http.Response
	var err error
	if method == "POST" {
		resp, err = h.client.PostForm(h.http.URL+path, form)
	} else {
		resp, err = h.client.Get(h.http.URL + path)
	}
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var surveyLink = regexp.MustCompile(`https://crm\.example(/s/[A-Za-z0-9_.-]+)`)

// TestSurveysEndToEnd: a survey applied through the API, sent by email
// and by SMS after a contact, answered by its link and by an SMS reply;
// the answers on the timeline, the traits, the follow-up task, NPS by
// channel and agent in Measure.
func TestSurveysEndToEnd(t *testing.T) {
	mail := messagetest.NewRecorder("test-email", provider.Email)
	sms := messagetest.NewRecorder("test-sms", provider.SMS)
	h := newHarness(t, func(o *server.Options) {
		o.Providers = message.ProviderSet{provider.Email: {Provider: mail}, provider.SMS: {Provider: sms}}
		o.Messages = message.Options{BaseURL: "https://crm.example", Secret: []byte("s"), Poll: 20 * time.Millisecond}
	})
	body := `{"batch":[{"type":"identify","userId":"lina","traits":{"email":"lina@example.fr","phone":"+33611223344","email_opt_in":true,"sms_opt_in":true,"locale":"fr-FR"},"timestamp":"2026-11-20T10:00:00Z"}]}`
	if code, resp := h.ingest("/v1/batch", body); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	h.waitConsumer(message.Consumer)
	lina := h.profileOf("lina")

	if code, resp := h.adminJSON("POST", "/api/v1/templates", npsTemplate); code != 201 {
		t.Fatalf("template: %d %v", code, resp)
	}
	if code, resp := h.adminJSON("POST", "/api/v1/surveys", `{"id":"bad","type":"ces","question":{"fr":"?"}}`); code != 400 ||
		!strings.Contains(fmt.Sprint(resp), "type") {
		t.Fatalf("an invalid survey: %d %v", code, resp)
	}
	if code, resp := h.adminJSON("POST", "/api/v1/surveys", `{"surveys":[`+npsSurvey+`]}`); code != 200 {
		t.Fatalf("save: %d %v", code, resp)
	}
	if code, list := h.api("/api/v1/surveys"); code != 200 || len(list["surveys"].([]any)) != 1 {
		t.Fatalf("list: %d %v", code, list)
	}
	if code, one := h.api("/api/v1/surveys/post-purchase-nps"); code != 200 || one["type"] != "nps" || one["version"] != 1.0 {
		t.Fatalf("show: %d %v", code, one)
	}
	if code, _ := h.api("/api/v1/surveys/nope"); code != 404 {
		t.Fatalf("show an unknown survey: %d", code)
	}

	// By email, with its link.
	code, sent := h.adminJSON("POST", "/api/v1/surveys/post-purchase-nps/send",
		fmt.Sprintf(`{"profile_id":%d,"key":"order-1","channel":"email","store_id":"store-lyon-01"}`, lina))
	if code != 200 || !strings.HasPrefix(sent["url"].(string), "https://crm.example/s/") {
		t.Fatalf("send by email: %d %v", code, sent)
	}
	if _, again := h.adminJSON("POST", "/api/v1/surveys/post-purchase-nps/send",
		fmt.Sprintf(`{"profile_id":%d,"key":"order-1","channel":"email"}`, lina)); again["url"] != sent["url"] {
		t.Fatalf("the same key sent again: %v", again)
	}
	h.waitMessage(sent["message"].(map[string]any)["id"].(float64), "sent")
	m := surveyLink.FindStringSubmatch(mail.Sent()[0].HTML)
	if m == nil || "https://crm.example"+m[1] != sent["url"] {
		t.Fatalf("the email carries no survey link: %s", mail.Sent()[0].HTML)
	}
	link := m[1]
	if code, page := h.page("GET", link+"?score=9", nil); code != 200 || !strings.Contains(page, "Recommanderiez-vous Maison Lumière") ||
		!strings.Contains(page, `value="9" checked`) || !strings.Contains(page, `name="viewport"`) {
		t.Fatalf("the survey page: %d %s", code, page)
	}
	if code, page := h.page("POST", link, url.Values{"score": {"11"}}); code != 400 || !strings.Contains(page, "class=\"error\"") {
		t.Fatalf("score 11: %d %s", code, page)
	}
	if code, page := h.page("POST", link, url.Values{"score": {"9"}, "comment": {"Très bon accueil"}}); code != 200 || !strings.Contains(page, "Merci") {
		t.Fatalf("answer: %d %s", code, page)
	}
	if code, page := h.page("POST", link, url.Values{"score": {"0"}}); code != 200 || !strings.Contains(page, "déjà répondu") {
		t.Fatalf("answering twice: %d %s", code, page)
	}
	if code, page := h.page("GET", link[:len(link)-3]+"xyz", nil); code != 404 || !strings.Contains(page, "pas valide") {
		t.Fatalf("a forged link: %d %s", code, page)
	}

	// By SMS after a contact with an agent, answered by a reply.
	h.clock.Advance(time.Hour)
	code, sent = h.adminJSON("POST", "/api/v1/surveys/post-purchase-nps/send",
		fmt.Sprintf(`{"profile_id":%d,"key":"call-7","channel":"sms","store_id":"store-lyon-01","agent":"léa"}`, lina))
	if code != 200 {
		t.Fatalf("send by SMS: %d %v", code, sent)
	}
	h.waitMessage(sent["message"].(map[string]any)["id"].(float64), "sent")
	if body := sms.Sent()[0].Body; !strings.Contains(body, "De 0 à 10") || !strings.Contains(body, "Répondez par un chiffre de 0 à 10.") {
		t.Fatalf("the SMS: %q", body)
	}
	took, err := h.srv.Pipeline().Messages.Receive(context.Background(), message.Inbound{Channel: provider.SMS, From: "+33611223344",
		Body: "note : 3", ID: "SM-1", At: h.clock.Now()})
	if err != nil || !took {
		t.Fatalf("the SMS reply: took %v, %v", took, err)
	}
	// A text that is not a score goes on to customer service: it opens a
	// conversation.
	if took, err := h.srv.Pipeline().Messages.Receive(context.Background(), message.Inbound{Channel: provider.SMS, From: "+33611223344",
		Body: "Ma commande est arrivée abîmée", ID: "SM-2", At: h.clock.Now()}); err != nil || !took {
		t.Fatalf("a text that is not a score: took %v, %v", took, err)
	}
	if code, convs := h.api("/api/v1/conversations"); code != 200 || len(convs["conversations"].([]any)) != 1 {
		t.Fatalf("the text that is not a score opened no conversation: %d %v", code, convs)
	}

	// The detractor's follow-up: a task for the store.
	code, tasks := h.api("/api/v1/tasks?store_id=store-lyon-01")
	if list, _ := tasks["tasks"].([]any); code != 200 || len(list) != 1 || list[0].(map[string]any)["title"] != "NPS 3/10 : rappeler le client" {
		t.Fatalf("follow-up tasks: %d %v", code, tasks)
	}
	if code, ans := h.api("/api/v1/surveys/post-purchase-nps/answers"); code != 200 || len(ans["answers"].([]any)) != 2 {
		t.Fatalf("answers: %d %v", code, ans)
	}

	// On the timeline, in the traits, in Measure.
	h.waitUnify()
	_, tl := h.api(fmt.Sprintf("/api/v1/profiles/%d/timeline?event=Survey%%20Answered", lina))
	if evs, _ := tl["events"].([]any); len(evs) != 2 {
		t.Fatalf("timeline: %v", tl)
	}
	_, prof := h.api(fmt.Sprintf("/api/v1/profiles/%d", lina))
	traits := prof["traits"].(map[string]any)
	if v, _ := traits["last_nps"].(map[string]any); v == nil || v["value"] != 3.0 {
		t.Fatalf("last_nps: %v", traits)
	}
	h.waitConsumer(measure.Consumer)
	code, k := h.api("/api/v1/measure/kpis?kpis=nps&breakdown=channel&from=2026-11-20&to=2026-11-23")
	nps := k["kpis"].([]any)[0].(map[string]any)
	byChannel := map[string]any{}
	for _, r := range nps["breakdown"].([]any) {
		byChannel[r.(map[string]any)["value"].(string)] = r.(map[string]any)["current"]
	}
	if code != 200 || nps["value"] != 0.0 || byChannel["email"] != 100.0 || byChannel["sms"] != -100.0 {
		t.Fatalf("NPS by channel: %d %v", code, nps)
	}
	code, k = h.api("/api/v1/measure/kpis?kpis=nps&breakdown=agent&from=2026-11-20&to=2026-11-23")
	if rows := k["kpis"].([]any)[0].(map[string]any)["breakdown"].([]any); code != 200 || len(rows) != 1 ||
		rows[0].(map[string]any)["value"] != "léa" || rows[0].(map[string]any)["current"] != -100.0 {
		t.Fatalf("NPS by agent: %d %v", code, k)
	}

	// A link past its validity.
	code, sent = h.adminJSON("POST", "/api/v1/surveys/post-purchase-nps/send", fmt.Sprintf(`{"profile_id":%d,"key":"order-2","channel":"email"}`, lina))
	if code != 200 {
		t.Fatalf("send: %d %v", code, sent)
	}
	h.clock.Advance(15 * 24 * time.Hour)
	if code, page := h.page("GET", strings.TrimPrefix(sent["url"].(string), "https://crm.example"), nil); code != 410 || !strings.Contains(page, "expiré") {
		t.Fatalf("an expired link: %d %s", code, page)
	}
}

// TestWhatsAppQuickReplyAnswersSurvey: a CSAT survey sent by WhatsApp
// with quick replies (an interactive list, as the Cloud API documents
// it), answered by a tap that comes back through the signed webhook.
func TestWhatsAppQuickReplyAnswersSurvey(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		io.WriteString(w, `{"messaging_product":"whatsapp","contacts":[{"input":"33612345678","wa_id":"33612345678"}],"messages":[{"id":"wamid.OUT1"}]}`)
	}))
	defer graph.Close()
	h := newHarness(t, withProviders(t, `
  - name: wa
    type: whatsapp
    channel: whatsapp
    settings:
      phone_number_id: "106540352242922"
      access_token: tok
      app_secret: app-secret-xyz
      verify_token: verify-me
      base_url: `+graph.URL))
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/identify", `{"userId":"ines","traits":{"phone":"+33612345678","whatsappOptIn":true},"timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	h.waitConsumer(message.Consumer)
	ines := h.profileOf("ines")
	if code, resp := h.adminJSON("POST", "/api/v1/templates", `{"id":"csat-wa","topic":"newsletter","body":{"whatsapp":{
		"body":"{{ survey.question }}","list_button":"Noter","replies":[{"id":"survey:1","title":"1 - Pas du tout"},{"id":"survey:2","title":"2"},
		{"id":"survey:3","title":"3"},{"id":"survey:4","title":"4"},{"id":"survey:5","title":"5 - Tout à fait"}]}}}`); code != 201 {
		t.Fatalf("template: %d %v", code, resp)
	}
	if code, resp := h.adminJSON("POST", "/api/v1/surveys", `{"id":"contact-csat","type":"csat","template":"csat-wa","question":{"fr":"Satisfait(e) de notre réponse ?"}}`); code != 200 {
		t.Fatalf("survey: %d %v", code, resp)
	}
	code, sent := h.adminJSON("POST", "/api/v1/surveys/contact-csat/send", fmt.Sprintf(`{"profile_id":%d,"key":"chat-3","channel":"whatsapp","agent":"marc"}`, ines))
	if code != 200 {
		t.Fatalf("send: %d %v", code, sent)
	}
	h.waitMessage(sent["message"].(map[string]any)["id"].(float64), "sent")
	mu.Lock()
	it, _ := bodies[0]["interactive"].(map[string]any)
	mu.Unlock()
	if it == nil || it["type"] != "list" || !strings.Contains(toJSON(it), `"id":"survey:5","title":"5 - Tout à fait"`) {
		t.Fatalf("the WhatsApp message: %v", bodies)
	}
	// The tap, as Meta posts it (signed with the app secret).
	payload := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{"messaging_product":"whatsapp",
		"metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
		"messages":[{"context":{"from":"15550783881","id":"wamid.OUT1"},"from":"33612345678","id":"wamid.IN2","timestamp":"1795442408",
		"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"survey:5","title":"5 - Tout à fait"}}}]},"field":"messages"}]}]}`
	mac := hmac.New(sha256.New, []byte("app-secret-xyz"))
	mac.Write([]byte(payload))
	req, _ := http.NewRequest("POST", h.http.URL+"/hooks/whatsapp/wa", strings.NewReader(payload))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	res, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("webhook: %d", res.StatusCode)
	}
	_, ans := h.api("/api/v1/surveys/contact-csat/answers")
	list, _ := ans["answers"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["score"] != 5.0 || list[0].(map[string]any)["answered_via"] != "whatsapp" ||
		list[0].(map[string]any)["agent"] != "marc" {
		t.Fatalf("answers: %v", ans)
	}
}
