package message

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/unify"
)

// Consumer is the name of the pipeline's event log consumer.
const Consumer = "message"

// RunConsent follows the event log and records the consent that identify
// traits carry (email_opt_in, smsOptIn, ...: channel.ByOptInTrait) in the
// ledger, until ctx ends. It stays behind unify, whose profiles it
// needs; each change's ledger key derives from the event, so a batch
// handled again after a crash adds nothing.
func (p *Pipeline) RunConsent(ctx context.Context, n *eventlog.Notifier) error {
	c := &eventlog.Consumer{Name: Consumer, Log: eventlog.Behind{Log: p.st, Behind: []string{unify.Consumer}, Passed: n}, Checkpoints: p.st, Notifier: n, BatchSize: 1000, Poll: time.Second, Yield: p.o.Yield, Done: p.o.OnConsentBatch}
	return c.Run(ctx, func(ctx context.Context, batch []*event.Event) error {
		return p.consentBehind(ctx, batch, n)
	})
}

func (p *Pipeline) consentFromEvents(ctx context.Context, batch []*event.Event) error {
	return p.consentBehind(ctx, batch, nil)
}

// consentBehind records the consent of batch once unify has handled it:
// unifyDone (published only after unify's checkpoint commits), if it is
// that far, says so without asking the store.
func (p *Pipeline) consentBehind(ctx context.Context, batch []*event.Event, unifyDone *eventlog.Notifier) error {
	last := batch[len(batch)-1].Seq
	for unifyDone == nil || unifyDone.Last() < last {
		done, err := p.st.Checkpoint(ctx, unify.Consumer)
		if err != nil {
			return err
		}
		if done >= last {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	var recs []*store.ConsentRecord
	for _, e := range batch {
		if e.Type != event.Identify || len(e.Traits) == 0 || !mentionsOptIn(e.Traits) {
			continue
		}
		if err := p.consentFromEvent(ctx, e, &recs); err != nil {
			return fmt.Errorf("message: consent from event %d: %w", e.Seq, err)
		}
	}
	// One transaction for the batch's changes, then one announcement.
	if _, err := p.st.RecordConsents(ctx, recs); err != nil {
		return fmt.Errorf("message: record consent: %w", err)
	}
	p.announceConsent(ctx, recs)
	return nil
}

func mentionsOptIn(traits json.RawMessage) bool { return channel.MentionsOptIn(string(traits)) }

func (p *Pipeline) consentFromEvent(ctx context.Context, e *event.Event, recs *[]*store.ConsentRecord) error {
	var traits map[string]json.RawMessage
	if json.Unmarshal(e.Traits, &traits) != nil {
		return nil
	}
	profileID, err := p.eventProfile(ctx, e)
	if err != nil || profileID == 0 {
		return err
	}
	var ctxFields struct {
		IP        string `json:"ip"`
		UserAgent string `json:"userAgent"`
	}
	_ = json.Unmarshal(e.Context, &ctxFields)
	for name, raw := range traits {
		ch, ok := channel.ByOptInTrait(name)
		if !ok {
			continue
		}
		granted, ok := boolValue(raw)
		if !ok {
			continue
		}
		proof := map[string]any{"messageId": e.MessageID, "sourceId": e.SourceID, "trait": name, "value": json.RawMessage(raw)}
		if ctxFields.IP != "" {
			proof["ip"] = ctxFields.IP
		}
		if ctxFields.UserAgent != "" {
			proof["userAgent"] = ctxFields.UserAgent
		}
		rec, err := p.consentRecord(ConsentChange{ProfileID: profileID, Channel: ch, Granted: granted,
			Source: "identify:" + e.SourceID, At: e.Timestamp, Proof: proof,
			Key: "event:" + strconv.FormatInt(e.Seq, 10) + ":" + string(ch)})
		if err != nil {
			return err
		}
		*recs = append(*recs, rec)
	}
	return nil
}

// eventProfile returns the profile unify attached the event to (0: none).
func (p *Pipeline) eventProfile(ctx context.Context, e *event.Event) (int64, error) {
	owners, _, err := unify.Owners(ctx, p.st, p.o.Rules, []*event.Event{e})
	if err != nil {
		return 0, err
	}
	return owners[0], nil
}

// boolValue reads true/false, "yes"/"no", "true"/"false", 1/0.
func boolValue(raw json.RawMessage) (bool, bool) {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false, false
	}
	switch v := v.(type) {
	case bool:
		return v, true
	case float64:
		return v != 0, true
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "yes", "oui", "1", "y":
			return true, true
		case "false", "no", "non", "0", "n":
			return false, true
		}
	}
	return false, false
}
