package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// SaveSurvey stores a survey definition, a new version when it changed.
func (s *Store) SaveSurvey(ctx context.Context, r *store.SurveyRecord) (bool, error) {
	tag, err := s.pool.Exec(ctx, queries.Get("upsert-survey"), r.ID, string(r.Definition), r.UpdatedAt)
	if err != nil {
		return false, fmt.Errorf("postgres: save survey %s: %w", r.ID, err)
	}
	got, err := scanSurvey(s.pool.QueryRow(ctx, queries.Get("survey"), r.ID))
	if err != nil {
		return false, fmt.Errorf("postgres: save survey %s: %w", r.ID, err)
	}
	*r = *got
	return tag.RowsAffected() > 0, nil
}

func scanSurvey(row pgx.Row) (*store.SurveyRecord, error) {
	var r store.SurveyRecord
	var def string
	if err := row.Scan(&r.ID, &r.Version, &def, &r.UpdatedAt); err != nil {
		return nil, err
	}
	r.Definition, r.UpdatedAt = []byte(def), r.UpdatedAt.UTC()
	return &r, nil
}

// Survey returns one survey definition.
func (s *Store) Survey(ctx context.Context, id string) (*store.SurveyRecord, error) {
	r, err := scanSurvey(s.pool.QueryRow(ctx, queries.Get("survey"), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, problem.NotFound("survey", id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: survey %s: %w", id, err)
	}
	return r, nil
}

// ListSurveys returns the survey definitions by id.
func (s *Store) ListSurveys(ctx context.Context) ([]*store.SurveyRecord, error) {
	rows, err := s.pool.Query(ctx, queries.Get("list-surveys"))
	if err != nil {
		return nil, fmt.Errorf("postgres: list surveys: %w", err)
	}
	defer rows.Close()
	out := []*store.SurveyRecord{}
	for rows.Next() {
		r, err := scanSurvey(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list surveys: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanSurveySend(row pgx.Row) (*store.SurveySend, error) {
	var x store.SurveySend
	var score *int32
	var answered *time.Time
	if err := row.Scan(&x.Key, &x.SurveyID, &x.Type, &x.ProfileID, &x.Channel, &x.StoreID, &x.JourneyID, &x.Agent,
		&x.ConversationID, &x.Language, &x.SentAt, &x.ExpiresAt, &score, &x.Comment, &x.AnsweredVia, &answered); err != nil {
		return nil, err
	}
	x.SentAt, x.ExpiresAt = x.SentAt.UTC(), x.ExpiresAt.UTC()
	if answered != nil {
		x.AnsweredAt = answered.UTC()
	}
	if score != nil {
		v := int(*score)
		x.Score = &v
	}
	return &x, nil
}

// CreateSurveySend stores a send once per key.
func (s *Store) CreateSurveySend(ctx context.Context, x *store.SurveySend) (bool, error) {
	tag, err := s.pool.Exec(ctx, queries.Get("insert-survey-send"), x.Key, x.SurveyID, x.Type, x.ProfileID, x.Channel, x.StoreID,
		x.JourneyID, x.Agent, x.ConversationID, x.Language, x.SentAt, x.ExpiresAt)
	if err != nil {
		return false, fmt.Errorf("postgres: create survey send %s: %w", x.Key, err)
	}
	got, err := scanSurveySend(s.pool.QueryRow(ctx, queries.Get("survey-send"), x.Key))
	if err != nil {
		return false, fmt.Errorf("postgres: create survey send %s: %w", x.Key, err)
	}
	*x = *got
	return tag.RowsAffected() > 0, nil
}

// SetSurveySendChannel records the channel a send went out on.
func (s *Store) SetSurveySendChannel(ctx context.Context, key, channel string) error {
	tag, err := s.pool.Exec(ctx, queries.Get("set-survey-send-channel"), channel, key)
	if err != nil {
		return fmt.Errorf("postgres: survey send %s channel: %w", key, err)
	}
	if tag.RowsAffected() == 0 {
		return problem.NotFound("survey send", key)
	}
	return nil
}

// SurveySend returns one send by its key.
func (s *Store) SurveySend(ctx context.Context, key string) (*store.SurveySend, error) {
	x, err := scanSurveySend(s.pool.QueryRow(ctx, queries.Get("survey-send"), key))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, problem.NotFound("survey send", key)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: survey send %s: %w", key, err)
	}
	return x, nil
}

// AnswerSurveySend records the first answer of a send.
func (s *Store) AnswerSurveySend(ctx context.Context, key string, a store.SurveyAnswer) (*store.SurveySend, bool, error) {
	tag, err := s.pool.Exec(ctx, queries.Get("answer-survey-send"), a.Score, a.Comment, a.Via, a.At, key)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: answer survey send %s: %w", key, err)
	}
	x, err := scanSurveySend(s.pool.QueryRow(ctx, queries.Get("survey-send"), key))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, problem.NotFound("survey send", key)
	}
	if err != nil {
		return nil, false, fmt.Errorf("postgres: answer survey send %s: %w", key, err)
	}
	return x, tag.RowsAffected() > 0, nil
}

// PendingSurveySend returns the newest unanswered, unexpired send to a
// profile on a channel.
func (s *Store) PendingSurveySend(ctx context.Context, profile int64, channel string, at time.Time) (*store.SurveySend, error) {
	x, err := scanSurveySend(s.pool.QueryRow(ctx, queries.Get("pending-survey-send"), profile, channel, at))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, problem.NotFound("pending survey", fmt.Sprintf("profile %d on %s", profile, channel))
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: pending survey of profile %d: %w", profile, err)
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
	var rows pgx.Rows
	var err error
	switch {
	case q.SurveyID != "" && q.ProfileID == 0:
		rows, err = s.pool.Query(ctx, queries.Get("list-survey-sends-by-survey"), q.SurveyID, answered, q.Limit)
	case q.ProfileID != 0:
		rows, err = s.pool.Query(ctx, queries.Get("list-survey-sends-by-profile"), q.ProfileID, answered, q.Limit)
	default:
		rows, err = s.pool.Query(ctx, queries.Get("list-survey-sends"), answered, q.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: list survey sends: %w", err)
	}
	defer rows.Close()
	out := []*store.SurveySend{}
	for rows.Next() {
		x, err := scanSurveySend(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list survey sends: %w", err)
		}
		if q.SurveyID != "" && x.SurveyID != q.SurveyID {
			continue // by profile and survey: the profile's are few
		}
		out = append(out, x)
	}
	return out, rows.Err()
}
