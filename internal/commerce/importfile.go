package commerce

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ScanFile reads an import file record by record: CSV with a header row,
// a JSON array, or NDJSON (one JSON object per line). each receives the
// record's line (CSV, NDJSON) or position (JSON array, from 1), its raw
// text, and for CSV its fields by column name. An error from each stops
// the scan; a malformed record is handed over with fields nil and raw set,
// for the caller to reject.
func ScanFile(r io.Reader, format string, each func(line int, raw []byte, fields map[string]string) error) error {
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

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if errors.Is(err, io.EOF) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n', 0xEF, 0xBB, 0xBF: // spaces and a UTF-8 byte order mark
		default:
			return b[0], nil
		}
		br.ReadByte()
	}
}

func scanCSV(r io.Reader, each func(int, []byte, map[string]string) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("commerce: csv header: %w", err)
	}
	for i := range header {
		header[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff")))
	}
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line, _ := cr.FieldPos(0)
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if err := each(pe.Line, []byte(pe.Error()), nil); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		fields := make(map[string]string, len(header))
		for i, v := range row {
			if i < len(header) {
				fields[header[i]] = strings.TrimSpace(v)
			}
		}
		raw, _ := json.Marshal(fields)
		if err := each(line, raw, fields); err != nil {
			return err
		}
	}
}

func scanJSONArray(r io.Reader, each func(int, []byte, map[string]string) error) error {
	dec := json.NewDecoder(r)
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("commerce: json: %w", err)
	}
	for i := 1; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("commerce: json element %d: %w", i, err)
		}
		if err := each(i, raw, nil); err != nil {
			return err
		}
	}
	return nil
}

func scanNDJSON(r io.Reader, each func(int, []byte, map[string]string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 4<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if err := each(line, bytes.Clone(b), nil); err != nil {
			return err
		}
	}
	return sc.Err()
}

// DecodeJSON decodes one JSON record strictly: unknown fields are errors,
// so that a misspelt column is reported rather than dropped.
func DecodeJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &ValidationError{Field: "record", Reason: err.Error()}
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
	for _, d := range days {
		if r := split(f[d], "|"); len(r) > 0 {
			if l.OpeningHours == nil {
				l.OpeningHours = map[string][]string{}
			}
			l.OpeningHours[d] = r
		}
	}
	return l, l.Validate()
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

// CheckStockRow checks a stock row to import.
func CheckStockRow(l StockLevel) error {
	if l.SKU == "" || l.Location == "" {
		return invalid("sku", "sku and location_id are required")
	}
	if l.OnHand < 0 || l.Safety < 0 {
		return invalid("on_hand", "on_hand and safety must be >= 0")
	}
	return nil
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
