package identity

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/event"
)

func TestNormalize(t *testing.T) {
	r := DefaultRules()
	cases := []struct {
		kind      Kind
		in, want  string
		rejection string
	}{
		{Email, "  Sophie.Martin@Example.FR ", "sophie.martin@example.fr", ""},
		{Email, "not-an-email", "", "not an email address"},
		{Email, "TEST@test.com", "", "blocklisted value"},
		{Phone, "06 12 34 56 78", "+33612345678", ""},
		{Phone, "+33 (0)6 12-34-56-78", "+33612345678", ""},
		{Phone, "0033612345678", "+33612345678", ""},
		{Phone, "+1 415 555 2671", "+14155552671", ""},
		{Phone, "0000000000", "", "x"},
		{Phone, "call me", "", "not a phone number"},
		{UserID, " cus_42 ", "cus_42", ""},
		{UserID, "undefined", "", "blocklisted value"},
		{UserID, "null", "", "blocklisted value"},
		{AnonymousID, "[object Object]", "", "blocklisted value"},
		{UserID, "-1", "", "blocklisted value"},
		{UserID, "0", "", "blocklisted value"},
		{UserID, "00000", "", "matches"},
		{AnonymousID, "aaaaaaaa", "", "one character repeated"},
		{UserID, "{{ user.id }}", "", "matches"},
	}
	for _, c := range cases {
		got, why := r.Normalize(Raw{c.kind, c.in})
		if c.rejection == "" && (why != "" || got.Value != c.want) {
			t.Errorf("%s %q: got %q (%s), want %q", c.kind, c.in, got.Value, why, c.want)
		}
		if c.rejection != "" && why == "" {
			t.Errorf("%s %q: accepted as %q, want refused", c.kind, c.in, got.Value)
		}
	}
}

func TestLoadRules(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "identity.yaml")
	os.WriteFile(path, []byte("default_region: us\nblocklist: [guest]\npatterns: ['^tmp-']\nlimits: {email: 2}\nmax_merges: 10\n"), 0o600)
	r, err := LoadRules(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Limit(Email) != 2 || r.Limit(UserID) != 1 || r.MaxMerges != 10 || r.MaxIdentifiers != 1000 {
		t.Fatalf("rules %+v", r)
	}
	if id, _ := r.Normalize(Raw{Phone, "(415) 555-2671"}); id.Value != "+14155552671" {
		t.Fatalf("default region not applied: %q", id.Value)
	}
	for _, junk := range []string{"Guest", "tmp-123", "null"} {
		if _, why := r.Normalize(Raw{UserID, junk}); why == "" {
			t.Errorf("%q accepted", junk)
		}
	}
	for _, bad := range []string{"limits: {email: 0}\n", "priority: [email, email]\n", "patterns: ['(']\n", "colour: red\n", "default_region: XX\n"} {
		os.WriteFile(path, []byte(bad), 0o600)
		if _, err := LoadRules(path); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestExtract(t *testing.T) {
	e := &event.Event{Type: event.Identify, UserID: "u1", AnonymousID: "a1",
		Traits:  json.RawMessage(`{"email":"A@B.fr","phone":"0612345678","loyaltyId":123456,"name":"x"}`),
		Context: json.RawMessage(`{"traits":{"storeCustomerId":"S-9"},"externalIds":[{"id":"crm-1","type":"CRM","collection":"users"}],"device":{"token":"tok-1"}}`)}
	var got []string
	for _, r := range Extract(e) {
		got = append(got, string(r.Kind)+"="+r.Value)
	}
	sort.Strings(got)
	want := "anonymous_id=a1 device_token=tok-1 email=A@B.fr external:crm=crm-1 loyalty_id=123456 phone=0612345678 store_customer_id=S-9 user_id=u1"
	if strings.Join(got, " ") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	// A track call's own traits are not identity; its context traits are.
	tr := &event.Event{Type: event.Track, AnonymousID: "a", Traits: json.RawMessage(`{"email":"x@y.z"}`)}
	if got := Extract(tr); len(got) != 1 {
		t.Fatalf("track extracted %v", got)
	}
	obj := &event.Event{Type: event.Track, AnonymousID: "a", Context: json.RawMessage(`{"externalIds":{"crm":"C-1"}}`)}
	if got := Extract(obj); len(got) != 2 || got[1].Kind != "external:crm" || got[1].Value != "C-1" {
		t.Fatalf("externalIds as an object: %v", got)
	}
	al := &event.Event{Type: event.Alias, UserID: "u", PreviousID: "a-old"}
	if got := Extract(al); len(got) != 2 || got[1].Value != "a-old" {
		t.Fatalf("alias extracted %v", got)
	}
}

// memGraph is an in-memory identity graph that applies plans.
type memGraph struct {
	holder map[Identifier]int64
	nodes  map[int64]*Node
	next   int64
}

func newMemGraph() *memGraph {
	return &memGraph{holder: map[Identifier]int64{}, nodes: map[int64]*Node{}, next: 1}
}

func (g *memGraph) Holder(id Identifier) (int64, error) { return g.holder[id], nil }
func (g *memGraph) Node(p int64) (*Node, error)         { return g.nodes[p], nil }

func (g *memGraph) apply(t *testing.T, r *Rules, ids ...string) Plan {
	t.Helper()
	var list []Identifier
	for _, s := range ids {
		id, ok := ParseIdentifier(s)
		if !ok {
			t.Fatalf("bad identifier %q", s)
		}
		list = append(list, id)
	}
	plan, err := r.Resolve(g, list, g.next)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Created != 0 {
		g.nodes[plan.Created] = &Node{ID: plan.Created}
		g.next++
	}
	if plan.Profile == 0 {
		return plan
	}
	target := g.nodes[plan.Profile]
	if target == nil {
		target = &Node{ID: plan.Profile}
		g.nodes[plan.Profile] = target
	}
	for _, m := range plan.Merged {
		for _, x := range g.nodes[m].Identifiers {
			target.Identifiers = append(target.Identifiers, x)
			g.holder[x] = plan.Profile
		}
		target.Merges += g.nodes[m].Merges + 1
		delete(g.nodes, m)
	}
	for _, x := range plan.Linked {
		target.Identifiers = append(target.Identifiers, x)
		g.holder[x] = plan.Profile
	}
	return plan
}

func TestResolveScenarios(t *testing.T) {
	r := DefaultRules()
	g := newMemGraph()
	// Anonymous browsing, then login on the same browser: one profile.
	p1 := g.apply(t, r, "anonymous_id:a1")
	p2 := g.apply(t, r, "anonymous_id:a1", "user_id:sophie", "email:sophie@x.fr")
	if p1.Profile != 1 || p2.Profile != 1 || len(p2.Linked) != 2 {
		t.Fatalf("login: %+v then %+v", p1, p2)
	}
	// Sophie on her phone: a separate anonymous profile, merged on login.
	g.apply(t, r, "anonymous_id:phone-1")
	p := g.apply(t, r, "user_id:sophie", "anonymous_id:phone-1")
	if p.Profile != 1 || !slices.Equal(p.Merged, []int64{2}) || p.Created != 0 {
		t.Fatalf("second device: %+v", p)
	}
	// Marc logs in on Sophie's laptop: his own profile, the laptop's
	// anonymous id stays with Sophie.
	p = g.apply(t, r, "anonymous_id:a1", "user_id:marc")
	if p.Profile != 3 || len(p.Refused) != 1 || p.Refused[0].Identifier.Kind != AnonymousID || p.Refused[0].Holder != 1 {
		t.Fatalf("shared laptop: %+v", p)
	}
	// An email known for Sophie arrives with Marc's user id: not merged.
	p = g.apply(t, r, "user_id:marc", "email:sophie@x.fr")
	if p.Profile != 3 || len(p.Merged) != 0 || len(p.Refused) != 1 {
		t.Fatalf("conflicting email: %+v", p)
	}
	// Only junk: no profile.
	if p := g.apply(t, r); p.Profile != 0 {
		t.Fatalf("no identifiers: %+v", p)
	}
}

func TestResolveLimits(t *testing.T) {
	r := DefaultRules()
	r.Limits[Email] = 2
	g := newMemGraph()
	g.apply(t, r, "user_id:u", "email:1@x.fr", "email:2@x.fr")
	p := g.apply(t, r, "user_id:u", "email:3@x.fr")
	if len(p.Linked) != 0 || len(p.Refused) != 1 || !strings.Contains(p.Refused[0].Reason, "limit") {
		t.Fatalf("third email: %+v", p)
	}
	// Caps: a profile stops absorbing identifiers, events still resolve.
	r.MaxIdentifiers = 4
	g.apply(t, r, "user_id:u", "phone:+33612345678")
	p = g.apply(t, r, "user_id:u", "phone:+33612345679")
	if p.Profile != 1 || len(p.Refused) != 1 || !strings.Contains(p.Refused[0].Reason, "cap") {
		t.Fatalf("identifier cap: %+v", p)
	}
	r.MaxIdentifiers, r.MaxMerges = 1000, 1
	g.apply(t, r, "anonymous_id:x")
	g.apply(t, r, "anonymous_id:y")
	if p := g.apply(t, r, "user_id:u", "anonymous_id:x"); len(p.Merged) != 1 {
		t.Fatalf("first merge: %+v", p)
	}
	if p := g.apply(t, r, "user_id:u", "anonymous_id:y"); len(p.Merged) != 0 || !strings.Contains(p.Refused[0].Reason, "cap") {
		t.Fatalf("merge cap: %+v", p)
	}
}

// TestResolveOrderIndependent: without conflicts, the final grouping of
// identifiers does not depend on the order the events arrive in.
func TestResolveOrderIndependent(t *testing.T) {
	r := DefaultRules()
	// 30 people, each with a user id, an email and 1-3 devices; events link
	// random subsets of one person's identifiers.
	var events [][]string
	for p := range 30 {
		ids := []string{fmt.Sprintf("user_id:u%d", p), fmt.Sprintf("email:p%d@x.fr", p)}
		for d := range 1 + p%3 {
			ids = append(ids, fmt.Sprintf("anonymous_id:p%d-d%d", p, d))
		}
		rng := rand.New(rand.NewPCG(uint64(p), 1))
		for range 6 {
			n := 1 + rng.IntN(len(ids))
			perm := rng.Perm(len(ids))[:n]
			var ev []string
			for _, i := range perm {
				ev = append(ev, ids[i])
			}
			events = append(events, ev)
		}
		events = append(events, ids) // each person is fully linked once
	}
	groups := func(order []int) string {
		g := newMemGraph()
		for _, i := range order {
			g.apply(t, r, events[i]...)
		}
		var out []string
		for _, n := range g.nodes {
			var ids []string
			for _, id := range n.Identifiers {
				ids = append(ids, id.String())
			}
			sort.Strings(ids)
			out = append(out, strings.Join(ids, ","))
		}
		sort.Strings(out)
		return strings.Join(out, "\n")
	}
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	want := groups(order)
	if strings.Count(want, "\n") != 29 {
		t.Fatalf("expected 30 profiles:\n%s", want)
	}
	for seed := range 20 {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		if got := groups(order); got != want {
			t.Fatalf("seed %d: grouping depends on order", seed)
		}
	}
}
