package collect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/importfile"
	"github.com/parcours/parcours/internal/source"
)

// ImportOptions configure an import.
type ImportOptions struct {
	Source *source.Source
	// Format is "ndjson" (one Segment event per line) or "csv".
	Format string
	// Mapping turns CSV rows into events; required for CSV.
	Mapping *Mapping
	// BatchSize is how many lines are committed together; default 1,000.
	BatchSize int
	Clock     clock.Clock
	// Rejects receives one JSON line per rejected or corrected line.
	Rejects io.Writer
	// Progress is called after each batch with the totals so far.
	Progress func(ImportSummary)
}

// ImportSummary counts what an import did.
type ImportSummary struct {
	Lines      int `json:"lines"`
	Stored     int `json:"stored"`
	Duplicates int `json:"duplicates"`
	Rejected   int `json:"rejected"`
	Corrected  int `json:"corrected"`
}

// RejectLine is one line of a reject file.
type RejectLine struct {
	Line   int    `json:"line"`
	Action string `json:"action"`
	Code   string `json:"code"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
	Input  string `json:"input"`
}

// Import reads events from r and stores them through in, with the same
// validation as the HTTP API, each marked Imported: history, which never
// triggers a journey. Events without a messageId get one derived
// from their content (and, for events without a timestamp, their line
// number), so that importing the same file again stores nothing twice.
func Import(ctx context.Context, r io.Reader, in *Ingester, o ImportOptions) (ImportSummary, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	var next func() (raw []byte, line int, err error)
	switch o.Format {
	case "ndjson":
		next = ndjsonLines(r)
	case "csv":
		if o.Mapping == nil {
			o.Mapping = &Mapping{}
		}
		var err error
		if next, err = csvRows(r, o.Mapping); err != nil {
			return ImportSummary{}, err
		}
	default:
		return ImportSummary{}, fmt.Errorf("import: unknown format %q: use ndjson or csv", o.Format)
	}

	var sum ImportSummary
	var raws []json.RawMessage
	var lines []int
	var badRows []*event.Rejection
	flush := func() error {
		if len(raws) == 0 && len(badRows) == 0 {
			return nil
		}
		env := &event.Envelope{
			ReceivedAt: o.Clock.Now(), SourceID: o.Source.ID, Channel: o.Source.Channel, StoreID: o.Source.StoreID,
		}
		env.NewMessageID = func(i int, raw []byte, e *event.Event) string {
			return importMessageID(o.Source.ID, raw, e, lines[i])
		}
		events, rejects := Prepare(env, raws, "")
		// An import is history (a CRM or POS backfill): it updates
		// profiles, segments and timelines, and never triggers a journey.
		for _, e := range events {
			e.Imported = true
		}
		for _, rj := range rejects {
			rj.Index = lines[rj.Index]
		}
		rejects = append(rejects, badRows...)
		sort.SliceStable(rejects, func(i, j int) bool { return rejects[i].Index < rejects[j].Index })
		res, err := in.Submit(ctx, events, rejects)
		if err != nil {
			return err
		}
		sum.Stored += res.Stored
		sum.Duplicates += res.Duplicates
		for _, rj := range rejects {
			if rj.Action == event.Dropped {
				sum.Rejected++
			} else {
				sum.Corrected++
			}
			if o.Rejects != nil {
				b, _ := json.Marshal(RejectLine{rj.Index, rj.Action, rj.Code, rj.Field, rj.Reason, rj.Payload})
				if _, err := o.Rejects.Write(append(b, '\n')); err != nil {
					return fmt.Errorf("import: write reject file: %w", err)
				}
			}
		}
		raws, lines, badRows = raws[:0], lines[:0], nil
		if o.Progress != nil {
			o.Progress(sum)
		}
		return nil
	}
	for {
		raw, line, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		var rowErr *rowError
		switch {
		case errors.As(err, &rowErr):
			sum.Lines++
			badRows = append(badRows, &event.Rejection{
				SourceID: o.Source.ID, ReceivedAt: o.Clock.Now(), Index: line, Action: event.Dropped,
				Code: event.CodeInvalidField, Reason: rowErr.Error(), Payload: rowErr.input,
			})
		case err != nil:
			return sum, fmt.Errorf("import: line %d: %w", line, err)
		default:
			sum.Lines++
			raws = append(raws, raw)
			lines = append(lines, line)
		}
		if len(raws)+len(badRows) >= o.BatchSize {
			if err := flush(); err != nil {
				return sum, err
			}
		}
	}
	return sum, flush()
}

// importMessageID derives a stable id: from the content when the event has
// its own timestamp (the same line is the same event), and from the content
// and the line number otherwise (two identical lines may be two events).
func importMessageID(sourceID string, raw []byte, e *event.Event, line int) string {
	h := sha256.New()
	h.Write([]byte(sourceID))
	h.Write([]byte{0})
	h.Write(raw)
	if e.OriginalTimestamp.IsZero() {
		h.Write([]byte{0})
		h.Write([]byte(strconv.Itoa(line)))
	}
	return "import-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// rowError is a line that could not be turned into an event at all.
type rowError struct {
	msg   string
	input string
}

func (e *rowError) Error() string { return e.msg }

// maxImportLine bounds an NDJSON line: far above any event the API
// accepts, so that a longer line is refused alone rather than read whole.
const maxImportLine = 4 << 20

func ndjsonLines(r io.Reader) func() ([]byte, int, error) {
	lines := importfile.NewLines(r, maxImportLine)
	return func() ([]byte, int, error) {
		for {
			text, line, err := lines.Next()
			var long *importfile.LongLineError
			if errors.As(err, &long) {
				return nil, line, &rowError{msg: err.Error(), input: text[:min(len(text), 1024)]}
			}
			if err != nil {
				return nil, line, err
			}
			b := bytes.TrimSpace([]byte(text))
			if len(b) == 0 {
				continue // blank lines are not events
			}
			return b, line, nil
		}
	}
}

// csvRows reads the file with importfile.CSV: a malformed row (an
// unclosed quote) is refused alone on its own line, and the rows after it
// are read as usual.
func csvRows(r io.Reader, m *Mapping) (func() ([]byte, int, error), error) {
	cr := importfile.NewCSV(r)
	head, err := cr.Next()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("import: the CSV file is empty: it needs a header row")
	}
	if err == nil {
		err = head.Err
	}
	if err != nil {
		return nil, fmt.Errorf("import: read CSV header (line %d): %w", head.Line, err)
	}
	cols, err := m.compile(head.Fields)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return func() ([]byte, int, error) {
		rec, err := cr.Next()
		if err != nil {
			return nil, rec.Line, err
		}
		if rec.Err != nil {
			return nil, rec.Line, &rowError{msg: "CSV: " + rec.Err.Error(), input: rec.Text}
		}
		obj, err := m.row(cols, rec.Fields)
		if err != nil {
			return nil, rec.Line, &rowError{msg: err.Error(), input: csvLine(rec.Fields)}
		}
		b, err := json.Marshal(obj)
		return b, rec.Line, err
	}, nil
}

// csvLine writes rec back as a CSV line, for the reject file.
func csvLine(rec []string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(rec)
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}
