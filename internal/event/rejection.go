package event

import (
	"strings"
	"time"

	"github.com/parcours/parcours/internal/problem"
)

// Actions taken on an event that failed validation.
const (
	Dropped   = "dropped"   // the event was not stored
	Corrected = "corrected" // the event was stored with a field replaced
)

// MaxRejectionPayload is how much of a rejected event's JSON is kept for
// inspection.
const MaxRejectionPayload = 4 * 1024

// Rejection records an event that was dropped, or stored after a
// correction, on ingestion. Rejections are stored with the events of the same
// request so that a report is never lost while its batch is kept.
type Rejection struct {
	ID         int64     `json:"id,omitempty"`
	SourceID   string    `json:"sourceId"`
	ReceivedAt time.Time `json:"receivedAt"`
	MessageID  string    `json:"messageId,omitempty"`
	// Index is the event's position in its batch (0 for single calls), or
	// its line number in an imported file.
	Index   int    `json:"index"`
	Action  string `json:"action"`
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Reason  string `json:"reason"`
	Payload string `json:"payload,omitempty"` // the event's JSON, cut at MaxRejectionPayload
}

// NewRejection builds the record of err for the event raw at index.
func NewRejection(env *Envelope, index int, messageID, action string, err *problem.ValidationError, raw []byte) *Rejection {
	return &Rejection{
		SourceID:   env.SourceID,
		ReceivedAt: env.ReceivedAt,
		MessageID:  cleanText(truncate(messageID, maxIDLen)),
		Index:      index,
		Action:     action,
		Code:       err.Code,
		Field:      err.Path,
		Reason:     cleanText(err.Reason),
		Payload:    cleanText(truncate(string(raw), MaxRejectionPayload)),
	}
}

// cleanText makes client-supplied text storable in any text column: valid
// UTF-8 and no NUL character.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}
