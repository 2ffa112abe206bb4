package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockName is the file serve holds locked in the data directory, so that
// offline commands that rewrite derived state (replay, unmerge) know not to
// run behind its back.
const lockName = "serve.lock"

// errServing is returned when serve holds the lock.
var errServing = errors.New("parcours serve is running on this data directory")

// lockDataDir takes the data directory's lock, or returns errServing
// followed by advice on what to do instead. release frees it.
func lockDataDir(dataDir, advice string) (release func(), err error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dataDir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dataDir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", errServing, advice)
		}
		return nil, fmt.Errorf("lock %s: %w", dataDir, err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
