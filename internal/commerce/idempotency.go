package commerce

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/parcours/parcours/internal/problem"
)

// What an idempotency key can create; a key is unique within its scope.
const (
	ScopeReservation = "reservation"
	ScopeOrder       = "order"
	ScopeReturn      = "return"
	ScopeAdjustment  = "adjustment"
)

// IdempotencyKey is a client's key for a creating request (its
// Idempotency-Key header). The engines store it, with the fingerprint of
// the request and the id of what it created, in the transaction that
// creates it: a request acknowledged or not (a crash after the commit),
// its retry with the same key finds what it created instead of creating
// it again.
type IdempotencyKey struct {
	Scope       string
	Key         string
	Fingerprint string // of the request: the same key with another request is refused
	ID          string // what the request created; the engines store the created object's id
}

// KeyStore finds the idempotency keys the engines stored.
type KeyStore interface {
	// IdempotencyKey returns the key of a scope, or ErrNotFound.
	IdempotencyKey(ctx context.Context, scope, key string) (*IdempotencyKey, error)
}

// KeyReuseError refuses a request whose idempotency key was used before
// for a different request.
type KeyReuseError struct {
	Scope, Key string
	ID         string // what the key created
}

func (e *KeyReuseError) Error() string {
	return fmt.Sprintf("commerce: idempotency key %s was used for %s %s with a different request: a retry must send the same body; a new request needs a new key",
		quoteStart(e.Key), e.Scope, e.ID)
}

// Describe reports the key and what it created.
func (e *KeyReuseError) Describe() problem.Problem {
	return problem.Problem{Kind: problem.KindMismatch, Code: "idempotency_key_reused", Message: e.Error(),
		Details: map[string]string{"key": e.Key, e.Scope + "_id": e.ID}}
}

// newKey checks a client's key and fingerprints the request it came with;
// no key gives nil.
func newKey(scope, key string, request any) (*IdempotencyKey, error) {
	if key == "" {
		return nil, nil
	}
	if err := CheckKey("Idempotency-Key", key); err != nil {
		return nil, err
	}
	b, err := json.Marshal(request)
	if err != nil {
		return nil, fmt.Errorf("commerce: fingerprint of a %s request: %w", scope, err)
	}
	sum := sha256.Sum256(b)
	return &IdempotencyKey{Scope: scope, Key: key, Fingerprint: hex.EncodeToString(sum[:16])}, nil
}

// once creates something under an idempotency key k (nil: no key):
// create's result, or, when k was used before, what it created then
// (replayed true), loaded by its id. The key's own row, written by the
// engines in create's transaction, settles a race between two requests
// with the same key: the loser's write fails with ErrConflict and it
// answers with the winner's result.
func once[T any](ctx context.Context, s *Service, k *IdempotencyKey, load func(context.Context, string) (T, error), create func() (T, error)) (v T, replayed bool, err error) {
	if k == nil {
		v, err = create()
		return v, false, err
	}
	replay := func() (T, bool, error) {
		var zero T
		prior, err := s.st.IdempotencyKey(ctx, k.Scope, k.Key)
		if err != nil {
			return zero, false, err
		}
		if prior.Fingerprint != k.Fingerprint {
			return zero, false, &KeyReuseError{Scope: k.Scope, Key: k.Key, ID: prior.ID}
		}
		v, err := load(ctx, prior.ID)
		return v, err == nil, err
	}
	if v, replayed, err = replay(); !errors.Is(err, ErrNotFound) {
		return v, replayed, err
	}
	v, err = create()
	if errors.Is(err, ErrConflict) {
		if v, replayed, rerr := replay(); !errors.Is(rerr, ErrNotFound) {
			return v, replayed, rerr
		}
	}
	return v, false, err
}

// checkAdjustmentKey is the answer when a's key was applied before, by a
// request whose fingerprint was prior: nothing to do (nil), or a
// *KeyReuseError when both fingerprints are known and differ.
func checkAdjustmentKey(a Adjustment, prior string) error {
	if a.Fingerprint != "" && prior != "" && a.Fingerprint != prior {
		return &KeyReuseError{Scope: ScopeAdjustment, Key: a.Key, ID: a.Key}
	}
	return nil
}
