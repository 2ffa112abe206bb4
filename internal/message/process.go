package message

import (
	"context"

	"github.com/parcours/parcours/internal/event"
)

// ProcessConsent records the consent a batch of logged events carries, as
// the consent consumer (RunConsent) does, for a caller that runs the
// stages in step itself rather than following the log: the journey
// simulator. The batch must be behind unify; the caller saves the
// consumer's checkpoint (Consumer) after it.
func (p *Pipeline) ProcessConsent(ctx context.Context, batch []*event.Event) error {
	if len(batch) == 0 {
		return nil
	}
	return p.consentFromEvents(ctx, batch)
}
