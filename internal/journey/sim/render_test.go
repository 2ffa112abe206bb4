package sim_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/journey/sim"
)

// TestSimulatorRendersTemplates: with templates, each send goes through
// the message pipeline: the trace and the result hold the text the
// customer would read (the store an in_stock branch found, its stock,
// the event's SKU, the first name), and a send the pipeline refuses
// (Bruno gave no email consent) says why and reads nothing.
func TestSimulatorRendersTemplates(t *testing.T) {
	res := runFile(t, "testdata/browse-rendered.yaml", "")
	var out bytes.Buffer
	res.Print(&out)
	if !res.Passed {
		t.Fatalf("expectations failed:\n%s", out.String())
	}
	if len(res.Sends) != 2 {
		t.Fatalf("sends %+v", res.Sends)
	}
	alice, bruno := res.Sends[0].Delivery, res.Sends[1].Delivery
	if alice == nil || alice.Status != "queued" || alice.To != "+33612345678" ||
		alice.Body != "Alice, vos SHOE-42 vous attendent chez Lyon Bellecour (3 en stock). STOP au 36111" {
		t.Fatalf("Alice's SMS: %+v", alice)
	}
	if bruno == nil || bruno.Status != "skipped" || bruno.Reason != "no email marketing consent" || bruno.Read() != "" {
		t.Fatalf("Bruno's email: %+v", bruno)
	}
	// "Bruno receives the email" does not hold: it was handed over, not
	// sent, and the check says why.
	sc, files := parseFiles(t, "testdata/browse-rendered.yaml")
	sc.Expect = []sim.Expect{{User: "bruno", Send: &sim.SendSpec{Channel: "email"}}}
	again, err := sim.Run(context.Background(), files, sc)
	if err != nil {
		t.Fatal(err)
	}
	if c := again.Checks[0]; again.Passed || c.Detail != "+0d02h10m: handed over, email: not sent: no email marketing consent" {
		t.Fatalf("a send the pipeline skips counts as received: %+v", c)
	}
	for _, want := range []string{
		"✉ sms browse-in-store-sms → +33612345678",
		"sms: rendered; would be sent now",
		"email: not sent: no email marketing consent",
		"\nMessages\n",
		"    │ Alice, vos SHOE-42 vous attendent chez Lyon Bellecour (3 en stock). STOP au 36111\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the printed trace has no %q:\n%s", want, out.String())
		}
	}
}

// TestSimulatorTemplateMissing: a send step whose template does not
// exist fails as it does live (the step is skipped after its retries)
// instead of counting as sent; the email with the cart renders the cart.
func TestSimulatorTemplateMissing(t *testing.T) {
	res := runFile(t, "testdata/cart-missing-template.yaml", "")
	var out bytes.Buffer
	res.Print(&out)
	if !res.Passed {
		t.Fatalf("expectations failed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "template cart-reminder-sms") {
		t.Fatalf("the trace does not say the template is missing:\n%s", out.String())
	}
	if d := res.Sends[0].Delivery; d.Subject != "Bruno, votre panier vous attend" || !strings.Contains(d.Text, "2 × BAG-7 à 129 €") {
		t.Fatalf("the cart email: %+v", d)
	}
}
