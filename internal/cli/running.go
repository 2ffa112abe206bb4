package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// serverFile is where serve records, in its data directory, the address
// it listens on, so that the commands run on the same data directory talk
// to it without being told where it is.
const serverFile = "server.json"

// serverInfo is what serve records about itself.
type serverInfo struct {
	URL       string    `json:"url"`      // http://127.0.0.1:8080
	PID       int       `json:"pid"`      // the serve process
	DataDir   string    `json:"data_dir"` // absolute
	PublicURL string    `json:"public_url,omitempty"`
	Version   string    `json:"version"`
	StartedAt time.Time `json:"started_at"`
}

// recordServer writes info to DATA_DIR/server.json and to the user's list
// of running servers (so that a command run on another directory can say
// where the data is). remove deletes both at a clean stop; after a crash
// they are recognised as stale: the process is gone and the data
// directory's lock is free.
func recordServer(info serverInfo) (remove func(), err error) {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(info.DataDir, serverFile)
	if err := writeAtomic(path, b); err != nil {
		return nil, fmt.Errorf("record the server's address in %s: %w", path, err)
	}
	entry := ""
	if dir, err := registryDir(); err == nil && os.MkdirAll(dir, 0o700) == nil {
		entry = filepath.Join(dir, strconv.Itoa(info.PID)+".json")
		if writeAtomic(entry, b) != nil {
			entry = "" // best effort: only used to advise
		}
	}
	return func() {
		// Only ours: another serve may have taken over the directory.
		if cur, err := readServerFile(path); err == nil && cur.PID == info.PID {
			os.Remove(path)
		}
		if entry != "" {
			os.Remove(entry)
		}
	}, nil
}

// findServer returns the serve running on dataDir, or nil when none runs
// there (no server.json, or a stale one).
func findServer(dataDir string) *serverInfo {
	info, err := readServerFile(filepath.Join(dataDir, serverFile))
	if err != nil || !info.alive() {
		return nil
	}
	return info
}

// otherServers lists the servers the user runs on other data directories
// than dataDir, and forgets the stale ones.
func otherServers(dataDir string) []serverInfo {
	abs, _ := filepath.Abs(dataDir)
	dir, err := registryDir()
	if err != nil {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var out []serverInfo
	for _, f := range files {
		info, err := readServerFile(f)
		if err != nil || !info.alive() {
			os.Remove(f)
			continue
		}
		if info.DataDir != abs {
			out = append(out, *info)
		}
	}
	slices.SortFunc(out, func(a, b serverInfo) int { return b.StartedAt.Compare(a.StartedAt) })
	return out
}

// alive reports whether the recorded serve still runs: its process exists
// and the data directory's lock is held.
func (s *serverInfo) alive() bool {
	if s.PID <= 0 {
		return false
	}
	if err := syscall.Kill(s.PID, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	return dataDirLocked(s.DataDir)
}

// dataDirLocked reports whether a process holds the data directory's lock
// (serve does for as long as it runs). It creates nothing.
func dataDirLocked(dataDir string) bool {
	f, err := os.Open(filepath.Join(dataDir, lockName))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

func readServerFile(path string) (*serverInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var info serverInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &info, nil
}

// registryDir is where the user's running servers are listed:
// ~/.cache/parcours/servers (XDG_CACHE_HOME when set).
func registryDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "parcours", "servers"), nil
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// dataDirExists reports whether dataDir holds Parcours data (the embedded
// database, or the admin key a PostgreSQL setup keeps there).
func dataDirExists(dataDir string) bool {
	for _, name := range []string{sqlite.FileName, server.AdminKeyFile} {
		if _, err := os.Stat(filepath.Join(dataDir, name)); err == nil {
			return true
		} else if !errors.Is(err, fs.ErrNotExist) {
			return true // unreadable: let the open say why
		}
	}
	return false
}

// whereIsTheData explains that dataDir holds no data, and where the
// servers the user runs keep theirs.
func whereIsTheData(dataDir string) string {
	abs, _ := filepath.Abs(dataDir)
	msg := fmt.Sprintf("no Parcours data in %s", abs)
	others := otherServers(dataDir)
	if len(others) == 0 {
		return msg + ": start `parcours serve` here first, or pass --data-dir (PARCOURS_DATA_DIR) of an existing data directory"
	}
	for _, s := range others {
		msg += fmt.Sprintf("\n  parcours serve (pid %d) runs at %s with its data in %s: pass --data-dir %s (or set PARCOURS_DATA_DIR)",
			s.PID, s.URL, s.DataDir, s.DataDir)
	}
	return msg
}
