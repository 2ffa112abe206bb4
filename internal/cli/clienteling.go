package cli

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/parcours/parcours/internal/clienteling"
	"github.com/parcours/parcours/internal/config"
)

// clientelingCmd is the store associate's customer card (issue 21.5).
type clientelingCmd struct {
	Show clientelingShowCmd `cmd:"" help:"Find the customer in front of you by phone, email, loyalty card or a scanned code, and print their card."`
	Note clientelingNoteCmd `cmd:"" help:"Add a note to a customer's timeline (Store Note Added)."`
}

type clientelingShowCmd struct {
	remote
	Phone string `help:"The customer's phone number, as they say it (06 12 34 56 78 or +33 6 12 34 56 78)." xor:"by"`
	Email string `help:"The customer's email address." xor:"by"`
	Card  string `help:"A loyalty card number (or a store customer number)." xor:"by"`
	Code  string `help:"What a scanner read: a card's barcode, order:ID or an order number, or kind:value." xor:"by"`
	Store string `help:"The store you are in: its stock of the customer's products is shown (default: a store role's only store)."`
}

func (c *clientelingShowCmd) Help() string {
	return `One call (GET /api/v1/clienteling/customers) returns everything: identity and consent per
channel (what may be sent), sizes and preferences, the one cart, the last products viewed on the
web, orders and returns, open tasks, segments, notes, and this store's stock of those products.

  parcours clienteling show --phone "06 12 34 56 78" --store lyon-01
  parcours clienteling show --code LC-1234 --store lyon-01 --json`
}

func (c *clientelingShowCmd) Run(g *config.Globals, e *env) error {
	q := url.Values{}
	for k, v := range map[string]string{"phone": c.Phone, "email": c.Email, "card": c.Card, "code": c.Code, "store": c.Store} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if c.Phone == "" && c.Email == "" && c.Card == "" && c.Code == "" {
		return errors.New("clienteling show: give one of --phone, --email, --card or --code")
	}
	api, err := c.client(g)
	if err != nil {
		return err
	}
	path := "/api/v1/clienteling/customers?" + q.Encode()
	if g.JSON {
		var raw strings.Builder
		if err := api.call(e.ctx, "GET", path, nil, &raw); err != nil {
			return err
		}
		_, err := io.WriteString(e.stdout, raw.String()+"\n")
		return err
	}
	var v clienteling.View
	if err := api.call(e.ctx, "GET", path, nil, &v); err != nil {
		return err
	}
	printCard(e.stdout, &v)
	return nil
}

// printCard prints the card as a tablet shows it, a section a line or a
// few.
func printCard(w io.Writer, v *clienteling.View) {
	name := v.Identity.Name
	if name == "" {
		name = "(no name)"
	}
	fmt.Fprintf(w, "%s: profile %d, found by %s\n", name, v.ProfileID, v.FoundBy)
	var reach []string
	for _, s := range [][2]string{{"email", v.Identity.Email}, {"phone", v.Identity.Phone}, {"card", v.Identity.LoyaltyCard}} {
		if s[1] != "" {
			reach = append(reach, s[0]+" "+s[1])
		}
	}
	if len(reach) > 0 {
		fmt.Fprintf(w, "  %s\n", strings.Join(reach, " · "))
	}
	if v.Store != nil {
		fmt.Fprintf(w, "Store:     %s %s\n", v.Store.ID, v.Store.Name)
	}
	var consent []string
	for _, c := range v.Consent {
		s := c.Channel + ": "
		switch {
		case !c.Address:
			s += "no address"
		case c.Suppressed != "":
			s += "suppressed (" + c.Suppressed + ")"
		case c.Granted == nil:
			s += "not asked"
		case *c.Granted:
			s += "yes"
		default:
			s += "no"
		}
		for _, t := range sortedKeys(c.Topics) {
			s += fmt.Sprintf(", %s %s", t, yesNo(c.Topics[t]))
		}
		consent = append(consent, s)
	}
	fmt.Fprintf(w, "Consent:   %s\n", strings.Join(consent, " · "))
	if len(v.Sizes) > 0 {
		var sizes []string
		for _, k := range sortedKeys(v.Sizes) {
			sizes = append(sizes, k+" "+string(v.Sizes[k]))
		}
		fmt.Fprintf(w, "Sizes:     %s\n", strings.Join(sizes, ", "))
	}
	var traits []string
	for _, k := range sortedKeys(v.Traits) {
		if _, size := v.Sizes[k]; !size {
			traits = append(traits, k+"="+string(v.Traits[k]))
		}
	}
	if len(traits) > 0 {
		fmt.Fprintf(w, "Traits:    %s\n", strings.Join(traits, " "))
	}
	s := v.Summary
	fmt.Fprintf(w, "Summary:   lifetime value %v, %v orders, last order %v, prefers %v, views %v\n",
		s.LifetimeValue, s.OrderCount, dash(s.LastOrderDate), dash(s.PreferredChannel), dash(s.TopCategories))
	if v.Cart != nil {
		fmt.Fprintf(w, "Cart:      %d items, %.2f %s (version %d)\n", len(v.Cart.Items), v.Cart.Total(), v.Cart.Currency, v.Cart.Version)
		for _, it := range v.Cart.Items {
			fmt.Fprintf(w, "           %d × %s %s %.2f\n", it.Quantity, it.SKU, it.Name, it.Price)
		}
	}
	if len(v.RecentViews) > 0 {
		fmt.Fprintln(w, "Viewed:")
		for _, r := range v.RecentViews {
			fmt.Fprintf(w, "           %s %s %s %s\n", r.At.Format("2006-01-02 15:04"), r.Channel, cmpOr(r.SKU, r.ProductID), r.Name)
		}
	}
	if len(v.Purchases) > 0 {
		fmt.Fprintln(w, "Purchases:")
		for _, b := range v.Purchases {
			fmt.Fprintf(w, "           %s %s %s %s %.2f %s, %d items\n", b.At.Format("2006-01-02 15:04"), b.Channel, b.StoreID, b.OrderID, b.Total, b.Currency, b.Items)
		}
	}
	if v.Orders != nil {
		fmt.Fprintf(w, "Orders:    %d\n", len(v.Orders))
		for _, o := range v.Orders {
			fmt.Fprintf(w, "           %s %s %s %s %s %.2f %s\n", o.ID, o.CreatedAt.Format("2006-01-02"), o.Channel, o.Fulfilment, o.Status, o.Total, o.Currency)
			for _, r := range o.Returns {
				fmt.Fprintf(w, "             return %s at %s: %s %.2f\n", r.ID, r.Location, r.Resolution, r.Refunded)
			}
		}
	}
	if v.Stock != nil {
		fmt.Fprintln(w, "Stock here:")
		for _, st := range v.Stock {
			fmt.Fprintf(w, "           %s %s: %d available (%s)\n", st.SKU, st.Name, st.Available, strings.Join(st.Why, ", "))
		}
	}
	for _, t := range v.OpenTasks {
		fmt.Fprintf(w, "Task:      #%d %s %s\n", t.ID, t.StoreID, t.Title)
	}
	if len(v.Segments) > 0 {
		var segs []string
		for _, m := range v.Segments {
			segs = append(segs, m.Segment)
		}
		fmt.Fprintf(w, "Segments:  %s\n", strings.Join(segs, ", "))
	}
	for _, c := range v.Conversations {
		fmt.Fprintf(w, "Conversation: %s %s %s %s\n", c.ID, c.Channel, c.Status, c.LastMessage)
	}
	for _, r := range v.Recommendations {
		fmt.Fprintf(w, "Suggest:   %s %s %s\n", r.SKU, r.Name, r.Reason)
	}
	for _, n := range v.Notes {
		fmt.Fprintf(w, "Note:      %s %s %s: %s\n", n.At.Format("2006-01-02 15:04"), n.StoreID, n.Author, n.Text)
	}
	for _, k := range sortedKeys(v.Unavailable) {
		fmt.Fprintf(w, "(%s: %s)\n", k, v.Unavailable[k])
	}
}

type clientelingNoteCmd struct {
	remote
	Profile int64  `arg:"" help:"The customer's profile id (the card's first line)."`
	Text    string `help:"The note." required:""`
	Store   string `help:"The store you are in (default: a store role's only store; none: an agent's note)."`
	Key     string `help:"An idempotency key: the same key adds the note once however often it is sent."`
}

func (c *clientelingNoteCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var out clienteling.NoteAdded
	body := map[string]string{"text": c.Text, "store_id": c.Store, "key": c.Key}
	if err := api.call(e.ctx, "POST", fmt.Sprintf("/api/v1/clienteling/customers/%d/notes", c.Profile), body, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "note added to profile %d's timeline (%s)\n", out.ProfileID, out.MessageID)
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(v any) any {
	if v == nil {
		return "-"
	}
	return v
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
