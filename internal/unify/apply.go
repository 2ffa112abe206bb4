package unify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// graph lets the resolver see the batch's changes before they are written.
type graph struct {
	ctx context.Context
	w   *work
}

func (g graph) Holder(id identity.Identifier) (int64, error) {
	h, ok := g.w.p.holders[id]
	if !ok {
		found, err := g.w.p.st.Holders(g.ctx, []identity.Identifier{id})
		if err != nil {
			return 0, err
		}
		h = found[id]
		g.w.p.holders[id] = h
	}
	return g.w.final(h), nil
}

func (g graph) Node(id int64) (*identity.Node, error) {
	pr, err := g.w.p.profile(g.ctx, id)
	if err != nil {
		return nil, err
	}
	return &identity.Node{ID: pr.ID, Identifiers: pr.Identifiers, Merges: pr.Merges}, nil
}

// final follows the merges of this batch.
func (w *work) final(id int64) int64 {
	for id != 0 {
		next, ok := w.mergedTo[id]
		if !ok {
			return id
		}
		id = next
	}
	return 0
}

// apply resolves one event and folds it into its profile.
func (w *work) apply(ctx context.Context, e *event.Event, ids []identity.Identifier) error {
	p := w.p
	plan, err := p.o.Rules.Resolve(graph{ctx, w}, ids, e.Seq)
	if err != nil {
		return err
	}
	if plan.Profile == 0 {
		p.o.Metrics.unresolved()
		return nil
	}
	var target *profile.Profile
	if plan.Created != 0 {
		target = profile.New(plan.Created)
		p.profiles[plan.Created] = target
	} else if target, err = p.profile(ctx, plan.Profile); err != nil {
		return err
	}
	w.dirty[target.ID] = true
	for _, m := range plan.Merged {
		loser, err := p.profile(ctx, m)
		if err != nil {
			return err
		}
		target.Merge(loser)
		for _, id := range loser.Identifiers {
			p.holders[id] = target.ID
		}
		delete(p.profiles, m)
		delete(p.live, m)
		delete(w.dirty, m)
		w.mergedTo[m] = target.ID
		w.batch.Merged = append(w.batch.Merged, store.MergedProfile{ID: m, Into: target.ID})
		w.batch.Merges = append(w.batch.Merges, store.MergeRecord{
			At: e.Timestamp, EventSeq: e.Seq, Profile: target.ID, Merged: m, Identifiers: ids,
		})
		w.emitMerged(e, target.ID, m, ids)
	}
	for _, id := range plan.Linked {
		target.Identifiers = append(target.Identifiers, id)
		p.holders[id] = target.ID
		w.linked[id] = true
	}
	for _, r := range plan.Refused {
		w.batch.Refusals = append(w.batch.Refusals, store.RefusalRecord{
			At: e.Timestamp, EventSeq: e.Seq, Profile: target.ID, Identifier: r.Identifier, Holder: r.Holder, Reason: r.Reason,
		})
		p.o.Metrics.refused(r.Reason)
		level := slog.LevelDebug
		if strings.Contains(r.Reason, "cap") {
			// A profile at a cap is what a merge storm looks like.
			level = slog.LevelWarn
		}
		p.log.Log(ctx, level, "identifier not linked", "event", e.Seq, "profile", target.ID, "kind", r.Identifier.Kind, "holder", r.Holder, "reason", r.Reason)
	}
	if changed := target.Apply(e); len(changed) > 0 {
		w.emitTraits(e, target, changed)
	}
	w.batch.Timeline = append(w.batch.Timeline, store.TimelineEntry{Profile: target.ID, Seq: e.Seq, At: e.Timestamp})
	return nil
}

// finish fills the batch with the final state of what changed.
func (w *work) finish(checkpoint int64) {
	w.batch.Consumer, w.batch.Checkpoint = Consumer, checkpoint
	for id := range w.dirty {
		if pr, ok := w.p.profiles[id]; ok {
			w.batch.Profiles = append(w.batch.Profiles, pr)
		}
	}
	slices.SortFunc(w.batch.Profiles, func(a, b *profile.Profile) int { return int(a.ID - b.ID) })
	for id := range w.linked {
		w.batch.Links = append(w.batch.Links, store.Link{Identifier: id, Profile: w.final(w.p.holders[id])})
	}
	for i := range w.batch.Timeline {
		w.batch.Timeline[i].Profile = w.final(w.batch.Timeline[i].Profile)
	}
}

// Names of the internal events.
const (
	EventProfileMerged = "Profile Merged"
	EventTraitsChanged = "Traits Changed"
)

// internalEvent builds one of Parcours' own events, caused by e. Its
// message id derives from e, so that processing e again emits nothing new.
func (w *work) internalEvent(e *event.Event, name, key string, props map[string]any) {
	body, err := json.Marshal(props)
	if err != nil {
		w.p.log.Error("unify: encode internal event", "event", name, "err", err)
		return
	}
	w.emit = append(w.emit, &event.Event{
		MessageID:  "parcours-" + key + "-" + strconv.FormatInt(e.Seq, 10),
		Type:       event.Track,
		Event:      name,
		Properties: body,
		Timestamp:  e.Timestamp,
		ReceivedAt: w.p.o.Clock.Now(),
		SourceID:   SourceID,
		Channel:    profile.InternalChannel,
		// What an imported event causes is history too: journeys ignore
		// it as they ignore the import.
		Imported: e.Imported,
	})
}

func (w *work) emitMerged(e *event.Event, into, merged int64, ids []identity.Identifier) {
	w.internalEvent(e, EventProfileMerged, fmt.Sprintf("merged-%d", merged), map[string]any{
		"profileId": into, "mergedProfileId": merged, "identifiers": ids, "eventSeq": e.Seq,
	})
}

func (w *work) emitTraits(e *event.Event, p *profile.Profile, changed []string) {
	slices.Sort(changed)
	values := make(map[string]json.RawMessage, len(changed))
	for _, name := range changed {
		values[name] = p.Traits[name].Value
	}
	w.internalEvent(e, EventTraitsChanged, "traits", map[string]any{
		"profileId": p.ID, "traits": values, "eventSeq": e.Seq,
	})
}
