package cli

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/store"
)

type sourcesCmd struct {
	Create  sourcesCreateCmd  `cmd:"" help:"Create a source and print its write key."`
	List    sourcesListCmd    `cmd:"" help:"List sources with their write keys."`
	Disable sourcesDisableCmd `cmd:"" help:"Stop accepting a source's write key (within 5 seconds on a running server)."`
}

type sourcesCreateCmd struct {
	Name    string `help:"A name people recognise, e.g. \"Web shop\" or \"Lyon store tills\"." required:""`
	Channel string `help:"The touchpoint kind: ${touchpoints}." required:""`
	StoreID string `help:"For a pos source: the id of its physical store."`
}

func (c *sourcesCreateCmd) Run(g *config.Globals, e *env) error {
	src, err := source.New(c.Name, c.Channel, c.StoreID, time.Now())
	if err != nil {
		return err
	}
	st, err := openOrCreate(e.ctx, g, e)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CreateSource(e.ctx, src); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("a source named %q already exists (see parcours sources list)", c.Name)
		}
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, src)
	}
	fmt.Fprintf(e.stdout, "Created source %q (%s, channel %s)\n", src.Name, src.ID, src.Channel)
	fmt.Fprintf(e.stdout, "Write key: %s\n\n", src.WriteKey)
	base, note := defaultServer, " (once parcours serve runs; it listens there by default)"
	if s := findServer(g.DataDir); s != nil {
		base, note = s.URL, ""
	}
	fmt.Fprintf(e.stdout, "Send an event%s:\n  curl -u %s: %s/v1/track \\\n    -d '{\"userId\":\"u-1\",\"event\":\"Product Viewed\",\"properties\":{\"sku\":\"CHA-0001-KAK\"}}'\n", note, src.WriteKey, base)
	return nil
}

type sourcesListCmd struct{}

func (c *sourcesListCmd) Run(g *config.Globals, e *env) error {
	st, err := openExisting(e.ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.ListSources(e.ctx)
	if err != nil {
		return err
	}
	if g.JSON {
		if list == nil {
			list = []*source.Source{}
		}
		return printJSON(e.stdout, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "No sources yet. Create one: parcours sources create --name \"Web shop\" --channel web")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCHANNEL\tSTORE\tWRITE KEY\tSTATUS")
	for _, s := range list {
		status := "enabled"
		if !s.Enabled() {
			status = "disabled " + s.Disabled.Format(time.DateOnly)
		}
		storeID := s.StoreID
		if storeID == "" {
			storeID = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Name, s.Channel, storeID, s.WriteKey, status)
	}
	return tw.Flush()
}

type sourcesDisableCmd struct {
	Source string `arg:"" help:"The source's id or name."`
}

func (c *sourcesDisableCmd) Run(g *config.Globals, e *env) error {
	st, err := openExisting(e.ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	src, err := st.Source(e.ctx, c.Source)
	if err != nil {
		return fmt.Errorf("no source with id or name %q (see parcours sources list): %w", c.Source, err)
	}
	if err := st.DisableSource(e.ctx, src.ID, time.Now()); err != nil {
		return err
	}
	if src, err = st.Source(e.ctx, src.ID); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, src)
	}
	fmt.Fprintf(e.stdout, "Disabled source %q (%s): its write key is refused from now on.\n", src.Name, src.ID)
	return nil
}
