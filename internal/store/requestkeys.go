package store

import (
	"context"
	"time"
)

// RequestKey is a client's idempotency key (the Idempotency-Key header) for
// one of the management API's creating requests that no domain keys by
// itself (a source, an enrolment, a consent change). The API claims the key
// before it creates anything and stores the answer once it has it: a retry
// with the same key and the same request gets that answer back, even after
// a restart, and the same key with another request is refused.
type RequestKey struct {
	Scope string // what the key creates: "source", "enrolment", "consent"; a key is unique within its scope
	Key   string
	// Fingerprint is the request's (its path and body): the same key with
	// another fingerprint is another request.
	Fingerprint string
	// Status is the HTTP status of the answer; 0 while the key is claimed
	// and its request has not answered (in flight, or the process stopped
	// before it could store the answer).
	Status int
	// Response is the answer's JSON body.
	Response []byte
	// ResourceID is the id of what the request created, for errors.
	ResourceID string
	CreatedAt  time.Time
}

// Answered reports whether the key holds the answer of its request.
func (k *RequestKey) Answered() bool { return k.Status != 0 }

// RequestKeys keeps the idempotency keys of the API's creating requests.
type RequestKeys interface {
	// ClaimRequestKey stores k as claimed (Status 0, no answer), unless
	// its scope holds the key already: it then returns the stored key and
	// false, whatever its fingerprint.
	ClaimRequestKey(ctx context.Context, k *RequestKey) (stored *RequestKey, claimed bool, err error)
	// AnswerRequestKey stores the answer (Status, Response, ResourceID) of
	// a key; a key answered already keeps its first answer.
	AnswerRequestKey(ctx context.Context, k *RequestKey) error
	// ReleaseRequestKey forgets a key that is claimed but not answered:
	// its request failed and created nothing, so a retry may run again.
	ReleaseRequestKey(ctx context.Context, scope, key string) error
}
