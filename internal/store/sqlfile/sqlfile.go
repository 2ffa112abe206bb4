// Package sqlfile loads named SQL queries and numbered migrations from
// embedded .sql files, so that SQL lives in SQL files and not in Go strings.
//
// A query file holds blocks that each start with a name line:
//
//	-- name: insert-event
//	INSERT INTO events (...) VALUES (...);
//
// Migrations are files named NNNN_description.sql, applied in order.
package sqlfile

import (
	"bufio"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Queries maps query names to their SQL.
type Queries map[string]string

// Get returns the named query, and panics if it does not exist: a missing
// query is a programming error that the tests catch.
func (q Queries) Get(name string) string {
	s, ok := q[name]
	if !ok {
		panic("sqlfile: no query named " + strconv.Quote(name))
	}
	return s
}

// LoadQueries reads every query block of the named file.
func LoadQueries(fsys fs.FS, name string) (Queries, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("sqlfile: %w", err)
	}
	defer f.Close()
	q := Queries{}
	var cur string
	var b strings.Builder
	flush := func() {
		if cur != "" {
			q[cur] = strings.TrimSpace(b.String())
		}
		b.Reset()
	}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if n, ok := strings.CutPrefix(strings.TrimSpace(text), "-- name:"); ok {
			flush()
			cur = strings.TrimSpace(n)
			if _, dup := q[cur]; dup || cur == "" {
				return nil, fmt.Errorf("sqlfile: %s:%d: empty or duplicate query name %q", name, line, cur)
			}
			continue
		}
		b.WriteString(text)
		b.WriteByte('\n')
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sqlfile: read %s: %w", name, err)
	}
	return q, nil
}

// LoadAllQueries reads every top-level .sql file of fsys (each part keeps
// its queries in a file of its own: queries.sql, segments.sql, ...). A name
// defined twice, in one file or across files, is an error.
func LoadAllQueries(fsys fs.FS) (Queries, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("sqlfile: %w", err)
	}
	all := Queries{}
	for _, n := range names {
		q, err := LoadQueries(fsys, n)
		if err != nil {
			return nil, err
		}
		for k, v := range q {
			if _, dup := all[k]; dup {
				return nil, fmt.Errorf("sqlfile: query %q is defined in %s and in another file", k, n)
			}
			all[k] = v
		}
	}
	return all, nil
}

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads the migrations in dir, ordered by version.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlfile: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("sqlfile: migration %s: name must start with a number and an underscore", e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("sqlfile: %w", err)
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("sqlfile: migrations %s and %s share version %d", out[i-1].Name, out[i].Name, out[i].Version)
		}
	}
	return out, nil
}
