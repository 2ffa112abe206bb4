package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

type catalogCmd struct {
	Import catalogImportCmd `cmd:"" help:"Import products and their variants (SKUs) from CSV (one row per variant) or JSON (one product per element or line)."`
}

type locationsCmd struct {
	Import locationsImportCmd `cmd:"" help:"Import stores and warehouses from CSV or JSON."`
}

type stockCmd struct {
	Import stockImportCmd `cmd:"" help:"Set stock per (SKU, location) from CSV (sku,location_id,on_hand,safety) or JSON; reservations are kept."`
}

// importFlags are what the three commerce imports share.
type importFlags struct {
	File    string `arg:"" help:"The file: .csv, .json (an array) or .ndjson/.jsonl. '-' reads standard input (give --format)." type:"path"`
	Format  string `help:"csv, json or ndjson; default: from the file's extension." enum:",csv,json,ndjson" default:""`
	Rejects string `help:"Where to write rejected records with their line and reason. Default: FILE.rejects.ndjson next to the file."`
	Batch   int    `help:"Records written per transaction." default:"1000"`
}

type catalogImportCmd struct{ importFlags }

type locationsImportCmd struct{ importFlags }

type stockImportCmd struct {
	importFlags
	NoEvents bool `help:"Do not log Back In Stock and Low Stock events (a first load, which is no news to customers)."`
}

// importRun is one import: the file, its rejects, its progress.
type importRun struct {
	f       *importFlags
	g       *config.Globals
	e       *env
	st      store.Store
	svc     *commerce.Service
	rejects *json.Encoder
	count   struct{ Records, Stored, Rejected int }
}

func (r *importRun) reject(line int, raw []byte, err error) {
	r.count.Rejected++
	rec := json.RawMessage(raw)
	if !json.Valid(raw) {
		b, _ := json.Marshal(string(raw))
		rec = b
	}
	r.rejects.Encode(map[string]any{"line": line, "reason": err.Error(), "record": rec})
}

// run opens everything, scans the file with each, and prints the summary.
// flush writes what each buffered; it is called every Batch records, and
// at the end with final set.
func (f *importFlags) run(g *config.Globals, e *env, what string, sink bool,
	each func(r *importRun, line int, raw []byte, fields map[string]string) error, flush func(r *importRun, final bool) error) error {
	format := f.Format
	if format == "" {
		switch strings.ToLower(filepath.Ext(f.File)) {
		case ".csv":
			format = "csv"
		case ".json":
			format = "json"
		case ".ndjson", ".jsonl":
			format = "ndjson"
		default:
			return fmt.Errorf("cannot tell the format of %s from its extension: add --format csv, json or ndjson", f.File)
		}
	}
	var in io.Reader = os.Stdin
	var size int64 = -1
	if f.File != "-" {
		file, err := os.Open(f.File)
		if err != nil {
			return err
		}
		defer file.Close()
		if fi, err := file.Stat(); err == nil {
			size = fi.Size()
		}
		in = file
	}
	rejectsPath := f.Rejects
	if rejectsPath == "" {
		rejectsPath = rejectsFile(f.File, what)
	}
	st, err := openOrCreate(e.ctx, g, e)
	if err != nil {
		return err
	}
	defer st.Close()
	rf, err := os.Create(rejectsPath)
	if err != nil {
		return err
	}
	defer rf.Close()
	o := commerce.Options{Clock: clock.System{}, Logger: e.log}
	if sink {
		o.Sink = collect.Direct{Appender: st}
	}
	r := &importRun{f: f, g: g, e: e, st: st, svc: commerce.New(st, o), rejects: json.NewEncoder(rf)}
	bar := newImportProgress(e, g, size, "importing "+what, "records")
	start := time.Now()
	batch := max(1, f.Batch)
	pending := 0
	err = commerce.ScanFile(bar.reader(in), format, func(rec commerce.Record) error {
		if err := e.ctx.Err(); err != nil {
			return err
		}
		r.count.Records++
		if rec.Err != nil {
			r.reject(rec.Line, rec.Raw, rec.Err)
			return nil
		}
		if err := each(r, rec.Line, rec.Raw, rec.Fields); err != nil {
			return err
		}
		if pending++; pending >= batch {
			pending = 0
			err := flush(r, false)
			bar.committed("importing "+what, r.count.Records)
			return err
		}
		return nil
	})
	if err == nil {
		err = flush(r, true)
	}
	if err == nil && sink {
		// The import's events wait in the outbox; log them now rather than
		// at the next serve's first relay pass.
		_, err = r.svc.Deliver(e.ctx)
	}
	bar.finish()
	if err != nil {
		return err
	}
	if err := rf.Close(); err != nil {
		return err
	}
	if r.count.Rejected == 0 {
		os.Remove(rejectsPath)
		rejectsPath = ""
	}
	elapsed := time.Since(start)
	if g.JSON {
		return printJSON(e.stdout, map[string]any{"records": r.count.Records, "stored": r.count.Stored, "rejected": r.count.Rejected,
			"rejects_file": rejectsPath, "seconds": elapsed.Seconds()})
	}
	fmt.Fprintf(e.stdout, "Imported %s from %s in %s\n  records:  %d\n  stored:   %d\n  rejected: %d\n",
		what, f.File, elapsed.Round(time.Millisecond), r.count.Records, r.count.Stored, r.count.Rejected)
	if rejectsPath != "" {
		fmt.Fprintf(e.stdout, "  reasons, record by record: %s\n", rejectsPath)
	}
	return nil
}

// flushEach writes items with write; if the batch fails on a record's own
// fault (a validation or stock error), each is retried alone so that only
// the faulty ones are rejected.
func flushEach[T any](ctx context.Context, r *importRun, items []T, lines []int, raws [][]byte, write func([]T) error) error {
	if len(items) == 0 {
		return nil
	}
	err := write(items)
	if err == nil {
		r.count.Stored += len(items)
		return nil
	}
	if !recordFault(err) {
		return err
	}
	for i := range items {
		if err := write(items[i : i+1]); err != nil {
			if !recordFault(err) {
				return err
			}
			r.reject(lines[i], raws[i], err)
			continue
		}
		r.count.Stored++
	}
	return ctx.Err()
}

func recordFault(err error) bool {
	var ve *problem.ValidationError
	var ce *commerce.StockConstraintError
	return errors.As(err, &ve) || errors.As(err, &ce)
}

// buffer collects records between flushes.
type buffer[T any] struct {
	items []T
	lines []int
	raws  [][]byte
}

func (b *buffer[T]) add(v T, line int, raw []byte) {
	b.items, b.lines, b.raws = append(b.items, v), append(b.lines, line), append(b.raws, raw)
}

func (b *buffer[T]) flush(ctx context.Context, r *importRun, write func([]T) error) error {
	err := flushEach(ctx, r, b.items, b.lines, b.raws, write)
	b.items, b.lines, b.raws = b.items[:0], b.lines[:0], b.raws[:0]
	return err
}
