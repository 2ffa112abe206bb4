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

// checkpointer copies the WAL into the database file in the background, on
// its own connection, so that commits never wait for it. A PASSIVE
// checkpoint runs alongside the writer and the readers; when the WAL has
// been fully copied, the writer starts it over from the beginning, which
// keeps the file from growing.
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
		cancel()
		if err != nil {
			slog.Warn("sqlite: checkpoint failed", "err", err)
		}
	}
}
