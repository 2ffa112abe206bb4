package measure_test

import (
	"testing"

	"github.com/parcours/parcours/internal/measure"
)

// TestSurveyAnswered: the answers of Parcours' own surveys (Survey
// Answered, internal events naming their profile) count in NPS and CSAT
// by store, channel, journey and agent.
func TestSurveyAnswered(t *testing.T) {
	h := newHarness(t, "UTC")
	for _, u := range []string{"ana", "ben", "cy", "dee"} {
		h.send(ev{user: u, typ: "identify", at: "2025-01-02T09:00:00Z", channel: "web"})
	}
	h.catchUp(100)
	answer := func(user, typ string, score int, store, channel, journey, agent string) ev {
		return ev{name: "Survey Answered", at: "2025-01-10T10:00:00Z", channel: "internal", source: "src_parcours",
			props: map[string]any{"profileId": h.profileOf(user), "survey_id": "s", "survey_type": typ, "score": score,
				"store_id": store, "channel": channel, "journey_id": journey, "agent": agent}}
	}
	h.send(
		answer("ana", "nps", 10, "lyon", "sms", "post-purchase-nps", ""),
		answer("ben", "nps", 9, "lyon", "email", "post-purchase-nps", ""),
		answer("cy", "nps", 3, "paris", "sms", "post-purchase-nps", ""),
		answer("dee", "nps", 8, "paris", "email", "", "léa"),
		answer("ana", "csat", 5, "lyon", "whatsapp", "post-contact-csat", "léa"),
		answer("ben", "csat", 2, "lyon", "whatsapp", "post-contact-csat", "marc"),
	)
	h.catchUp(100)
	row := func(r *measure.KPIReport, id, value string) *float64 {
		for _, b := range kpi(t, r, id).Breakdown {
			if b.Value == value {
				return b.Current
			}
		}
		return nil
	}
	q := measure.KPIQuery{From: "2025-01-08", To: "2025-01-14", KPIs: []string{"nps", "csat"}}
	r := h.kpis(q)
	if !near(kpi(t, r, "nps").Value, 25) || !near(kpi(t, r, "csat").Value, 50) {
		t.Fatalf("nps %v csat %v; want 25 (2 promoters - 1 detractor of 4) and 50", show(kpi(t, r, "nps").Value), show(kpi(t, r, "csat").Value))
	}
	for _, c := range []struct {
		by, kpi, value string
		want           float64
	}{
		{"store", "nps", "lyon", 100},
		{"store", "nps", "paris", -50},
		{"channel", "nps", "sms", 0},
		{"channel", "nps", "email", 50},
		{"channel", "csat", "whatsapp", 50},
		{"journey", "nps", "post-purchase-nps", 100.0 / 3},
		{"journey", "csat", "post-contact-csat", 50},
		{"agent", "csat", "léa", 100},
		{"agent", "csat", "marc", 0},
		{"agent", "nps", "léa", 0},
	} {
		q.Breakdown = c.by
		r := h.kpis(q)
		if got := row(r, c.kpi, c.value); !near(got, c.want) {
			t.Errorf("%s by %s = %s: %v, want %v", c.kpi, c.by, c.value, show(got), c.want)
		}
	}
}
