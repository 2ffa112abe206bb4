package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/store"
)

type importCmd struct {
	File    string   `arg:"" help:"The file to import: NDJSON (one Segment event per line) or CSV. '-' reads standard input." type:"path"`
	Source  string   `help:"The source (id or name) the events come from, e.g. \"CRM export\"." required:""`
	Format  string   `help:"ndjson or csv; default: from the file's extension." enum:",ndjson,csv" default:""`
	Map     []string `help:"CSV: map a column to an event path, COLUMN=PATH, e.g. customer_id=userId or total=properties.total:number. Repeatable." placeholder:"COLUMN=PATH"`
	Set     []string `help:"CSV: a constant field for every row, FIELD=VALUE, e.g. type=identify or event=\"Order Completed\". Repeatable." placeholder:"FIELD=VALUE"`
	Mapping string   `help:"CSV: a YAML mapping file (set, columns, ignore); --map and --set add to it." type:"existingfile"`
	Rejects string   `help:"Where to write rejected lines with their line number and reason. Default: FILE.rejects.ndjson next to the file."`
	Batch   int      `help:"Lines committed together." default:"1000"`
}

func (c *importCmd) Run(g *config.Globals, e *env) error {
	format := c.Format
	if format == "" {
		switch strings.ToLower(filepath.Ext(c.File)) {
		case ".csv":
			format = "csv"
		case ".ndjson", ".jsonl", ".json":
			format = "ndjson"
		default:
			return fmt.Errorf("cannot tell the format of %s from its extension: add --format ndjson or --format csv", c.File)
		}
	}
	mapping := &collect.Mapping{Set: map[string]string{}, Columns: map[string]string{}}
	if c.Mapping != "" {
		m, err := collect.LoadMapping(c.Mapping)
		if err != nil {
			return err
		}
		mapping = m
		if mapping.Set == nil {
			mapping.Set = map[string]string{}
		}
		if mapping.Columns == nil {
			mapping.Columns = map[string]string{}
		}
	}
	if err := collect.ParseAssignments(c.Map, mapping.Columns); err != nil {
		return fmt.Errorf("--map %w", err)
	}
	if err := collect.ParseAssignments(c.Set, mapping.Set); err != nil {
		return fmt.Errorf("--set %w", err)
	}
	if format == "ndjson" && (len(c.Map) > 0 || len(c.Set) > 0 || c.Mapping != "") {
		return errors.New("--map, --set and --mapping apply to CSV files only")
	}

	var in io.Reader = os.Stdin
	var size int64 = -1
	if c.File != "-" {
		f, err := os.Open(c.File)
		if err != nil {
			return err
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
		in = f
	}
	rejectsPath := c.Rejects
	if rejectsPath == "" {
		rejectsPath = rejectsFile(c.File, "import")
	}

	st, err := openExisting(e.ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	src, err := st.Source(e.ctx, c.Source)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no source with id or name %q: create one with parcours sources create --name %q --channel crm", c.Source, c.Source)
	} else if err != nil {
		return err
	}
	rejects, err := os.Create(rejectsPath)
	if err != nil {
		return err
	}
	defer rejects.Close()

	bar := newImportProgress(e, g, size, "importing", "lines")
	start := time.Now()
	sum, err := collect.Import(e.ctx, bar.reader(in), collect.NewIngester(collect.Direct{Appender: st}, nil,
		// The reject file is the report; warning once per line would bury the summary.
		slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))), collect.ImportOptions{
		Source: src, Format: format, Mapping: mapping, BatchSize: c.Batch, Rejects: rejects,
		Progress: func(s collect.ImportSummary) { bar.committed("importing", s.Lines) },
	})
	bar.finish()
	if err != nil {
		return err
	}
	if err := rejects.Close(); err != nil {
		return err
	}
	if sum.Rejected+sum.Corrected == 0 {
		os.Remove(rejectsPath)
		rejectsPath = ""
	}
	elapsed := time.Since(start)
	if g.JSON {
		return printJSON(e.stdout, struct {
			collect.ImportSummary
			Rejects string  `json:"rejects_file,omitempty"`
			Seconds float64 `json:"seconds"`
		}{sum, rejectsPath, elapsed.Seconds()})
	}
	fmt.Fprintf(e.stdout, "Imported %s into source %q in %s (%.0f lines/s)\n", c.File, src.Name, elapsed.Round(time.Millisecond), float64(sum.Lines)/elapsed.Seconds())
	fmt.Fprintf(e.stdout, "  lines:       %d\n  stored:      %d\n  duplicates:  %d (already imported)\n  rejected:    %d\n  corrected:   %d\n",
		sum.Lines, sum.Stored, sum.Duplicates, sum.Rejected, sum.Corrected)
	if rejectsPath != "" {
		fmt.Fprintf(e.stdout, "  reasons, line by line: %s\n", rejectsPath)
	}
	return nil
}

// rejectsFile is where an import of file writes what it refused: the
// file's name with .rejects.ndjson added (sales.csv.rejects.ndjson), or,
// for standard input, what.rejects.ndjson in the current directory.
func rejectsFile(file, what string) string {
	if file == "-" {
		return what + ".rejects.ndjson"
	}
	return file + ".rejects.ndjson"
}
