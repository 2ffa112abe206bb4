package recommend

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// snapshotVersion changes when the snapshot's layout or the meaning of
// its numbers (weights, epoch) does: an older file is ignored and the
// model learned from the log again.
const snapshotVersion = 1

// snapshot is what a model file holds: the counts, not the browsing
// sessions (they hold visitors' ids and last 30 minutes: a restart
// starts new sessions) nor any customer's data.
type snapshot struct {
	Version  int
	HalfLife time.Duration
	Last     int64
	Events   int64
	Latest   time.Time
	Items    []Item
	Occ      []float64
	Nbrs     [][]slot
	Bought   []float64
	ByStore  map[string]map[int32]float64
	ByRegion map[string]map[int32]float64
	CatPair  map[[2]string]float64
	Defs     map[string]Definition
}

// WriteFile saves the model to file atomically (a temporary file renamed
// over it): a crash leaves the previous snapshot whole.
func (m *Model) WriteFile(file string) error {
	m.mu.RLock()
	s := snapshot{Version: snapshotVersion, HalfLife: m.o.HalfLife, Last: m.last, Events: m.events, Latest: m.latest,
		Items: m.items, Occ: m.occ, Nbrs: m.nbrs, Bought: m.bought, ByStore: m.byStore, ByRegion: m.byRegion,
		CatPair: m.catPair, Defs: m.defs}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".recommend-*")
	if err == nil {
		err = gob.NewEncoder(tmp).Encode(&s)
	}
	m.mu.RUnlock()
	if err != nil {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
		return fmt.Errorf("recommend: save the model to %s: %w", file, err)
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("recommend: save the model to %s: %w", file, err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("recommend: save the model to %s: %w", file, err)
	}
	return nil
}

// ReadFile loads a model saved by WriteFile into m (which must be new).
// It reports false, without error, when there is no file, or one of
// another layout or half-life: the model is then learned from the log.
func (m *Model) ReadFile(file string) (bool, error) {
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recommend: read the model %s: %w", file, err)
	}
	defer f.Close()
	return m.read(f)
}

func (m *Model) read(r io.Reader) (bool, error) {
	var s snapshot
	if err := gob.NewDecoder(r).Decode(&s); err != nil {
		return false, fmt.Errorf("recommend: read the model: %w (delete the file: the model is learned from the log again)", err)
	}
	if s.Version != snapshotVersion || s.HalfLife != m.o.HalfLife || len(s.Occ) != len(s.Items) ||
		len(s.Nbrs) != len(s.Items) || len(s.Bought) != len(s.Items) {
		return false, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items, m.occ, m.nbrs, m.bought = s.Items, s.Occ, s.Nbrs, s.Bought
	m.ids = make(map[string]int32, len(s.Items))
	for i, it := range s.Items {
		m.ids[it.ID] = int32(i)
	}
	m.byStore, m.byRegion, m.catPair, m.defs = orEmpty(s.ByStore), orEmpty(s.ByRegion), s.CatPair, s.Defs
	if m.catPair == nil {
		m.catPair = map[[2]string]float64{}
	}
	m.last, m.events, m.latest = s.Last, s.Events, s.Latest
	m.version++
	return true, nil
}

func orEmpty(m map[string]map[int32]float64) map[string]map[int32]float64 {
	if m == nil {
		return map[string]map[int32]float64{}
	}
	return m
}
