package cli

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/loyalty"
)

// loyaltyCmd reads members' statements, redeems and credits points as a
// till does, and reports the programme's liability (docs/loyalty.md). The
// programme itself is a file (kind: loyalty) applied with parcours apply.
type loyaltyCmd struct {
	Statement loyaltyStatementCmd `cmd:"" help:"A member's balance, tier, points expiring and entries; the member found by card, phone, email or user id."`
	Redeem    loyaltyRedeemCmd    `cmd:"" help:"Spend a member's points on a reward or a number of points, once per key (as a till does)."`
	Earn      loyaltyEarnCmd      `cmd:"" help:"Credit (or, negative, take back) points by hand, once per key; never below zero."`
	Liability loyaltyLiabilityCmd `cmd:"" help:"For finance: points outstanding × point value, members, active and redemption rates."`
}

// withHeader returns a copy of the client that sends one more header.
func (a *apiClient) withHeader(k, v string) *apiClient {
	c := *a
	c.headers = map[string]string{k: v}
	for hk, hv := range a.headers {
		c.headers[hk] = hv
	}
	return &c
}

func memberPath(member, op string) string {
	return "/api/v1/loyalty/" + url.PathEscape(member) + "/" + op
}

type loyaltyStatementCmd struct {
	remote
	Member string `arg:"" help:"The member: a loyalty card number, phone:+33..., email:..., user_id:..., or a profile id."`
	Limit  int    `help:"How many entries, newest first." default:"20"`
}

func (c *loyaltyStatementCmd) Help() string {
	return `The member is found through the unified profile, by whichever identifier the customer gives.

  parcours loyalty statement 4006381333931
  parcours loyalty statement email:ana@example.com --json`
}

func (c *loyaltyStatementCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var st loyalty.Statement
	if err := api.call(e.ctx, "GET", memberPath(c.Member, "statement")+fmt.Sprintf("?limit=%d", max(1, c.Limit)), nil, &st); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, st)
	}
	printStatement(e.stdout, c.Member, &st)
	return nil
}

func printStatement(w io.Writer, member string, st *loyalty.Statement) {
	if !st.Member {
		fmt.Fprintf(w, "%s (profile %d) is not a member yet: no points earned.\n", member, st.ProfileID)
		return
	}
	fmt.Fprintf(w, "Member     %s (profile %d), since %s\n", member, st.ProfileID, st.JoinedAt.Format(time.DateOnly))
	fmt.Fprintf(w, "Balance    %d points (%.2f %s)\n", st.Balance, st.Value, st.Currency)
	tier := orDash(st.TierName)
	if st.TierName == "" {
		tier = orDash(st.Tier)
	}
	if st.NextTier != "" && st.NextTierDistance != nil {
		tier += fmt.Sprintf(": %d qualifying points to %s", *st.NextTierDistance, st.NextTier)
	}
	fmt.Fprintf(w, "Tier       %s\n", tier)
	for i, x := range st.Expiring {
		label := ""
		if i == 0 {
			label = "Expiring"
		}
		fmt.Fprintf(w, "%-10s %d points on %s\n", label, x.Points, x.At.Format(time.DateOnly))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATE\tKIND\tPOINTS\tBALANCE\tCAUSE\tNOTE")
	for _, x := range st.Entries {
		fmt.Fprintf(tw, "%s\t%s\t%+d\t%d\t%s\t%s\n", x.At.Format("2006-01-02 15:04"), x.Kind, x.Points, x.Balance, x.Cause, orDash(strings.TrimSpace(x.Note+" "+x.Reward)))
	}
	tw.Flush()
	if st.NextBefore != 0 {
		fmt.Fprintf(w, "(older entries: --json and ?before=%d)\n", st.NextBefore)
	}
}

type loyaltyRedeemCmd struct {
	remote
	Member string `arg:"" help:"The member: a loyalty card number, phone:+33..., email:..., user_id:..., or a profile id."`
	Reward string `help:"The reward's id (the programme's rewards)." xor:"what"`
	Points int64  `help:"A number of points." xor:"what"`
	Key    string `required:"" help:"Idempotency key: the same key spends once (the till's transaction id)."`
	Store  string `help:"The store redeeming."`
}

func (c *loyaltyRedeemCmd) Help() string {
	return `A redemption never takes a balance below zero, and a retry with the same key spends nothing more.

  parcours loyalty redeem 4006381333931 --reward voucher-5 --key till-7-0001 --store lyon-01`
}

func (c *loyaltyRedeemCmd) Run(g *config.Globals, e *env) error {
	if c.Reward == "" && c.Points <= 0 {
		return fmt.Errorf("say what to redeem: --reward ID (parcours loyalty programme's rewards) or --points N")
	}
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var rc loyalty.Receipt
	req := loyalty.RedeemRequest{Reward: c.Reward, Points: c.Points, StoreID: c.Store, Channel: "store"}
	if err := api.withHeader("Idempotency-Key", c.Key).call(e.ctx, "POST", memberPath(c.Member, "redeem"), req, &rc); err != nil {
		return err
	}
	return printReceipt(e.stdout, g, &rc)
}

type loyaltyEarnCmd struct {
	remote
	Member string `arg:"" help:"The member: a loyalty card number, phone:+33..., email:..., user_id:..., or a profile id."`
	Points int64  `required:"" help:"Points to credit; negative to take back."`
	Key    string `required:"" help:"Idempotency key: the same key credits once."`
	Note   string `help:"Why (kept on the entry)."`
}

func (c *loyaltyEarnCmd) Help() string {
	return `Orders earn by themselves, from every channel; this is for a goodwill gesture or a correction.

  parcours loyalty earn 4006381333931 --points 100 --key goodwill-42 --note "late delivery"`
}

func (c *loyaltyEarnCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var rc loyalty.Receipt
	req := loyalty.EarnRequest{Points: c.Points, Note: c.Note, Channel: "console"}
	if err := api.withHeader("Idempotency-Key", c.Key).call(e.ctx, "POST", memberPath(c.Member, "earn"), req, &rc); err != nil {
		return err
	}
	return printReceipt(e.stdout, g, &rc)
}

func printReceipt(w io.Writer, g *config.Globals, rc *loyalty.Receipt) error {
	if g.JSON {
		return printJSON(w, rc)
	}
	what := "done"
	if rc.Replayed {
		what = "done before with this key: nothing changed"
	}
	fmt.Fprintf(w, "Entry %d (%s %+d points): %s\n", rc.Entry.ID, rc.Entry.Kind, rc.Entry.Points, what)
	if rc.Reward != nil {
		fmt.Fprintf(w, "Reward     %s (%s)\n", orDash(rc.Reward.Name), rc.Reward.ID)
	}
	if rc.Voucher != "" {
		fmt.Fprintf(w, "Voucher    %s\n", rc.Voucher)
	}
	fmt.Fprintf(w, "Balance    %d points, tier %s\n", rc.Balance, orDash(rc.Tier))
	return nil
}

type loyaltyLiabilityCmd struct {
	remote
	Days int `help:"The period of the flows (earned, redeemed, expired, active members)." default:"30"`
}

func (c *loyaltyLiabilityCmd) Help() string {
	return `  parcours loyalty liability
  parcours loyalty liability --days 365 --json`
}

func (c *loyaltyLiabilityCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var r loyalty.LiabilityReport
	if err := api.call(e.ctx, "GET", fmt.Sprintf("/api/v1/loyalty/liability?days=%d", max(1, c.Days)), nil, &r); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, r)
	}
	w := e.stdout
	fmt.Fprintf(w, "Programme           %s, at %s\n", r.Programme, r.At.Format("2006-01-02 15:04"))
	fmt.Fprintf(w, "Points outstanding  %d\n", r.Outstanding)
	fmt.Fprintf(w, "Liability           %.2f %s (at %.4f %s a point)\n", r.Value, r.Currency, r.PointValue, r.Currency)
	fmt.Fprintf(w, "Members             %d (%d with points)\n", r.Members, r.MembersWithPts)
	fmt.Fprintf(w, "Last %d days        earned %d, redeemed %d, expired %d\n", r.PeriodDays, r.EarnedInPeriod, r.SpentInPeriod, r.ExpiredInPeriod)
	fmt.Fprintf(w, "Redemption rate     %.1f%%\n", 100*r.RedemptionRate)
	fmt.Fprintf(w, "Active members      %d (%.1f%%)\n", r.ActiveInPeriod, 100*r.ActiveRate)
	return nil
}
