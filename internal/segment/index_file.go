package segment

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// The index file is a sequence of records, each framed as its length and
// its CRC-32C (4 bytes each, little endian) then a gob-encoded idxRecord.
// A full record replaces everything before it; the others add to it. A
// record cut short or failing its checksum (a crash mid-write) ends the
// file: it is truncated there, and the events after the last good record
// are indexed again from the log.

type idxRecord struct {
	Full  bool
	Upto  int64
	Seen  []uint32
	Alias [][2]uint32
	Parts []partRecord
	Chans []string // the channel codes so far (a file written before channels were kept has none)
}

type partRecord struct {
	Name    string
	Prof    []uint32
	At      []int64
	Chan    []uint8 // the rows' channels (absent from older files: unknown)
	Cols    []colRecord
	Dropped []string
}

type colRecord struct {
	Key      string
	Start    int // the absolute row of IDs[0]
	IDs      []uint32
	DictFrom int
	Dict     []string // canonical values, from id DictFrom on
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// IndexFile is the behaviour index's file in a data directory. It is
// derived from the log: deleting it makes serve build it again at start.
func IndexFile(dataDir string) string { return filepath.Join(dataDir, "behaviour.idx") }

type indexFile struct {
	path    string
	f       *os.File
	records int
	size    int64
	upto    int64 // of the last record written
}

// OpenIndex loads the index kept at path (a new one if there is none).
func OpenIndex(path string) (*Index, error) {
	x := NewIndex()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("segment: behaviour index: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("segment: behaviour index: %w", err)
	}
	x.file = &indexFile{path: path, f: f}
	good, err := x.load(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("segment: behaviour index %s: %w", path, err)
	}
	// Drop a torn tail, and append after the last good record.
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, fmt.Errorf("segment: behaviour index: %w", err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	x.file.size, x.file.upto = good, x.upto
	return x, nil
}

// load applies the file's good records and returns where they end.
func (x *Index) load(r io.Reader) (int64, error) {
	var off int64
	var head [8]byte
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return off, nil // end, or a torn header
		}
		n := binary.LittleEndian.Uint32(head[:4])
		sum := binary.LittleEndian.Uint32(head[4:])
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil || crc32.Checksum(body, crcTable) != sum {
			return off, nil
		}
		var rec idxRecord
		if err := gob.NewDecoder(bytes.NewReader(body)).Decode(&rec); err != nil {
			return off, nil
		}
		if rec.Chans == nil {
			// Written before rows kept their channel: built again from
			// the log, like a new index, so that every row has one.
			fresh := NewIndex()
			x.parts, x.alias, x.seen, x.rows, x.upto = fresh.parts, fresh.alias, nil, 0, 0
			x.chans, x.chanCode, x.newSeen, x.newAlias = fresh.chans, fresh.chanCode, nil, nil
			x.file.records = 0
			return 0, nil
		}
		if err := x.apply(&rec); err != nil {
			return off, err
		}
		off += 8 + int64(n)
		x.file.records++
	}
}

// apply adds a record to the index.
func (x *Index) apply(rec *idxRecord) error {
	if rec.Full {
		x.parts, x.alias, x.seen, x.rows, x.upto = map[string]*part{}, map[uint32]uint32{}, nil, 0, 0
	}
	if len(rec.Chans) > len(x.chans) {
		for _, c := range rec.Chans[len(x.chans):] {
			x.chanCode[c] = uint8(len(x.chans))
			x.chans = append(x.chans, c)
		}
	}
	x.upto = max(x.upto, rec.Upto)
	for _, id := range rec.Seen {
		x.seen.set(id)
	}
	for _, a := range rec.Alias {
		x.alias[a[0]] = a[1]
	}
	for i := range rec.Parts {
		pr := &rec.Parts[i]
		p := x.parts[pr.Name]
		if p == nil {
			p = &part{cols: map[string]*column{}, dropped: map[string]bool{}}
			x.parts[pr.Name] = p
		}
		if len(pr.At) != len(pr.Prof) {
			return fmt.Errorf("event %q: %d times for %d rows", pr.Name, len(pr.At), len(pr.Prof))
		}
		p.prof = append(p.prof, pr.Prof...)
		p.at = append(p.at, pr.At...)
		if len(pr.Chan) == len(pr.Prof) {
			p.ch = append(p.ch, pr.Chan...)
		} else {
			p.ch = append(p.ch, make([]uint8, len(pr.Prof))...)
		}
		x.rows += int64(len(pr.Prof))
		for _, k := range pr.Dropped {
			p.dropped[k] = true
			delete(p.cols, k)
		}
		for j := range pr.Cols {
			cr := &pr.Cols[j]
			c := p.cols[cr.Key]
			if c == nil {
				c = &column{start: cr.Start, dict: []any{nil}, lookup: map[string]uint32{}, fdict: 1}
				p.cols[cr.Key] = c
			}
			if cr.Start != c.start+len(c.ids) || cr.DictFrom != len(c.dict) {
				return fmt.Errorf("event %q, property %q: record out of place", pr.Name, cr.Key)
			}
			c.ids = append(c.ids, cr.IDs...)
			for _, v := range cr.Dict {
				c.lookup[v] = uint32(len(c.dict))
				c.dict = append(c.dict, decanonical(v))
			}
		}
		for _, c := range p.cols {
			if c.start+len(c.ids) != len(p.prof) {
				// A column with no rows in this record: no row has it.
				c.ids = append(c.ids, make([]uint32, len(p.prof)-c.start-len(c.ids))...)
			}
			c.flushed, c.fdict = len(c.ids), len(c.dict)
		}
		p.flushed = len(p.prof)
	}
	return nil
}

// Flush writes what was added since the last flush (everything, after an
// unmerge changed rows in place or when the file has grown many records)
// and syncs the file. A memory-only index has nothing to do.
//
// The lock is held only to take what to write: rows are only ever
// appended (but by reassign, which waits for a flush to finish), so the
// rows taken can be encoded and written while batches go on being added.
// Encoding 20 million rows takes seconds; the stage does not wait for it.
func (x *Index) Flush() error {
	x.flushMu.Lock()
	defer x.flushMu.Unlock()
	x.mu.Lock()
	if x.file == nil {
		x.mu.Unlock()
		return nil
	}
	full := x.dirty || x.file.records >= 10_000
	rec, marks := x.record(full)
	x.dirty = false
	x.mu.Unlock()
	if !full && len(rec.Parts) == 0 && len(rec.Seen) == 0 && len(rec.Alias) == 0 && rec.Upto == x.file.upto {
		return nil
	}
	err := x.write(rec, full)
	x.mu.Lock()
	defer x.mu.Unlock()
	if err != nil {
		x.dirty = x.dirty || full
		return err
	}
	marks.apply(x)
	return nil
}

// write encodes rec and appends it to the file (replaces the file with it
// if full).
func (x *Index) write(rec *idxRecord, full bool) error {
	var body bytes.Buffer
	if err := gob.NewEncoder(&body).Encode(rec); err != nil {
		return fmt.Errorf("segment: behaviour index: %w", err)
	}
	frame := make([]byte, 8, 8+body.Len())
	binary.LittleEndian.PutUint32(frame[:4], uint32(body.Len()))
	binary.LittleEndian.PutUint32(frame[4:], crc32.Checksum(body.Bytes(), crcTable))
	frame = append(frame, body.Bytes()...)
	if full {
		if err := x.file.replace(frame); err != nil {
			return err
		}
	} else if err := x.file.append(frame); err != nil {
		return err
	}
	x.file.upto = rec.Upto
	return nil
}

// flushMarks are how far a record reaches: once it is written, that much
// is flushed.
type flushMarks struct {
	seen, alias int
	parts       map[*part]int
	cols        map[*column][2]int // ids, dictionary entries
}

func (m *flushMarks) apply(x *Index) {
	x.newSeen = slices.Delete(x.newSeen, 0, m.seen)
	x.newAlias = slices.Delete(x.newAlias, 0, m.alias)
	for p, n := range m.parts {
		p.flushed = n
	}
	for c, n := range m.cols {
		c.flushed, c.fdict = n[0], n[1]
	}
}

// record collects what is new (everything if full), and how far it
// reaches. Called with x.mu held.
func (x *Index) record(full bool) (*idxRecord, *flushMarks) {
	rec := &idxRecord{Full: full, Upto: x.upto, Chans: slices.Clone(x.chans)}
	marks := &flushMarks{seen: len(x.newSeen), alias: len(x.newAlias), parts: map[*part]int{}, cols: map[*column][2]int{}}
	if full {
		x.seen.each(func(id uint32) bool { rec.Seen = append(rec.Seen, id); return true })
		for m, into := range x.alias {
			rec.Alias = append(rec.Alias, [2]uint32{m, into})
		}
	} else {
		rec.Seen, rec.Alias = slices.Clone(x.newSeen), slices.Clone(x.newAlias)
	}
	names := make([]string, 0, len(x.parts))
	for n := range x.parts {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := x.parts[n]
		from, rows := p.flushed, len(p.prof)
		if full {
			from = 0
		}
		marks.parts[p] = rows
		// Full slice expressions: the record holds what is there now,
		// whatever is appended after.
		pr := partRecord{Name: n, Prof: p.prof[from:rows:rows], At: p.at[from:rows:rows], Chan: p.ch[from:rows:rows]}
		for k := range p.dropped {
			pr.Dropped = append(pr.Dropped, k)
		}
		for k, c := range p.cols {
			cf, df := c.flushed, c.fdict
			if full {
				cf, df = 0, 1
			}
			ids, dict := len(c.ids), len(c.dict)
			marks.cols[c] = [2]int{ids, dict}
			if cf == ids && df == dict {
				continue
			}
			cr := colRecord{Key: k, Start: c.start + cf, IDs: c.ids[cf:ids:ids], DictFrom: df}
			for _, v := range c.dict[df:dict] {
				s, _ := canonical(v)
				cr.Dict = append(cr.Dict, s)
			}
			pr.Cols = append(pr.Cols, cr)
		}
		if len(pr.Prof) > 0 || len(pr.Cols) > 0 || full && len(pr.Dropped) > 0 {
			rec.Parts = append(rec.Parts, pr)
		}
	}
	return rec, marks
}

// Close flushes the index and closes its file.
func (x *Index) Close() error {
	if x == nil || x.file == nil {
		return nil
	}
	err := x.Flush()
	x.flushMu.Lock()
	defer x.flushMu.Unlock()
	return errors.Join(err, x.file.f.Close())
}

func (f *indexFile) append(frame []byte) error {
	if _, err := f.f.Write(frame); err != nil {
		return fmt.Errorf("segment: behaviour index: %w", err)
	}
	if err := f.f.Sync(); err != nil {
		return fmt.Errorf("segment: behaviour index: %w", err)
	}
	f.records++
	f.size += int64(len(frame))
	return nil
}

// replace writes frame as the whole file: to a temporary file, synced,
// then renamed over the old one.
func (f *indexFile) replace(frame []byte) error {
	tmp := f.path + ".tmp"
	nf, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("segment: behaviour index: %w", err)
	}
	if _, err := nf.Write(frame); err == nil {
		err = nf.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, f.path)
	}
	if err != nil {
		nf.Close()
		os.Remove(tmp)
		return fmt.Errorf("segment: behaviour index: %w", err)
	}
	f.f.Close()
	f.f, f.records, f.size = nf, 1, int64(len(frame))
	return nil
}
