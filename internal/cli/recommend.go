package cli

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/recommend"
)

type recommendCmd struct {
	remote
	Profile   string `arg:"" optional:"" help:"A profile id, or an identifier as kind:value (email:sophie@example.fr, user_id:42). Without it: --list."`
	Strategy  string `short:"s" help:"A named recommendation (for_you, similar, popular, recently_viewed, complements, browse_abandonment, or a kind: recommendation file's name) or a bare strategy." default:"for_you"`
	Store     string `help:"Only products available at this store (its id)."`
	Available string `help:"Where the products must be available: any, online, nearest (the customer's nearest store) or store (with --store)." enum:",any,online,nearest,store" default:""`
	Product   string `help:"The product of similar (default: the customer's last viewed)."`
	Channel   string `help:"Shape the answer as this channel shows it: sms and push one product, email a grid of six, web ten." placeholder:"CHANNEL"`
	Limit     int    `help:"How many products (default: the recommendation's, else the channel's)."`
	List      bool   `help:"List the named recommendations (built-in and applied) and the model's size."`
}

func (c *recommendCmd) Help() string {
	return `Previews what the running server proposes to a customer: each product with its price, where it is
available, why it was chosen and its tagged link (rec=NAME: Measure attributes clicks and orders
to it). The model lives in serve's memory, learned from the event log: this asks serve.

  parcours recommend user_id:sophie
  parcours recommend email:sophie@example.fr --strategy complements --store lyon-01
  parcours recommend 42 --strategy browse_abandonment --available nearest --channel sms
  parcours recommend --list

docs/recommend.md explains the strategies; kind: recommendation files (parcours apply -f) add
named ones.`
}

func (c *recommendCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	if c.List || c.Profile == "" {
		var out struct {
			Recommendations []recommend.Definition `json:"recommendations"`
			Model           recommend.Stats        `json:"model"`
		}
		if err := api.call(e.ctx, "GET", "/api/v1/recommendations", nil, &out); err != nil {
			return err
		}
		if g.JSON {
			return printJSON(e.stdout, out)
		}
		fmt.Fprintf(e.stdout, "model: %d products, %d neighbours, %d events learned (up to seq %d), ~%.1f MB\n\n",
			out.Model.Items, out.Model.Neighbours, out.Model.Events, out.Model.LastSeq, float64(out.Model.Bytes)/1e6)
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTRATEGY\tDESCRIPTION")
		for _, d := range out.Recommendations {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Name, d.Strategy, d.About)
		}
		return tw.Flush()
	}
	id, err := c.profileID(e, api)
	if err != nil {
		return err
	}
	q := url.Values{"strategy": {c.Strategy}}
	for k, v := range map[string]string{"store": c.Store, "available": c.Available, "product": c.Product, "channel": c.Channel} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if c.Limit > 0 {
		q.Set("limit", strconv.Itoa(c.Limit))
	}
	var res recommend.Result
	if err := api.call(e.ctx, "GET", fmt.Sprintf("/api/v1/profiles/%d/recommendations?%s", id, q.Encode()), nil, &res); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, res)
	}
	where := "anywhere"
	if res.Store != "" {
		where = "at " + res.Store
	}
	fmt.Fprintf(e.stdout, "%s (%s) for profile %d, available %s\n", res.Name, res.Strategy, res.Profile, where)
	if len(res.Items) == 0 {
		fmt.Fprintln(e.stdout, "nothing to propose (no history, nothing popular in stock there): templates show their fallback")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tPRODUCT\tNAME\tPRICE\tAVAILABLE\tWHY")
	for k, it := range res.Items {
		av := it.Availability.Status
		if it.Availability.Available > 0 {
			av += fmt.Sprintf(" (%d)", it.Availability.Available)
		}
		price := strings.TrimSpace(fmt.Sprintf("%.2f %s", it.Price, it.Currency))
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", k+1, it.ProductID, it.Name, price, av, it.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if res.Fallback {
		fmt.Fprintln(e.stdout, "(completed with popular products)")
	}
	return nil
}

// profileID finds the profile: an id as given, else the profile holding
// the identifier kind:value.
func (c *recommendCmd) profileID(e *env, api *apiClient) (int64, error) {
	if id, err := strconv.ParseInt(c.Profile, 10, 64); err == nil {
		return id, nil
	}
	if !strings.Contains(c.Profile, ":") {
		return 0, fmt.Errorf("%q is neither a profile id nor kind:value (email:sophie@example.fr, user_id:42)", c.Profile)
	}
	var p struct {
		ID int64 `json:"id"`
	}
	if err := api.call(e.ctx, "GET", "/api/v1/profiles?identifier="+url.QueryEscape(c.Profile), nil, &p); err != nil {
		return 0, err
	}
	return p.ID, nil
}
