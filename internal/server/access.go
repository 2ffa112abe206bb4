package server

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/httpapi"
)

// startAccess prunes, every hour, the console sessions that have expired
// and the audit entries past the audit log's retention.
func (s *Server) startAccess(ctx context.Context) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			if _, _, err := s.PruneAccess(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("access: prune failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// PruneAccess removes the sessions expired and the audit entries older
// than the audit retention (Options.Access.AuditRetention), and says how
// many of each.
func (s *Server) PruneAccess(ctx context.Context) (sessions, audit int64, err error) {
	now := s.opts.Clock.Now()
	if sessions, err = s.st.PruneSessions(ctx, now); err != nil {
		return 0, 0, err
	}
	keep := s.opts.Access.AuditRetention
	if keep == 0 {
		keep = httpapi.DefaultAuditRetention
	}
	if keep > 0 {
		if audit, err = s.st.PruneAudit(ctx, now.Add(-keep)); err != nil {
			return sessions, 0, err
		}
	}
	if sessions+audit > 0 {
		s.log.Info("access: pruned", "sessions", sessions, "audit_entries", audit, "audit_retention", keep)
	}
	return sessions, audit, nil
}
