package store

import (
	"context"
	"encoding/json"
	"time"
)

// Surveys keeps the survey definitions (kind: survey) and every survey
// sent, with its answer: the token of a survey link names a send by its
// Key, and a send is answered once.
type Surveys interface {
	// SaveSurvey stores a definition, a new version when it changed, and
	// sets r to the stored record. changed is false when the same
	// definition was there.
	SaveSurvey(ctx context.Context, r *SurveyRecord) (changed bool, err error)
	// Survey returns one definition, or ErrNotFound.
	Survey(ctx context.Context, id string) (*SurveyRecord, error)
	// ListSurveys returns the definitions by id.
	ListSurveys(ctx context.Context) ([]*SurveyRecord, error)
	// CreateSurveySend stores s unless a send with its Key exists, and
	// sets s to the stored send either way: created is false when the
	// key was there (a step run again after a crash).
	CreateSurveySend(ctx context.Context, s *SurveySend) (created bool, err error)
	// SetSurveySendChannel records the channel a send went out on (the
	// message pipeline picks it for "best").
	SetSurveySendChannel(ctx context.Context, key, channel string) error
	// SurveySend returns one send by its key, or ErrNotFound.
	SurveySend(ctx context.Context, key string) (*SurveySend, error)
	// AnswerSurveySend records the answer of a send that has none and
	// returns the send; answered is false (and nothing changes) when it
	// had one already. ErrNotFound when no send has the key.
	AnswerSurveySend(ctx context.Context, key string, a SurveyAnswer) (s *SurveySend, answered bool, err error)
	// PendingSurveySend returns the newest send to profile on channel
	// that has no answer and has not expired at at, or ErrNotFound.
	PendingSurveySend(ctx context.Context, profile int64, channel string, at time.Time) (*SurveySend, error)
	// ListSurveySends returns the sends q selects, newest first.
	ListSurveySends(ctx context.Context, q SurveySendQuery) ([]*SurveySend, error)
}

// SurveyRecord is a stored survey definition.
type SurveyRecord struct {
	ID         string          `json:"id"`
	Version    int             `json:"version"`
	Definition json.RawMessage `json:"definition"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// SurveySend is one survey sent to one customer, and its answer.
type SurveySend struct {
	// Key is the send's idempotency key (a journey step's send key, or
	// the caller's); the link's token signs it.
	Key       string `json:"key"`
	SurveyID  string `json:"survey_id"`
	Type      string `json:"type"` // nps or csat
	ProfileID int64  `json:"profile_id"`
	// The context the answer is measured by.
	Channel        string    `json:"channel,omitempty"`
	StoreID        string    `json:"store_id,omitempty"`
	JourneyID      string    `json:"journey_id,omitempty"`
	Agent          string    `json:"agent,omitempty"`
	ConversationID string    `json:"conversation_id,omitempty"`
	Language       string    `json:"language,omitempty"`
	SentAt         time.Time `json:"sent_at"`
	ExpiresAt      time.Time `json:"expires_at"`
	// The answer: Score is nil until answered.
	Score       *int      `json:"score,omitempty"`
	Comment     string    `json:"comment,omitempty"`
	AnsweredVia string    `json:"answered_via,omitempty"` // link, sms, whatsapp
	AnsweredAt  time.Time `json:"answered_at,omitzero"`
}

// SurveyAnswer is what a customer answered.
type SurveyAnswer struct {
	Score   int
	Comment string
	Via     string
	At      time.Time
}

// SurveySendQuery selects sends; zero fields do not filter. With both a
// survey and a profile, the profile's newest Limit sends are read, then
// those of the survey kept.
type SurveySendQuery struct {
	SurveyID  string
	ProfileID int64
	Answered  *bool
	Limit     int
}
