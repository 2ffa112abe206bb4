package survey

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// EventSurveyAnswered is the event of an answer, on the customer's
// timeline; Measure counts it (NPS, CSAT by store, channel, journey and
// agent).
const EventSurveyAnswered = "Survey Answered"

// The ways to answer.
const (
	ViaLink     = "link"
	ViaSMS      = "sms"
	ViaWhatsApp = "whatsapp"
)

// Why a link takes no answer: the public page says which.
var (
	// ErrBadLink is a token that does not verify (forged, altered, cut)
	// or names no send.
	ErrBadLink = &problem.Error{Kind: problem.KindNotFound, Code: "survey_link_invalid", Message: "this survey link is not valid"}
	// ErrExpired is a link past its validity.
	ErrExpired = &problem.Error{Kind: problem.KindConflict, Code: "survey_link_expired", Message: "this survey link has expired"}
)

// AlreadyAnswered is a link whose send has an answer: the first one
// stands (one answer per token).
type AlreadyAnswered struct{ Send *store.SurveySend }

func (e *AlreadyAnswered) Error() string { return "this survey was already answered" }

// Page is what the public page of a link shows.
type Page struct {
	Send     *store.SurveySend
	Question string
	Comment  string
	Language string
	Min, Max int
}

// Open reads a link's token: the page to show, or why it takes no
// answer (ErrBadLink, ErrExpired, *AlreadyAnswered).
func (s *Service) Open(ctx context.Context, token string) (*Page, error) {
	x, d, err := s.byToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if x.Score != nil {
		return nil, &AlreadyAnswered{Send: x}
	}
	lo, hi := Range(x.Type)
	return &Page{Send: x, Question: d.QuestionFor("", x.Language), Comment: d.Comment[x.Language], Language: x.Language, Min: lo, Max: hi}, nil
}

// byToken verifies a token and reads its send and survey.
func (s *Service) byToken(ctx context.Context, token string) (*store.SurveySend, *Definition, error) {
	key, expires, err := s.msg.VerifySurvey(token)
	if err != nil {
		return nil, nil, ErrBadLink
	}
	x, err := s.st.SurveySend(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrBadLink
	}
	if err != nil {
		return nil, nil, err
	}
	// The expiry signed in the token and the stored one agree unless the
	// send was made again; the earlier wins.
	if x.ExpiresAt.Before(expires) {
		expires = x.ExpiresAt
	}
	if x.Score == nil && !s.o.Clock.Now().Before(expires) {
		return nil, nil, ErrExpired
	}
	saved, err := s.Get(ctx, x.SurveyID)
	if err != nil {
		return nil, nil, fmt.Errorf("survey %s of send %s: %w", x.SurveyID, x.Key, err)
	}
	return x, saved.Definition, nil
}

// AnswerLink records the answer given on a link's page.
func (s *Service) AnswerLink(ctx context.Context, token string, score int, comment string) (*store.SurveySend, error) {
	x, d, err := s.byToken(ctx, token)
	if err != nil {
		return nil, err
	}
	return s.answer(ctx, x, d, score, comment, ViaLink, s.o.Clock.Now())
}

// maxComment bounds a comment, in bytes.
const maxComment = 2000

// answer checks and records an answer once, then announces it (the
// event, the traits, the follow-up). A send answered already returns
// *AlreadyAnswered, and announces nothing again.
func (s *Service) answer(ctx context.Context, x *store.SurveySend, d *Definition, score int, comment, via string, at time.Time) (*store.SurveySend, error) {
	lo, hi := Range(x.Type)
	if score < lo || score > hi {
		return nil, problem.Invalidf("score", "%d: want a score from %d to %d", score, lo, hi)
	}
	comment = strings.TrimSpace(comment)
	if len(comment) > maxComment {
		comment = strings.ToValidUTF8(comment[:maxComment], "")
	}
	got, answered, err := s.st.AnswerSurveySend(ctx, x.Key, store.SurveyAnswer{Score: score, Comment: comment, Via: via, At: at})
	if err != nil {
		return nil, err
	}
	if !answered {
		// The same answer again soon after (the customer pressing again
		// after an error page, a provider retrying its callback) announces
		// again: a first announcement may have failed after the answer was
		// stored. The events are keyed on the send (the log drops what it
		// has, within its dedup window) and the task on the send's key.
		if s.o.Clock.Now().Sub(got.AnsweredAt) < reannounceWithin {
			if err := s.announce(ctx, got, d); err != nil {
				return nil, err
			}
		}
		return nil, &AlreadyAnswered{Send: got}
	}
	if err := s.announce(ctx, got, d); err != nil {
		// The answer is stored: the caller answers so that it is tried
		// again (503 to a provider, an error page to a customer), and the
		// retry announces it (above).
		return got, err
	}
	return got, nil
}

// reannounceWithin is how long after an answer a repeat of it announces
// it again: well within the event log's dedup window (7 days by default).
const reannounceWithin = time.Hour

// Reannounce announces an answered send again (its events are keyed on
// the send: the log drops what it has): after a failure to announce.
func (s *Service) Reannounce(ctx context.Context, key string) error {
	x, err := s.st.SurveySend(ctx, key)
	if err != nil {
		return err
	}
	if x.Score == nil {
		return problem.Invalidf("key", "survey send %s has no answer", key)
	}
	saved, err := s.Get(ctx, x.SurveyID)
	if err != nil {
		return err
	}
	return s.announce(ctx, x, saved.Definition)
}

// IsDetractor reports whether a send's answer is a detractor's by its
// survey's threshold.
func IsDetractor(x *store.SurveySend, d *Definition) bool {
	return x.Score != nil && *x.Score <= d.Threshold()
}

// announce emits Survey Answered and the traits, and follows a
// detractor up.
func (s *Service) announce(ctx context.Context, x *store.SurveySend, d *Definition) error {
	detractor := IsDetractor(x, d)
	if s.o.Emit != nil {
		sum := sha256.Sum256([]byte(x.Key))
		id := hex.EncodeToString(sum[:12])
		props := map[string]any{"profileId": x.ProfileID, "survey_id": x.SurveyID, "survey_type": x.Type, "score": *x.Score,
			"comment": x.Comment, "via": x.AnsweredVia, "detractor": detractor, "channel": x.Channel, "store_id": x.StoreID,
			"journey_id": x.JourneyID, "agent": x.Agent, "conversation_id": x.ConversationID, "language": x.Language}
		b, _ := json.Marshal(props)
		now := s.o.Clock.Now()
		events := []*event.Event{{MessageID: "parcours-survey-" + id, Type: event.Track, Event: EventSurveyAnswered, Properties: b,
			Timestamp: x.AnsweredAt, ReceivedAt: now, SourceID: "src_parcours", Channel: profile.InternalChannel}}
		if tr, err := s.traitsEvent(ctx, x, id, now); err != nil {
			return err
		} else if tr != nil {
			events = append(events, tr)
		}
		if err := s.o.Emit.Submit(ctx, events, nil); err != nil {
			return fmt.Errorf("survey: announce the answer of %s: %w", x.Key, err)
		}
	}
	if detractor && d.FollowsUp() {
		return s.followUp(ctx, x, d)
	}
	return nil
}

// traitsEvent is the identify event that sets last_nps (or last_csat)
// and its date, at the answer's time: a later answer wins whatever the
// order they arrive in. Nil when the profile has no user or anonymous
// id to identify it by (or is gone).
func (s *Service) traitsEvent(ctx context.Context, x *store.SurveySend, id string, now time.Time) (*event.Event, error) {
	p, err := s.st.Profile(ctx, x.ProfileID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var user, anon string
	for _, i := range p.Identifiers {
		switch {
		case i.Kind == identity.UserID && user == "":
			user = i.Value
		case i.Kind == identity.AnonymousID && anon == "":
			anon = i.Value
		}
	}
	if user == "" && anon == "" {
		return nil, nil
	}
	name := "last_" + x.Type
	traits, _ := json.Marshal(map[string]any{name: *x.Score, name + "_at": x.AnsweredAt.Format(time.RFC3339)})
	return &event.Event{MessageID: "parcours-survey-traits-" + id, Type: event.Identify, UserID: user, AnonymousID: anon,
		Traits: traits, Timestamp: x.AnsweredAt, ReceivedAt: now, SourceID: "src_parcours", Channel: "server"}, nil
}

// itoa is strconv.Itoa, named for the templates of titles.
var itoa = strconv.Itoa
