package survey_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/survey"
)

// BenchmarkTakeInbound is what surveys add to every inbound text before
// the conversations see it: a text that is not a score (parsed, no
// read), and a score from a number with no survey pending (one indexed
// read per profile), among 10,000 sends.
func BenchmarkTakeInbound(b *testing.B) {
	h := newHarness(&testing.T{})
	ctx := context.Background()
	for i := range 10000 {
		if _, _, err := h.svc.Prepare(ctx, "post-purchase-nps", int64(i+100), fmt.Sprintf("k%d", i), survey.Context{Channel: "sms"}); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct{ name, body string }{{"NotAScore", "Bonjour, où en est ma commande ?"}, {"NoPendingSurvey", "9"}} {
		b.Run(bc.name, func(b *testing.B) {
			in := message.Inbound{Channel: provider.SMS, From: "+33611223344", Body: bc.body, At: h.clk.Now()}
			for b.Loop() {
				if took, err := h.svc.TakeInbound(ctx, in, []int64{7}); took || err != nil {
					b.Fatal(took, err)
				}
			}
		})
	}
}
