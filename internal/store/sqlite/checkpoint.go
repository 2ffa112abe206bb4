package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"net/url"
	"time"
)

// checkpointEvery is how often the WAL is copied back into the database.
const checkpointEvery = 200 * time.Millisecond

// maxWALFrames is the WAL size (in pages: 64 MB of 16 KB pages) past which
// the writer stops to restart the WAL.
const maxWALFrames = 4096

// checkpointer copies the WAL into the database file in the background, on
// its own connection, so that commits rarely wait for it. A PASSIVE
// checkpoint runs alongside the writer and the readers. But the WAL only
// starts over from the beginning once a checkpoint has caught up with it,
// which a writer that never pauses prevents: under sustained appends the
// file would grow without bound (a 13M-event import grew it to 23 GB). So
// when it passes maxWALFrames, a RESTART checkpoint runs on the writer
// connection itself: appends wait for it (the PASSIVE ones did most of the
// copying), and the next append starts the WAL over.
func (s *Store) checkpointer(params url.Values, stopped chan<- struct{}) {
	defer close(stopped)
	db, err := sql.Open("sqlite", "file:"+s.path+"?"+params.Encode())
	if err != nil {
		slog.Error("sqlite: checkpointer: open", "err", err)
		return
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var busy, logPages, done int
		err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &done)
		if err == nil && logPages > maxWALFrames {
			err = s.w.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &logPages, &done)
		}
		cancel()
		if err != nil {
			slog.Warn("sqlite: checkpoint failed", "err", err)
		}
	}
}
