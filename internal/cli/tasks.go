package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/store"
)

// tasksCmd is what store staff do with the tasks journeys create for
// them (a journey's task step).
type tasksCmd struct {
	List tasksListCmd `cmd:"" help:"List the tasks of a store (open ones by default): the customer, the title, when."`
	Done tasksDoneCmd `cmd:"" help:"Mark a task done."`
}

type tasksListCmd struct {
	remote
	Store  string `help:"The store's id (default: every store)."`
	Status string `help:"open, done or all." default:"open" enum:"open,done,all"`
	Limit  int    `help:"How many tasks at most (1 to 1000)." default:"100"`
	Cursor string `help:"Where to go on from: the cursor a list longer than --limit printed."`
}

func (c *tasksListCmd) Help() string {
	return `Tasks come from journeys' task steps, e.g. "a gold member is near the store": each holds the
customer's profile id, their cart, their last events, lifetime value and segments (see them with
--json or GET /api/v1/tasks/{id}).

  parcours tasks list --store lyon-bellecour
  parcours tasks done 12`
}

func (c *tasksListCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	q := url.Values{"limit": {fmt.Sprint(c.Limit)}}
	if c.Cursor != "" {
		q.Set("cursor", c.Cursor)
	}
	if c.Store != "" {
		q.Set("store_id", c.Store)
	}
	if c.Status != "all" {
		q.Set("status", c.Status)
	}
	var out struct {
		Tasks      []*store.Task `json:"tasks"`
		NextCursor string        `json:"next_cursor,omitempty"`
	}
	if err := api.call(e.ctx, "GET", "/api/v1/tasks?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	printTasks(e.stdout, out.Tasks)
	if out.NextCursor != "" {
		// Without it a store with more open tasks than --limit would
		// look as if it had no more.
		fmt.Fprintf(e.stdout, "More tasks: parcours tasks list%s --cursor %s\n", c.again(), out.NextCursor)
	}
	return nil
}

// again is the flags of this list, to ask for its next page.
func (c *tasksListCmd) again() string {
	var b strings.Builder
	if c.Store != "" {
		fmt.Fprintf(&b, " --store %s", c.Store)
	}
	if c.Status != "open" {
		fmt.Fprintf(&b, " --status %s", c.Status)
	}
	if c.Limit != 100 {
		fmt.Fprintf(&b, " --limit %d", c.Limit)
	}
	return b.String()
}

func printTasks(w io.Writer, tasks []*store.Task) {
	if len(tasks) == 0 {
		fmt.Fprintln(w, "No tasks.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTORE\tSTATUS\tPROFILE\tCREATED\tTITLE")
	for _, t := range tasks {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", t.ID, t.StoreID, t.Status, t.ProfileID, t.CreatedAt.Format("2006-01-02 15:04"),
			strings.ReplaceAll(t.Title, "\t", " "))
	}
	tw.Flush()
}

type tasksDoneCmd struct {
	remote
	ID int64 `arg:"" help:"The task's id."`
}

func (c *tasksDoneCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var t store.Task
	if err := api.call(e.ctx, "POST", fmt.Sprintf("/api/v1/tasks/%d/done", c.ID), nil, &t); err != nil {
		if ae := (*apiError)(nil); errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return fmt.Errorf("%w: see the tasks and their ids with parcours tasks list --store STORE (--status all for done ones)", err)
		}
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, t)
	}
	fmt.Fprintf(e.stdout, "task %d is %s\n", t.ID, t.Status)
	return nil
}
