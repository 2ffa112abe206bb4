// Package source defines sources: the touchpoints (a web shop, an app, a
// store's tills, the call center, a CRM export) that send events, each with
// its own write key and channel.
package source

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/problem"
)

// A source's channel is the kind of touchpoint it stands for: where its
// events come from. Messaging channels (package channel) are how Parcours
// reaches a customer, a vocabulary of their own; the two meet in Channels,
// since a messaging channel that reaches a customer is a touchpoint too
// (opens, clicks and replies come back on it).
var (
	// touchpoints are the kinds that are not messaging channels.
	touchpoints = []string{"web", "ios", "android", "app", "pos", "call_center"}
	// systems stand for a system rather than a customer's touchpoint.
	systems = []string{"crm", "server", "other"}
)

// Channels are the kinds a source can stand for: web, ios, android, app,
// pos, call_center, the messaging channels that reach a customer (email,
// sms, push, whatsapp: channel.Names), crm, server and other.
func Channels() []string {
	out := slices.Clone(touchpoints)
	for _, n := range channel.Names(channel.Descriptor.Personal) {
		out = append(out, string(n))
	}
	return append(out, systems...)
}

// Source is one touchpoint that sends events.
type Source struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Channel  string    `json:"channel"`
	WriteKey string    `json:"write_key"`
	StoreID  string    `json:"store_id,omitempty"` // the physical store of a POS source
	Created  time.Time `json:"created_at"`
	Disabled time.Time `json:"disabled_at,omitzero"`
}

// Enabled reports whether the source's write key is accepted.
func (s *Source) Enabled() bool { return s.Disabled.IsZero() }

// New checks name, channel and store id and returns a source with a fresh
// id and write key.
func New(name, kind, storeID string, now time.Time) (*Source, error) {
	name, kind, storeID = strings.TrimSpace(name), strings.TrimSpace(kind), strings.TrimSpace(storeID)
	switch {
	case name == "":
		return nil, problem.Invalid("name", "is required")
	case len(name) > 200:
		return nil, problem.Invalid("name", "is longer than 200 characters")
	case !slices.Contains(Channels(), kind):
		return nil, problem.Invalid("channel", fmt.Sprintf("%q is not one of %s", kind, strings.Join(Channels(), ", ")))
	case kind == "pos" && storeID == "":
		return nil, problem.Invalid("store_id", "a pos source needs the id of its store (--store-id)")
	}
	return &Source{
		ID:       NewID(),
		Name:     name,
		Channel:  kind,
		WriteKey: NewWriteKey(),
		StoreID:  storeID,
		Created:  now.UTC(),
	}, nil
}

var b32 = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a source id: "src_" and a time-ordered suffix.
func NewID() string {
	id := uuid.Must(uuid.NewV7())
	return "src_" + b32.EncodeToString(id[:])
}

// KeyedID returns the id of the source a client's idempotency key creates,
// the key claimed at t: time-ordered like NewID, and the same for the same
// key and time, so that a retry of a request whose answer was lost finds
// the source instead of creating a second one.
func KeyedID(key string, t time.Time) string {
	sum := sha256.Sum256([]byte("source\x00" + key))
	var id [16]byte
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		id[i] = byte(ms >> (40 - 8*i))
	}
	copy(id[6:], sum[:10])
	return "src_" + b32.EncodeToString(id[:])
}

// NewWriteKey returns a random write key of 160 bits.
func NewWriteKey() string {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return "wk_" + b32.EncodeToString(b[:])
}
