package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// SaveSurvey stores a survey definition, a new version when it changed.
func (s *Store) SaveSurvey(ctx context.Context, r *store.SurveyRecord) (bool, error) {
	res, err := s.w.ExecContext(ctx, queries.Get("upsert-survey"), r.ID, string(r.Definition), micros(r.UpdatedAt))
	if err != nil {
		return false, fmt.Errorf("sqlite: save survey %s: %w", r.ID, err)
	}
	n, _ := res.RowsAffected()
	got, err := scanSurvey(s.w.QueryRowContext(ctx, queries.Get("survey"), r.ID))
	if err != nil {
		return false, fmt.Errorf("sqlite: save survey %s: %w", r.ID, err)
	}
	*r = *got
	return n > 0, nil
}

func scanSurvey(sc interface{ Scan(...any) error }) (*store.SurveyRecord, error) {
	var r store.SurveyRecord
	var def string
	var at int64
	if err := sc.Scan(&r.ID, &r.Version, &def, &at); err != nil {
		return nil, err
	}
	r.Definition, r.UpdatedAt = []byte(def), fromMicros(at)
	return &r, nil
}

// Survey returns one survey definition.
func (s *Store) Survey(ctx context.Context, id string) (*store.SurveyRecord, error) {
	r, err := scanSurvey(s.r.QueryRowContext(ctx, queries.Get("survey"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.NotFound("survey", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: survey %s: %w", id, err)
	}
	return r, nil
}

// ListSurveys returns the survey definitions by id.
func (s *Store) ListSurveys(ctx context.Context) ([]*store.SurveyRecord, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("list-surveys"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list surveys: %w", err)
	}
	defer rows.Close()
	out := []*store.SurveyRecord{}
	for rows.Next() {
		r, err := scanSurvey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list surveys: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanSurveySend(sc interface{ Scan(...any) error }) (*store.SurveySend, error) {
	var x store.SurveySend
	var sent, expires int64
	var score, answered sql.NullInt64
	if err := sc.Scan(&x.Key, &x.SurveyID, &x.Type, &x.ProfileID, &x.Channel, &x.StoreID, &x.JourneyID, &x.Agent,
		&x.ConversationID, &x.Language, &sent, &expires, &score, &x.Comment, &x.AnsweredVia, &answered); err != nil {
		return nil, err
	}
	x.SentAt, x.ExpiresAt, x.AnsweredAt = fromMicros(sent), fromMicros(expires), nullMicros(answered)
	if score.Valid {
		v := int(score.Int64)
		x.Score = &v
	}
	return &x, nil
}

// CreateSurveySend stores a send once per key.
func (s *Store) CreateSurveySend(ctx context.Context, x *store.SurveySend) (bool, error) {
	res, err := s.w.ExecContext(ctx, queries.Get("insert-survey-send"), x.Key, x.SurveyID, x.Type, x.ProfileID, x.Channel, x.StoreID,
		x.JourneyID, x.Agent, x.ConversationID, x.Language, micros(x.SentAt), micros(x.ExpiresAt))
	if err != nil {
		return false, fmt.Errorf("sqlite: create survey send %s: %w", x.Key, err)
	}
	n, _ := res.RowsAffected()
	got, err := scanSurveySend(s.w.QueryRowContext(ctx, queries.Get("survey-send"), x.Key))
	if err != nil {
		return false, fmt.Errorf("sqlite: create survey send %s: %w", x.Key, err)
	}
	*x = *got
	return n > 0, nil
}

// SetSurveySendChannel records the channel a send went out on.
func (s *Store) SetSurveySendChannel(ctx context.Context, key, channel string) error {
	res, err := s.w.ExecContext(ctx, queries.Get("set-survey-send-channel"), channel, key)
	if err != nil {
		return fmt.Errorf("sqlite: survey send %s channel: %w", key, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return problem.NotFound("survey send", key)
	}
	return nil
}

// SurveySend returns one send by its key.
func (s *Store) SurveySend(ctx context.Context, key string) (*store.SurveySend, error) {
	x, err := scanSurveySend(s.r.QueryRowContext(ctx, queries.Get("survey-send"), key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.NotFound("survey send", key)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: survey send %s: %w", key, err)
	}
	return x, nil
}

// AnswerSurveySend records the first answer of a send.
func (s *Store) AnswerSurveySend(ctx context.Context, key string, a store.SurveyAnswer) (*store.SurveySend, bool, error) {
	res, err := s.w.ExecContext(ctx, queries.Get("answer-survey-send"), a.Score, a.Comment, a.Via, micros(a.At), key)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: answer survey send %s: %w", key, err)
	}
	n, _ := res.RowsAffected()
	x, err := scanSurveySend(s.w.QueryRowContext(ctx, queries.Get("survey-send"), key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, problem.NotFound("survey send", key)
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: answer survey send %s: %w", key, err)
	}
	return x, n > 0, nil
}

// PendingSurveySend returns the newest unanswered, unexpired send to a
// profile on a channel.
func (s *Store) PendingSurveySend(ctx context.Context, profile int64, channel string, at time.Time) (*store.SurveySend, error) {
	x, err := scanSurveySend(s.r.QueryRowContext(ctx, queries.Get("pending-survey-send"), profile, channel, micros(at)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.NotFound("pending survey", fmt.Sprintf("profile %d on %s", profile, channel))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending survey of profile %d: %w", profile, err)
	}
	return x, nil
}

// ListSurveySends returns the sends q selects, newest first.
func (s *Store) ListSurveySends(ctx context.Context, q store.SurveySendQuery) ([]*store.SurveySend, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	answered := 0
	if q.Answered != nil {
		answered = 2
		if *q.Answered {
			answered = 1
		}
	}
	var rows *sql.Rows
	var err error
	switch {
	case q.SurveyID != "" && q.ProfileID == 0:
		rows, err = s.r.QueryContext(ctx, queries.Get("list-survey-sends-by-survey"), q.SurveyID, answered, answered, q.Limit)
	case q.ProfileID != 0:
		rows, err = s.r.QueryContext(ctx, queries.Get("list-survey-sends-by-profile"), q.ProfileID, answered, answered, q.Limit)
	default:
		rows, err = s.r.QueryContext(ctx, queries.Get("list-survey-sends"), answered, answered, q.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: list survey sends: %w", err)
	}
	defer rows.Close()
	out := []*store.SurveySend{}
	for rows.Next() {
		x, err := scanSurveySend(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list survey sends: %w", err)
		}
		if q.SurveyID != "" && x.SurveyID != q.SurveyID {
			continue // by profile and survey: the profile's are few
		}
		out = append(out, x)
	}
	return out, rows.Err()
}
