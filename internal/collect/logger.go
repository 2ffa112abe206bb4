package collect

import (
	"log/slog"
	"sync"
	"time"
)

// limitedLogger logs at most perSecond lines a second and reports how many
// it left out, so that a client sending garbage cannot flood the logs.
type limitedLogger struct {
	log       *slog.Logger
	perSecond int

	mu         sync.Mutex
	window     time.Time
	n          int
	suppressed int
}

func newLimitedLogger(log *slog.Logger, perSecond int) *limitedLogger {
	return &limitedLogger{log: log, perSecond: perSecond}
}

func (l *limitedLogger) Warn(msg string, args ...any) {
	now := time.Now()
	l.mu.Lock()
	if now.Sub(l.window) >= time.Second {
		if l.suppressed > 0 {
			l.log.Warn("log lines suppressed", "count", l.suppressed, "reason", "more than the per-second limit")
		}
		l.window, l.n, l.suppressed = now, 0, 0
	}
	ok := l.n < l.perSecond
	if ok {
		l.n++
	} else {
		l.suppressed++
	}
	l.mu.Unlock()
	if ok {
		l.log.Warn(msg, args...)
	}
}
