package console_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parcours/parcours/internal/browsertest"
)

// The seeds' stories, told through the console in a real Chromium against
// `parcours serve --demo`. Each saves screenshots of the pages it passes
// (PARCOURS_SCREENSHOTS=dir keeps them; docs/console.md shows some).

// TestStoryManagerReadsDashboard: a manager signs in and reads the KPIs
// with their charts, in French then in English.
func TestStoryManagerReadsDashboard(t *testing.T) {
	b := browsertest.New(t)
	d := startDemo(t)
	ctx := b.Tab(t, desktopW, desktopH, 2*time.Minute)
	signIn(t, ctx, d, "paul@demo.parcours", "parcours-demo-direction")
	browsertest.Run(t, ctx, "dashboard", chromedp.WaitVisible(chromedp.CSS(`#kpi-revenue`)), chromedp.WaitVisible(chromedp.CSS(`.chart canvas`)))
	// Headless Chromium asks for English (Accept-Language: en-US).
	if got := browsertest.Text(t, ctx, `#kpi-revenue`); got != "Revenue" {
		t.Errorf("English dashboard: revenue card titled %q", got)
	}
	if value := browsertest.Text(t, ctx, `#kpi-revenue + .value`); !strings.HasPrefix(value, "€") || !strings.Contains(value, ".") {
		t.Errorf("English revenue %q: want €1,234.56", value)
	}
	browsertest.Screenshot(t, ctx, "dashboard")
	browsertest.Run(t, ctx, "switch to French", chromedp.Click(chromedp.CSS(`form[action="/console/lang"] button`)), chromedp.WaitVisible(chromedp.CSS(`#kpi-revenue`)))
	waitText(t, ctx, `#kpi-revenue`, "Chiffre d'affaires", 5*time.Second)
	if value := browsertest.Text(t, ctx, `#kpi-revenue + .value`); !strings.HasSuffix(value, "€") || !strings.Contains(value, ",") {
		t.Errorf("French revenue %q: want 1 234,56 €", value)
	}
	browsertest.Screenshot(t, ctx, "dashboard-fr")
}

// TestStoryAgentFindsCustomer: an agent finds a customer by email and sees
// the browsing she did before signing up joined to her timeline.
func TestStoryAgentFindsCustomer(t *testing.T) {
	b := browsertest.New(t)
	d := startDemo(t)
	ctx := b.Tab(t, desktopW, desktopH, 2*time.Minute)
	signIn(t, ctx, d, "ines@demo.parcours", "parcours-demo-service")
	browsertest.Run(t, ctx, "search",
		chromedp.Navigate(d.url+"/console/customers"),
		chromedp.SendKeys(chromedp.CSS(`#customer-search`), "chloe.demo@example.fr\n"),
		chromedp.WaitVisible(chromedp.CSS(`#timeline`)),
	)
	if h := browsertest.Text(t, ctx, `h1`); !strings.Contains(h, "Chloé Durand") {
		t.Errorf("profile page titled %q", h)
	}
	tl := browsertest.Text(t, ctx, `#timeline .timeline`)
	for _, want := range []string{"Product Viewed", "anonymous, joined", "identify"} {
		if !strings.Contains(tl, want) {
			t.Errorf("timeline lacks %q:\n%s", want, tl)
		}
	}
	if nav := browsertest.Text(t, ctx, `header nav`); strings.Contains(nav, "Segments") || strings.Contains(nav, "Réglages") {
		t.Errorf("an agent's menu shows what the role may not read: %q", nav)
	}
	browsertest.Screenshot(t, ctx, "customer")
}

// TestStoryMarketerBuildsSegment: a marketer writes a segment, sees its
// size previewed as she types, fixes a mistake, and applies it.
func TestStoryMarketerBuildsSegment(t *testing.T) {
	b := browsertest.New(t)
	d := startDemo(t)
	ctx := b.Tab(t, desktopW, desktopH, 2*time.Minute)
	signIn(t, ctx, d, "marie@demo.parcours", "parcours-demo-marketing")
	bad := "id: e2e-shoe-viewers\nname: Viewed shoes this month\nwhere:\n  performed: {event: Product Viewed, within: 30dd}\n"
	browsertest.Run(t, ctx, "segment editor",
		chromedp.Navigate(d.url+"/console/segments/new"),
		chromedp.WaitVisible(chromedp.CSS(`#source`)),
		chromedp.SetValue(chromedp.CSS(`#source`), bad),
		chromedp.Click(chromedp.CSS(`button[hx-post="/console/segments/preview"]`)),
	)
	waitText(t, ctx, `#preview`, "30dd", 10*time.Second)
	good := strings.Replace(bad, "30dd", "30d", 1)
	browsertest.Run(t, ctx, "fix", chromedp.SetValue(chromedp.CSS(`#source`), good),
		chromedp.Click(chromedp.CSS(`button[hx-post="/console/segments/preview"]`)), chromedp.WaitVisible(chromedp.CSS(`#preview-size`)))
	size := browsertest.Text(t, ctx, `#preview-size`)
	browsertest.Screenshot(t, ctx, "segment-editor")
	browsertest.Run(t, ctx, "apply", chromedp.Click(chromedp.CSS(`#apply`)), chromedp.WaitVisible(chromedp.CSS(`#segment-size`)))
	if got := browsertest.Text(t, ctx, `#segment-size`); got != size || size == "0" {
		t.Errorf("applied segment holds %q, the preview said %q (want more than 0)", got, size)
	}
}

// TestStoryJourneyCountsMove: a marketer opens the abandoned-cart journey
// and sees its entered count move when a customer adds to their cart.
func TestStoryJourneyCountsMove(t *testing.T) {
	b := browsertest.New(t)
	d := startDemo(t)
	ctx := b.Tab(t, desktopW, desktopH, 2*time.Minute)
	signIn(t, ctx, d, "marie@demo.parcours", "parcours-demo-marketing")
	browsertest.Run(t, ctx, "journey", chromedp.Navigate(d.url+"/console/journeys/abandoned-cart"), chromedp.WaitVisible(chromedp.CSS(`#entered`)))
	before, _ := strconv.Atoi(strings.ReplaceAll(browsertest.Text(t, ctx, `#entered`), "\u202f", ""))
	browsertest.Screenshot(t, ctx, "journey")
	d.track(t, map[string]any{"userId": "e2e-cart-" + strconv.FormatInt(time.Now().UnixNano(), 36), "event": "Product Added",
		"properties": map[string]any{"sku": "CHA-0001-KAK", "name": "Ballerines en cuir kaki", "price": 104.99, "quantity": 1}})
	waitText(t, ctx, `#entered`, strconv.Itoa(before+1), 30*time.Second)
}

// TestStoryTemplateErrorThenFix: a marketer breaks a template, is told
// where (line and column), fixes it and saves.
func TestStoryTemplateErrorThenFix(t *testing.T) {
	b := browsertest.New(t)
	d := startDemo(t)
	ctx := b.Tab(t, desktopW, desktopH, 2*time.Minute)
	signIn(t, ctx, d, "marie@demo.parcours", "parcours-demo-marketing")
	field := `textarea[name="sms.body"]`
	browsertest.Run(t, ctx, "break the template",
		chromedp.Navigate(d.url+"/console/templates/winback-sms"),
		chromedp.WaitVisible(chromedp.CSS(field)),
		chromedp.SetValue(chromedp.CSS(field), "Bonjour {{ profile.first_name }},\n{% if profile.vip %}merci !"),
		chromedp.Click(chromedp.CSS(`#save`)),
		chromedp.WaitVisible(chromedp.CSS(`.problem`)),
	)
	if p := browsertest.Text(t, ctx, `.problem`); !strings.Contains(p, "sms.body") || !strings.Contains(p, "(2:") {
		t.Errorf("the error does not say where: %q", p)
	}
	browsertest.Screenshot(t, ctx, "template-error")
	browsertest.Run(t, ctx, "fix it",
		chromedp.SetValue(chromedp.CSS(field), "Bonjour {{ profile.first_name }},\n{% if profile.vip %}merci !{% endif %}"),
		chromedp.Click(chromedp.CSS(`#save`)),
		chromedp.WaitVisible(chromedp.CSS(`#saved`)),
	)
}

// TestStoryClickCollectReadySMS: an order being picked at the Lyon store is
// marked ready for pickup, and the SMS appears in the demo's outbox.
func TestStoryClickCollectReadySMS(t *testing.T) {
	b := browsertest.New(t)
	d := startDemo(t)
	ctx := b.Tab(t, desktopW, desktopH, 2*time.Minute)
	signIn(t, ctx, d, "paul@demo.parcours", "parcours-demo-direction")
	browsertest.Run(t, ctx, "mark ready",
		chromedp.Navigate(d.url+"/console/orders?status=picking"),
		chromedp.WaitVisible(chromedp.CSS(`#order-CC-DEMO-1`)),
		chromedp.Click(chromedp.CSS(`#order-CC-DEMO-1 button[data-to=ready_for_pickup]`)),
		chromedp.WaitVisible(chromedp.CSS(`#moved`)),
	)
	deadline := time.Now().Add(30 * time.Second)
	for {
		browsertest.Run(t, ctx, "outbox", chromedp.Navigate(d.url+"/console/outbox"), chromedp.WaitVisible(chromedp.CSS(`#outbox`)))
		sms := browsertest.Eval[string](t, ctx, `[...document.querySelectorAll("tr.msg-sms")].map(r => r.innerText).join("\n")`)
		if ready(sms) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no SMS saying CC-DEMO-1 is ready in the outbox; sms rows:\n%s", sms)
		}
		time.Sleep(time.Second)
	}
	browsertest.Screenshot(t, ctx, "outbox")
}

// ready reports whether one of the outbox's SMS rows says CC-DEMO-1 is
// ready (in French or English).
func ready(rows string) bool {
	for _, r := range strings.Split(rows, "\n") {
		if strings.Contains(r, "CC-DEMO-1") && (strings.Contains(r, "prête") || strings.Contains(r, "ready")) {
			return true
		}
	}
	return false
}

// TestStoryAssociateCompletesTask: a sales associate signs in on a tablet,
// lands on her store's page, finds the VIP task and marks it done, looks
// a customer up; on a phone the page fits the screen.
func TestStoryAssociateCompletesTask(t *testing.T) {
	b := browsertest.New(t)
	d := startDemo(t)
	ctx := b.Tab(t, tabletW, tabletH, 2*time.Minute)
	signIn(t, ctx, d, "lucas@demo.parcours", "parcours-demo-lyon")
	loc := browsertest.Eval[string](t, ctx, `location.pathname`)
	if loc != "/console/store/store-lyon-01" {
		t.Fatalf("a store associate landed on %s, not their store", loc)
	}
	browsertest.Run(t, ctx, "task", chromedp.WaitVisible(chromedp.CSS(`#tasks .task button`)))
	if task := browsertest.Text(t, ctx, `#tasks .task`); !strings.Contains(task, "Camille Martin (gold)") {
		t.Errorf("the VIP task is not on the tablet: %q", task)
	}
	browsertest.Screenshot(t, ctx, "store-tablet")
	browsertest.Run(t, ctx, "mark done", chromedp.Click(chromedp.CSS(`#tasks .task button`)), chromedp.WaitVisible(chromedp.CSS(`#tasks .task.done`)))
	browsertest.Run(t, ctx, "lookup",
		chromedp.SendKeys(chromedp.CSS(`#lookup`), d.orderPhone(t)+"\n"),
		chromedp.WaitVisible(chromedp.CSS(`#card .card`)),
	)
	browsertest.Screenshot(t, ctx, "store-tablet-lookup")

	// The same page on a phone is no wider than the screen.
	browsertest.Run(t, ctx, "phone", chromedp.EmulateViewport(phoneW, phoneH), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#lookup`)))
	if w := browsertest.Eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > phoneW+1 {
		t.Errorf("the store page is %v px wide on a %d px phone", w, phoneW)
	}
	browsertest.Screenshot(t, ctx, "store-phone")
}
