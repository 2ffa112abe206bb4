package cli

import (
	"fmt"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"github.com/parcours/parcours/internal/config"
)

type segmentsCmd struct {
	List    segmentsListCmd    `cmd:"" help:"List the segments with their status and size."`
	Show    segmentsShowCmd    `cmd:"" help:"Show a segment: its definition, status, size and sizes over time."`
	Members segmentsMembersCmd `cmd:"" help:"List a segment's members, or export them as CSV."`
	History segmentsHistoryCmd `cmd:"" help:"Show who entered and left a segment, and why, newest first."`
	Archive segmentsArchiveCmd `cmd:"" help:"Stop evaluating a segment; its members are removed."`
}

type segmentsListCmd struct {
	remote
	Archived bool `help:"Show archived segments too."`
}

func (c *segmentsListCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var out struct {
		Segments []segmentRow `json:"segments"`
	}
	if err := api.call(e.ctx, "GET", fmt.Sprintf("/api/v1/segments?archived=%v", c.Archived), nil, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	printSegments(e.stdout, out.Segments)
	return nil
}

type segmentRef struct {
	remote
	Segment string `arg:"" help:"The segment's id."`
}

type segmentsShowCmd struct{ segmentRef }

func (c *segmentsShowCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var seg map[string]any
	if err := api.call(e.ctx, "GET", "/api/v1/segments/"+url.PathEscape(c.Segment), nil, &seg); err != nil {
		return err
	}
	var counts map[string]any
	if err := api.call(e.ctx, "GET", "/api/v1/segments/"+url.PathEscape(c.Segment)+"/counts", nil, &counts); err != nil {
		return err
	}
	seg["counts"] = counts["counts"]
	return printJSON(e.stdout, seg)
}

type segmentsMembersCmd struct {
	segmentRef
	CSV    bool   `help:"Export every member as CSV (profile_id, since, user_id, email, phone)."`
	Output string `short:"o" help:"Write the CSV to this file instead of standard output." type:"path"`
	Limit  int    `help:"Members per page when not exporting." default:"50"`
}

func (c *segmentsMembersCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	path := "/api/v1/segments/" + url.PathEscape(c.Segment) + "/members"
	if c.CSV {
		w := e.stdout
		if c.Output != "" {
			f, err := os.Create(c.Output)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		return api.call(e.ctx, "GET", path+"?format=csv", nil, w)
	}
	var page struct {
		Members []struct {
			Profile int64     `json:"profile_id"`
			Since   time.Time `json:"since"`
		} `json:"members"`
		NextCursor string `json:"next_cursor"`
	}
	if err := api.call(e.ctx, "GET", fmt.Sprintf("%s?limit=%d", path, c.Limit), nil, &page); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, page)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tSINCE")
	for _, m := range page.Members {
		fmt.Fprintf(tw, "%d\t%s\n", m.Profile, m.Since.Format(time.RFC3339))
	}
	tw.Flush()
	if page.NextCursor != "" {
		fmt.Fprintf(e.stderr, "(first %d; --csv exports them all)\n", len(page.Members))
	}
	return nil
}

type segmentsHistoryCmd struct {
	segmentRef
	Limit int `help:"How many changes." default:"50"`
}

func (c *segmentsHistoryCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var page struct {
		Changes []struct {
			Profile int64     `json:"profile_id"`
			Entered bool      `json:"entered"`
			At      time.Time `json:"at"`
			Reason  string    `json:"reason"`
		} `json:"changes"`
	}
	if err := api.call(e.ctx, "GET", fmt.Sprintf("/api/v1/segments/%s/history?limit=%d", url.PathEscape(c.Segment), c.Limit), nil, &page); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, page)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tPROFILE\tCHANGE\tWHY")
	for _, ch := range page.Changes {
		what := "left"
		if ch.Entered {
			what = "entered"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", ch.At.Format(time.RFC3339), ch.Profile, what, ch.Reason)
	}
	return tw.Flush()
}

type segmentsArchiveCmd struct{ segmentRef }

func (c *segmentsArchiveCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	if err := api.call(e.ctx, "POST", "/api/v1/segments/"+url.PathEscape(c.Segment)+"/archive", nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Archived %s.\n", c.Segment)
	return nil
}
