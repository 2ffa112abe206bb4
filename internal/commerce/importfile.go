package commerce

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/parcours/parcours/internal/importfile"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/problem"
)

// Record is one record of an import file, as ScanFile hands it over.
type Record struct {
	// Line is where the record starts in the file, from 1.
	Line int
	// Raw is the record's text: a JSON value, or for CSV its fields as a
	// JSON object (the text as written when it is malformed).
	Raw []byte
	// Fields are a CSV record's values by column name (lower case).
	Fields map[string]string
	// Err says why the record could not be read at all (a malformed CSV
	// record, a JSON syntax error, an overlong line): the caller rejects
	// it, and the scan goes on after it.
	Err error
}

// maxJSONLine bounds an NDJSON record.
const maxJSONLine = 4 << 20

// ScanFile reads an import file record by record: CSV with a header row,
// a JSON array, or NDJSON (one JSON object per line), and calls each with
// every record, good or malformed, and its line. A malformed record costs
// only itself (in a JSON array, whose syntax cannot be resumed after an
// error, it ends the file). An error from each stops the scan; ScanFile's
// own errors are reading errors.
func ScanFile(r io.Reader, format string, each func(Record) error) error {
	switch format {
	case "csv":
		return scanCSV(r, each)
	case "json", "ndjson":
		br := bufio.NewReaderSize(r, 1<<16)
		first, err := peekNonSpace(br)
		if err != nil {
			return err
		}
		if first == '[' {
			return scanJSONArray(br, each)
		}
		return scanNDJSON(br, each)
	}
	return fmt.Errorf("commerce: unknown import format %q: use csv, json or ndjson", format)
}

// peekNonSpace skips a UTF-8 byte order mark and returns the first byte
// that is not a space, leaving it and the spaces before it unread (so
// that line numbers count them).
func peekNonSpace(br *bufio.Reader) (byte, error) {
	if b, _ := br.Peek(3); string(b) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	for i := 1; i <= br.Size(); i++ {
		b, err := br.Peek(i)
		if len(b) < i {
			if errors.Is(err, io.EOF) {
				return 0, nil
			}
			return 0, err
		}
		if c := b[i-1]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return c, nil
		}
	}
	return 0, nil
}

func scanCSV(r io.Reader, each func(Record) error) error {
	cr := importfile.NewCSV(r)
	var header []string
	for header == nil {
		rec, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("commerce: csv: %w", err)
		}
		if rec.Err != nil {
			return fmt.Errorf("commerce: csv header (line %d): %w", rec.Line, rec.Err)
		}
		header = rec.Fields
	}
	for i := range header {
		header[i] = strings.ToLower(strings.TrimSpace(header[i]))
	}
	for {
		rec, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("commerce: csv: %w", err)
		}
		out := Record{Line: rec.Line}
		if rec.Err != nil {
			out.Raw, out.Err = []byte(rec.Text), problem.Invalid("record", "malformed CSV: "+rec.Err.Error())
		} else {
			out.Fields = make(map[string]string, len(header))
			for i, v := range rec.Fields {
				if i < len(header) {
					out.Fields[header[i]] = strings.TrimSpace(v)
				}
			}
			out.Raw, _ = json.Marshal(out.Fields)
		}
		if err := each(out); err != nil {
			return err
		}
	}
}

// scanJSONArray hands over the elements of an array. The line of each is
// found by counting the line feeds the decoder has read up to it.
func scanJSONArray(r io.Reader, each func(Record) error) error {
	lc := &lineCounter{r: r, line: 1}
	dec := json.NewDecoder(lc)
	if _, err := dec.Token(); err != nil {
		return each(Record{Line: 1, Raw: []byte("["), Err: problem.Invalid("record", "malformed JSON: "+err.Error())})
	}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			// The decoder cannot resume after a syntax error: the rest of
			// the file is one rejected record.
			at := dec.InputOffset()
			var se *json.SyntaxError
			if errors.As(err, &se) {
				at = se.Offset
			}
			return each(Record{Line: lc.lineAt(at), Raw: []byte(err.Error()),
				Err: problem.Invalid("record", "malformed JSON, the rest of the file is not read: "+err.Error())})
		}
		if err := each(Record{Line: lc.lineAt(dec.InputOffset() - int64(len(raw))), Raw: raw}); err != nil {
			return err
		}
	}
	return nil
}

// lineCounter remembers where the line feeds it reads are, so that the
// line of an offset the decoder reached can be told. Offsets asked for
// only grow, so the positions before them are dropped.
type lineCounter struct {
	r    io.Reader
	read int64
	nl   []int64 // offsets of line feeds read and not yet passed
	line int
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			c.nl = append(c.nl, c.read+int64(i))
		}
	}
	c.read += int64(n)
	return n, err
}

func (c *lineCounter) lineAt(off int64) int {
	i := 0
	for i < len(c.nl) && c.nl[i] < off {
		i++
	}
	c.line += i
	c.nl = c.nl[i:]
	return c.line
}

func scanNDJSON(r io.Reader, each func(Record) error) error {
	lines := importfile.NewLines(r, maxJSONLine)
	for {
		text, line, err := lines.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var long *importfile.LongLineError
		if errors.As(err, &long) {
			if err := each(Record{Line: line, Raw: []byte(text[:min(len(text), 1024)]), Err: problem.Invalid("record", err.Error())}); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		b := bytes.TrimSpace([]byte(text))
		if len(b) == 0 {
			continue
		}
		if err := each(Record{Line: line, Raw: b}); err != nil {
			return err
		}
	}
}

// DecodeJSON decodes one JSON record strictly: unknown fields are errors,
// so that a misspelt column is reported rather than dropped.
func DecodeJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem.Invalid("record", err.Error())
	}
	return nil
}

// ProductFromCSV reads one CSV row: one variant of a product. Columns:
// product_id, name, description, brand, categories ("Shoes > Trail"), media
// and variant_media ("|"-separated URLs), sku, variant_name, price,
// currency; "attr:NAME" columns are variant attributes, "product_attr:NAME"
// product attributes. Rows of the same product_id are one product.
func ProductFromCSV(f map[string]string) (*Product, error) {
	price, err := strconv.ParseFloat(f["price"], 64)
	if err != nil {
		return nil, invalid("price", "%q is not a number", f["price"])
	}
	p := &Product{ID: f["product_id"], Name: f["name"], Description: f["description"], Brand: f["brand"],
		Categories: split(f["categories"], ">"), Media: split(f["media"], "|")}
	v := Variant{SKU: f["sku"], Name: f["variant_name"], Price: price, Currency: f["currency"], Media: split(f["variant_media"], "|")}
	for k, val := range f {
		if name, ok := strings.CutPrefix(k, "attr:"); ok && val != "" {
			if v.Attributes == nil {
				v.Attributes = map[string]string{}
			}
			v.Attributes[name] = val
		} else if name, ok := strings.CutPrefix(k, "product_attr:"); ok && val != "" {
			if p.Attributes == nil {
				p.Attributes = map[string]string{}
			}
			p.Attributes[name] = val
		}
	}
	p.Variants = []Variant{v}
	return p, p.Validate()
}

// LocationFromCSV reads one CSV row. Columns: id, name, kind, line1,
// line2, postal_code, city, country, lat, lon, time_zone, capabilities
// ("|"-separated), and mon … sun with "|"-separated ranges
// ("10:00-13:00|14:00-19:00").
func LocationFromCSV(f map[string]string) (*Location, error) {
	lat, err1 := strconv.ParseFloat(f["lat"], 64)
	lon, err2 := strconv.ParseFloat(f["lon"], 64)
	if err1 != nil || err2 != nil {
		return nil, invalid("lat", "lat and lon must be decimal degrees, not %q, %q", f["lat"], f["lon"])
	}
	l := &Location{ID: f["id"], Name: f["name"], Kind: f["kind"], Lat: lat, Lon: lon, TimeZone: f["time_zone"],
		Address:      Address{Line1: f["line1"], Line2: f["line2"], PostalCode: f["postal_code"], City: f["city"], Country: f["country"]},
		Capabilities: split(f["capabilities"], "|")}
	for _, d := range place.Days {
		if r := split(f[d], "|"); len(r) > 0 {
			if l.OpeningHours == nil {
				l.OpeningHours = map[string][]string{}
			}
			l.OpeningHours[d] = r
		}
	}
	return l, ValidateLocation(l)
}

// StockFromCSV reads one CSV row: sku, location_id, on_hand, safety.
func StockFromCSV(f map[string]string) (StockLevel, error) {
	onHand, err := strconv.ParseInt(f["on_hand"], 10, 64)
	if err != nil {
		return StockLevel{}, invalid("on_hand", "%q is not a whole number", f["on_hand"])
	}
	var safety int64
	if f["safety"] != "" {
		if safety, err = strconv.ParseInt(f["safety"], 10, 64); err != nil {
			return StockLevel{}, invalid("safety", "%q is not a whole number", f["safety"])
		}
	}
	l := StockLevel{SKU: f["sku"], Location: f["location_id"], OnHand: onHand, Safety: safety}
	return l, CheckStockRow(l)
}

// CheckStockRow checks a stock row to import, by itself; whether its SKU
// and location exist is CheckStockRefs'.
func CheckStockRow(l StockLevel) error {
	return firstOf(checkID("sku", l.SKU), checkID("location_id", l.Location),
		CheckQuantity("on_hand", l.OnHand, 0), CheckQuantity("safety", l.Safety, 0))
}

func split(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
