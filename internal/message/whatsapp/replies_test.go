package whatsapp_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/whatsapp"
)

// TestBodyQuickReplies: a session message with up to 3 quick replies is
// an interactive reply-buttons message, with up to 10 an interactive list,
// and a template's replies are its quick-reply buttons' payloads, each as
// the Cloud API documents them.
func TestBodyQuickReplies(t *testing.T) {
	replies := func(n int) []provider.Reply {
		var out []provider.Reply
		for i := 1; i <= n; i++ {
			out = append(out, provider.Reply{ID: "survey:" + string(rune('0'+i)), Title: strings.Repeat("★", i)})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		m    provider.Message
		want string
	}{
		{"buttons", provider.Message{To: "+33612345678", Body: "Satisfait(e) ?", Replies: replies(3)},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"33612345678","type":"interactive","interactive":{"type":"button","body":{"text":"Satisfait(e) ?"},"action":{"buttons":[{"type":"reply","reply":{"id":"survey:1","title":"★"}},{"type":"reply","reply":{"id":"survey:2","title":"★★"}},{"type":"reply","reply":{"id":"survey:3","title":"★★★"}}]}}}`},
		{"list", provider.Message{To: "+33612345678", Body: "Satisfait(e) ?", Replies: replies(5), ReplyButton: "Noter"},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"33612345678","type":"interactive","interactive":{"type":"list","body":{"text":"Satisfait(e) ?"},"action":{"button":"Noter","sections":[{"rows":[{"id":"survey:1","title":"★"},{"id":"survey:2","title":"★★"},{"id":"survey:3","title":"★★★"},{"id":"survey:4","title":"★★★★"},{"id":"survey:5","title":"★★★★★"}]}]}}}`},
		{"template", provider.Message{To: "+33612345678", Template: &provider.WhatsAppTemplate{Name: "csat_fr", Language: "fr", Params: []string{"Léa"}},
			Replies: []provider.Reply{{ID: "survey:5"}, {ID: "survey:1"}}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"33612345678","type":"template","template":{"name":"csat_fr","language":{"code":"fr"},"components":[{"type":"body","parameters":[{"type":"text","text":"Léa"}]},{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"survey:5"}]},{"type":"button","sub_type":"quick_reply","index":"1","parameters":[{"type":"payload","payload":"survey:1"}]}]}}`},
	} {
		b, err := whatsapp.Body(&tc.m)
		if err != nil || string(b) != tc.want {
			t.Errorf("%s:\n got %s, %v\nwant %s", tc.name, b, err, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		m    provider.Message
	}{
		{"11 replies", provider.Message{To: "+1", Body: "x", Replies: append(replies(9), replies(2)...)}},
		{"a button title over 20", provider.Message{To: "+1", Body: "x", Replies: []provider.Reply{{ID: "a", Title: strings.Repeat("é", 21)}}}},
		{"a row title over 24", provider.Message{To: "+1", Body: "x", Replies: append(replies(4), provider.Reply{ID: "a", Title: strings.Repeat("x", 25)})}},
		{"a list button over 20", provider.Message{To: "+1", Body: "x", Replies: replies(4), ReplyButton: strings.Repeat("x", 21)}},
		{"no title", provider.Message{To: "+1", Body: "x", Replies: []provider.Reply{{ID: "a"}}}},
		{"a body over 1024 with buttons", provider.Message{To: "+1", Body: strings.Repeat("x", 1025), Replies: replies(1)}},
	} {
		if _, err := whatsapp.Body(&tc.m); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

// TestDecodeQuickReplies: taps on reply buttons, list rows and a
// template's quick-reply buttons come back as inbound messages with the
// reply's id, as the Cloud API's messages webhook carries them.
func TestDecodeQuickReplies(t *testing.T) {
	msg := func(m string) []byte {
		return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[` + m + `]}}]}]}`)
	}
	at := time.Unix(1749854575, 0).UTC()
	for _, tc := range []struct {
		name, m string
		want    whatsapp.Inbound
	}{
		{"button_reply", `{"context":{"from":"15550783881","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJBRjlFNjZFMTc3MjZEN0E5RjgA"},"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBRjcyMTAyRDI4QzlCNkFGMgA=","timestamp":"1749854575","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"survey:5","title":"Très satisfait"}}}`,
			whatsapp.Inbound{Provider: "wa", MessageID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBRjcyMTAyRDI4QzlCNkFGMgA=", From: "16505551234", Body: "Très satisfait", ReplyID: "survey:5", At: at}},
		{"list_reply", `{"from":"16505551234","id":"wamid.L","timestamp":"1749854575","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"survey:2","title":"★★","description":""}}}`,
			whatsapp.Inbound{Provider: "wa", MessageID: "wamid.L", From: "16505551234", Body: "★★", ReplyID: "survey:2", At: at}},
		{"template quick reply", `{"context":{"from":"15550783881","id":"wamid.T0"},"from":"16505551234","id":"wamid.T","timestamp":"1749854575","type":"button","button":{"payload":"survey:1","text":"Pas satisfait"}}`,
			whatsapp.Inbound{Provider: "wa", MessageID: "wamid.T", From: "16505551234", Body: "Pas satisfait", ReplyID: "survey:1", At: at}},
	} {
		n, err := whatsapp.DecodeWebhook(msg(tc.m), "wa")
		if err != nil || len(n.Inbound) != 1 || n.Inbound[0] != tc.want {
			got, _ := json.Marshal(n.Inbound)
			t.Errorf("%s: %s, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	// Other interactive replies (a flow's nfm_reply) and media are not
	// texts.
	if n, _ := whatsapp.DecodeWebhook(msg(`{"from":"1","id":"x","timestamp":"1","type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"response_json":"{}"}}}`), "wa"); len(n.Inbound) != 0 {
		t.Errorf("a flow reply read as a text: %+v", n.Inbound)
	}
}
