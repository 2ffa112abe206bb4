package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/parcours/parcours/examples"
	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/console"
)

// demoMarker is the file, in the data directory, that says the demo was
// loaded there: serve --demo loads it once and then only serves.
const demoMarker = "demo-loaded"

// demoPassword is the password of every demo account (shown on the
// sign-in page of a demo).
const demoPassword = "parcours-demo"

// demoAccounts are the people of the demo, one per role the seeds tell
// stories about.
var demoAccounts = []struct {
	console.Account
	Stores []string
}{
	{console.Account{Email: "marie@demo.parcours", Password: demoPassword + "-marketing", Role: "marketer"}, nil},
	{console.Account{Email: "lucas@demo.parcours", Password: demoPassword + "-lyon", Role: "store_staff"}, []string{"store-lyon-01"}},
	{console.Account{Email: "ines@demo.parcours", Password: demoPassword + "-service", Role: "agent"}, nil},
	{console.Account{Email: "paul@demo.parcours", Password: demoPassword + "-direction", Role: "admin"}, nil},
}

// DemoAccounts are the demo's accounts, for the console's sign-in page.
func DemoAccounts() []console.Account {
	out := make([]console.Account, len(demoAccounts))
	for i, a := range demoAccounts {
		out[i] = a.Account
	}
	return out
}

// demoLoaded reports whether the data directory holds the demo already.
func demoLoaded(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, demoMarker))
	return err == nil
}

// demoFiles writes the embedded examples to a temporary directory, for
// the commands that read files.
func demoFiles() (string, func(), error) {
	dir, err := os.MkdirTemp("", "parcours-demo-")
	if err != nil {
		return "", func() {}, err
	}
	if err := os.CopyFS(dir, examples.FS); err != nil {
		os.RemoveAll(dir)
		return "", func() {}, fmt.Errorf("demo: write the examples: %w", err)
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// demoCommerce imports the stores, the catalog and the stock before
// serve opens the store (serve reads the stores at start).
func demoCommerce(g *config.Globals, dir string, log io.Writer) error {
	for _, args := range [][]string{
		{"locations", "import", filepath.Join(dir, "commerce", "stores.csv")},
		{"catalog", "import", filepath.Join(dir, "commerce", "catalog.csv")},
		{"stock", "import", filepath.Join(dir, "commerce", "stock.csv"), "--no-events"},
	} {
		if code := Main(append(args, "--data-dir", g.DataDir), log, log); code != 0 {
			return fmt.Errorf("demo: parcours %s failed (exit %d)", args[0]+" "+args[1], code)
		}
	}
	return nil
}

// demoLoad fills the running server: the examples applied, a month of a
// retailer's activity generated, the demo's users, click & collect
// orders waiting to be picked, and a VIP near the Lyon store (a task on
// the store's tablet). It writes the marker last: an interrupted load is
// done again at the next start.
func demoLoad(ctx context.Context, g *config.Globals, dir, url, key string, customers, days int, log io.Writer) error {
	base := []string{"--data-dir", g.DataDir, "--server", url, "--admin-key", key}
	if code := Main(append([]string{"apply", "-f", dir}, base...), log, log); code != 0 {
		return fmt.Errorf("demo: parcours apply failed (exit %d)", code)
	}
	if code := Main([]string{"gen", "--customers", strconv.Itoa(customers), "--days", strconv.Itoa(days), "--to", url, "--admin-key", key, "--data-dir", g.DataDir}, log, log); code != 0 {
		return fmt.Errorf("demo: parcours gen failed (exit %d)", code)
	}
	api := &apiClient{base: url, key: key, http: &http.Client{Timeout: time.Minute}}
	for _, a := range demoAccounts {
		err := api.call(ctx, http.MethodPost, "/api/v1/users", map[string]any{"email": a.Email, "name": a.Email, "password": a.Password,
			"role": a.Role, "stores": a.Stores}, nil)
		if err != nil && !bytes.Contains([]byte(err.Error()), []byte("exists")) {
			return fmt.Errorf("demo: user %s: %w", a.Email, err)
		}
	}
	// The stories build on what the pipeline made of gen's events (who has
	// a phone, who said yes to SMS): wait until every stage has handled
	// them, or a story's journey reads a customer the stages have not
	// finished.
	if err := demoCaughtUp(ctx, url, time.Minute); err != nil {
		return err
	}
	if err := demoStories(ctx, api, url); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(g.DataDir, demoMarker), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600)
}

// demoStories sets the scenes of the seeds' stories that gen does not:
// click & collect orders being picked at the Lyon store (one click on
// "ready for pickup" sends the SMS), and a gold customer walking by the
// Lyon store (a task for the staff).
func demoStories(ctx context.Context, api *apiClient, url string) error {
	var page struct {
		Profiles []struct {
			ID          int64 `json:"id"`
			Identifiers []struct {
				Kind, Value string
			} `json:"identifiers"`
		} `json:"profiles"`
	}
	if err := api.call(ctx, http.MethodGet, "/api/v1/profiles?limit=100", nil, &page); err != nil {
		return fmt.Errorf("demo: profiles: %w", err)
	}
	// Click & collect customers with a mobile number (their ready message
	// goes by SMS) first, then the others.
	var users, withPhone []string
	profileOf := map[string]int64{}
	for _, p := range page.Profiles {
		user, phone := "", false
		for _, id := range p.Identifiers {
			switch id.Kind {
			case "user_id":
				user = id.Value
			case "phone":
				phone = true
			}
		}
		if user != "" {
			profileOf[user] = p.ID
		}
		switch {
		case user == "":
		case phone:
			withPhone = append(withPhone, user)
		default:
			users = append(users, user)
		}
	}
	users = append(withPhone, users...)
	if len(users) < 4 {
		return fmt.Errorf("demo: only %d known customers to tell the stories with", len(users))
	}
	var src struct {
		WriteKey string `json:"write_key"`
	}
	if err := api.call(ctx, http.MethodPost, "/api/v1/sources", map[string]string{"name": "Demo app", "channel": "ios"}, &src); err != nil {
		return fmt.Errorf("demo: source: %w", err)
	}
	vip, now := users[3], time.Now().UTC()
	if err := demoTrack(ctx, url, src.WriteKey, []map[string]any{
		{"type": "identify", "userId": vip, "traits": map[string]any{"loyalty_tier": "gold", "first_name": "Camille", "last_name": "Martin"},
			"timestamp": now.Add(-time.Minute), "messageId": "demo-vip-identify"},
	}); err != nil {
		return err
	}
	for i, u := range users[:3] {
		// The ready message goes by SMS only to a customer who said yes to
		// SMS: gen's customers decide at random, so the demo's three ask
		// for it at the till (a consent change, recorded in the ledger).
		if id := profileOf[u]; id != 0 {
			if err := api.call(ctx, http.MethodPost, "/api/v1/consent", map[string]any{"profile_id": id, "channel": "sms", "granted": true,
				"source": "demo: asked at the Lyon store's till"}, nil); err != nil {
				return fmt.Errorf("demo: SMS consent of %s: %w", u, err)
			}
		}
		order := map[string]any{"id": fmt.Sprintf("CC-DEMO-%d", i+1), "channel": "web", "fulfilment": "click_collect",
			"location_id": "store-lyon-01", "customer": map[string]string{"user_id": u}, "currency": "EUR",
			"lines": []map[string]any{{"sku": "CHA-0001-KAK", "name": "Ballerines en cuir kaki", "price": 104.99, "quantity": 1}}}
		if err := api.call(ctx, http.MethodPost, "/api/v1/orders", order, nil); err != nil {
			return fmt.Errorf("demo: order: %w", err)
		}
		for _, to := range []string{"confirmed", "picking"} {
			if err := api.call(ctx, http.MethodPost, "/api/v1/orders/"+order["id"].(string)+"/transitions", map[string]string{"to": to}, nil); err != nil {
				return fmt.Errorf("demo: order %s to %s: %w", order["id"], to, err)
			}
		}
	}
	// A visitor browses anonymously, then signs up: identity joins the
	// browsing to her profile (the timeline shows it, marked anonymous).
	anon := "demo-anon-chloe"
	if err := demoTrack(ctx, url, src.WriteKey, []map[string]any{
		{"type": "page", "anonymousId": anon, "name": "Bottines", "properties": map[string]any{"path": "/c/bottines"}, "timestamp": now.Add(-50 * time.Minute), "messageId": "demo-chloe-1"},
		{"type": "track", "anonymousId": anon, "event": "Product Viewed", "properties": map[string]any{"sku": "CHA-0002-BLA", "name": "Derbies vegan blanc", "category": "shoes", "price": 74.99},
			"timestamp": now.Add(-48 * time.Minute), "messageId": "demo-chloe-2"},
		{"type": "identify", "anonymousId": anon, "userId": "demo-chloe", "traits": map[string]any{"email": "chloe.demo@example.fr", "first_name": "Chloé", "last_name": "Durand"},
			"timestamp": now.Add(-45 * time.Minute), "messageId": "demo-chloe-3"},
	}); err != nil {
		return err
	}
	// A gold customer walks by the Lyon store.
	return demoTrack(ctx, url, src.WriteKey, []map[string]any{
		{"type": "track", "userId": vip, "event": "Location Updated", "properties": map[string]any{"latitude": 45.7582, "longitude": 4.8325},
			"timestamp": time.Now().UTC(), "messageId": "demo-vip-location"},
	})
}

// demoTrack sends calls to the tracking API with a source's write key.
func demoTrack(ctx context.Context, url, writeKey string, calls []map[string]any) error {
	body, _ := json.Marshal(map[string]any{"batch": calls})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/batch", bytes.NewReader(body))
	req.SetBasicAuth(writeKey, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("demo: events: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("demo: events: %s", resp.Status)
	}
	return nil
}

// demoCaughtUp waits until every stage of the server at url has handled
// the events it was sent (parcours_stage_lag_seconds all 0 in /metrics).
func demoCaughtUp(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("demo: wait for the stages: %w", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("demo: wait for the stages: %w", err)
		}
		behind, seen := false, false
		for _, line := range bytes.Split(body, []byte("\n")) {
			if v, ok := bytes.CutPrefix(line, []byte("parcours_stage_lag_seconds{")); ok {
				seen = true
				if f := bytes.Fields(v); len(f) < 2 || string(f[len(f)-1]) != "0" {
					behind = true
				}
			}
		}
		if seen && !behind {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: the stages did not handle the demo's events within %s (see /metrics, parcours_stage_lag_seconds)", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
