package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Messages is what the message pipeline keeps: the outbox, the templates,
// consent and suppressions.
type Messages interface {
	Outbox
	Templates
	Consents
}

// Message statuses. Queued, Deferred and Retrying wait for their DueAt;
// Sending is held by a worker's lease until its DueAt; the others are final.
const (
	MessageQueued   = "queued"
	MessageDeferred = "deferred"
	MessageRetrying = "retrying"
	MessageSending  = "sending"
	MessageSent     = "sent"
	MessageFailed   = "failed"
	MessageSkipped  = "skipped"
)

// Outbox is the durable queue of messages to send. A message's send key is
// unique: enqueueing the same key again changes nothing.
type Outbox interface {
	// EnqueueMessages inserts ms in one transaction and sets their IDs.
	// For a message whose send key exists, it inserts nothing and sets its
	// ID to the existing message's; created[i] says whether ms[i] was new.
	EnqueueMessages(ctx context.Context, ms []*OutboxMessage) (created []bool, err error)
	// ClaimMessages leases up to limit due messages (waiting ones whose
	// DueAt has come, and sending ones whose lease has expired) to token
	// until now+lease, on behalf of node (the process's node id, "" for
	// none): they become Sending, their attempts grow by one, their
	// CalledAt is cleared. A message is never leased to two claims at once.
	ClaimMessages(ctx context.Context, node, token string, now time.Time, lease time.Duration, limit int) ([]*OutboxMessage, error)
	// FinishMessages applies updates in one transaction, each only if
	// the message is still leased to the update's token. It returns how
	// many applied.
	FinishMessages(ctx context.Context, updates []MessageUpdate) (int, error)
	// LeasedBy returns the messages still Sending under a lease of node,
	// expired or not, by id. A node calls it at start-up, before claiming
	// anything: they are its previous run's claims, which it takes back at
	// once instead of waiting for the leases to expire. node must not be
	// "".
	LeasedBy(ctx context.Context, node string) ([]*OutboxMessage, error)
	// Unnotified returns up to limit messages whose last state change has
	// not been announced on the event log yet. MarkNotified records that
	// the states read were announced: a message changed since (its
	// Version moved) stays unnotified. Only the announced states (sent,
	// failed, skipped, deferred) are ever unnotified: the others (queued,
	// retrying) are written notified. The messages come without their
	// Payload (nil).
	Unnotified(ctx context.Context, limit int) ([]*OutboxMessage, error)
	MarkNotified(ctx context.Context, ms []*OutboxMessage) error
	// OutboxMessage returns a message by id, MessageByKey by send key and
	// MessageByProviderID by the provider's id for it.
	OutboxMessage(ctx context.Context, id int64) (*OutboxMessage, error)
	MessageByKey(ctx context.Context, sendKey string) (*OutboxMessage, error)
	// MessagesByKeys returns the messages whose send key is among keys,
	// in no particular order (a key with no message is absent): a batch
	// of sends checks its keys in one read.
	MessagesByKeys(ctx context.Context, keys []string) ([]*OutboxMessage, error)
	MessageByProviderID(ctx context.Context, provider, providerID string) (*OutboxMessage, error)
	// ListMessages returns messages q selects, newest first.
	ListMessages(ctx context.Context, q MessageQuery) ([]*OutboxMessage, error)
	// CountSent counts the messages q selects that were sent (frequency
	// caps).
	CountSent(ctx context.Context, q SentQuery) (int, error)
}

// OutboxMessage is one message of the outbox.
type OutboxMessage struct {
	ID          int64  `json:"id"`
	SendKey     string `json:"send_key"`
	ProfileID   int64  `json:"profile_id"`
	UserID      string `json:"user_id,omitempty"`
	AnonymousID string `json:"anonymous_id,omitempty"`
	Channel     string `json:"channel"`
	// ChannelReason says why the channel was chosen ("best" sends).
	ChannelReason string `json:"channel_reason,omitempty"`
	Topic         string `json:"topic,omitempty"`
	Transactional bool   `json:"transactional"`
	TemplateID    string `json:"template_id,omitempty"`
	Campaign      string `json:"campaign,omitempty"`
	Address       string `json:"address"`
	// Payload is the rendered message (a provider.Message as JSON).
	Payload json.RawMessage `json:"-"`

	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	Attempts   int       `json:"attempts"`
	DueAt      time.Time `json:"due_at,omitzero"`
	LeaseToken string    `json:"-"`
	Provider   string    `json:"provider,omitempty"`
	ProviderID string    `json:"provider_id,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	SentAt     time.Time `json:"sent_at,omitzero"`
	// Version counts the row's changes (for MarkNotified).
	Version int64 `json:"-"`
	// LeaseNode is the node holding a Sending message's lease; CalledAt,
	// when the provider call began under that lease (zero: not begun, so
	// the provider never saw this attempt).
	LeaseNode string    `json:"-"`
	CalledAt  time.Time `json:"-"`
}

// MessageUpdate is a worker's outcome for a message it leased.
type MessageUpdate struct {
	ID         int64
	LeaseToken string
	Status     string
	Reason     string
	DueAt      time.Time // waiting statuses: when to try again
	Provider   string
	ProviderID string
	SentAt     time.Time
	At         time.Time
	// Unclaim hands the message back untried: the claim's attempt is
	// taken back.
	Unclaim bool
	// Calling records, at At, that the provider is about to be called,
	// and nothing else: the message stays Sending. Once it is durable, a
	// crash leaves the attempt's outcome in doubt; before, the provider
	// has not seen it.
	Calling bool
}

// MessageQuery selects outbox messages. Zero fields do not filter.
type MessageQuery struct {
	ProfileID int64
	// ProfileIDs selects the messages of any of these profiles (a profile
	// and those merged into it).
	ProfileIDs []int64
	Status     string
	Before     int64 // ids below, for paging
	Limit      int
}

// SentQuery selects sent messages of a profile since a time.
type SentQuery struct {
	ProfileIDs []int64
	Since      time.Time
	Channel    string // "" any
	Topic      string // "" any
	// Marketing counts only non-transactional messages.
	Marketing bool
}

// Templates keeps message templates.
type Templates interface {
	// SaveTemplate creates or replaces a template, bumping its version.
	SaveTemplate(ctx context.Context, t *TemplateRecord) error
	Template(ctx context.Context, id string) (*TemplateRecord, error)
	ListTemplates(ctx context.Context) ([]*TemplateRecord, error)
	DeleteTemplate(ctx context.Context, id string) error
}

// TemplateRecord is a stored template: its variants as JSON, which the
// message/template package defines and validates.
type TemplateRecord struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Topic     string          `json:"topic,omitempty"`
	Body      json.RawMessage `json:"body"`
	Version   int             `json:"version"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Consents keeps consent (an append-only ledger and the current state it
// leads to) and the suppression list.
type Consents interface {
	// RecordConsent appends c to the ledger and sets c.ID. A record whose
	// Key is already in the ledger is not added again (false). The current
	// state of (profile, channel, topic) takes c's value unless a later
	// record (by At) already set it.
	RecordConsent(ctx context.Context, c *ConsentRecord) (bool, error)
	// RecordConsents records several changes in order, in one transaction.
	RecordConsents(ctx context.Context, cs []*ConsentRecord) ([]bool, error)
	// ConsentState returns the current consent of the profiles.
	ConsentState(ctx context.Context, profileIDs []int64) ([]ConsentRecord, error)
	// ConsentRecord returns the ledger's record of a key, or ErrNotFound:
	// what a change recorded before under the key it is sent with again.
	ConsentRecord(ctx context.Context, key string) (*ConsentRecord, error)
	// ConsentLedger returns the profiles' ledger, newest first.
	ConsentLedger(ctx context.Context, profileIDs []int64, limit int) ([]ConsentRecord, error)
	// Suppress adds an address to the suppression list (again: no change).
	Suppress(ctx context.Context, s Suppression) error
	// Suppression returns the suppression of an address, ErrNotFound if
	// it is not suppressed.
	Suppression(ctx context.Context, channel, address string) (*Suppression, error)
	// Suppressions returns the suppressions of those of addresses (on
	// channel) that are suppressed, in no particular order: a batch of
	// sends checks its addresses in one read.
	Suppressions(ctx context.Context, channel string, addresses []string) ([]Suppression, error)
}

// ConsentRecord is one consent change (ledger) or current value (state).
type ConsentRecord struct {
	ID        int64     `json:"id,omitempty"`
	Key       string    `json:"-"` // idempotency key: the same change twice is one
	ProfileID int64     `json:"profile_id"`
	Channel   string    `json:"channel"`
	Topic     string    `json:"topic,omitempty"` // "": the whole channel
	Granted   bool      `json:"granted"`
	Source    string    `json:"source"`
	At        time.Time `json:"at"`
	// Proof is what shows the customer's choice: IP, user agent, form
	// text, double opt-in token.
	Proof json.RawMessage `json:"proof,omitempty"`
}

// Suppression is an address that must not be sent to.
type Suppression struct {
	Channel string    `json:"channel"`
	Address string    `json:"address"`
	Reason  string    `json:"reason"`
	Source  string    `json:"source"`
	At      time.Time `json:"at"`
}

// In adds "column IN (...)" for the values (never true when there are none).
func (w *Where) In(column string, values []int64) {
	if len(values) == 0 {
		w.conds = append(w.conds, "1 = 0")
		return
	}
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	w.Add(column+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ")+")", args...)
}

// MessageWhere turns a MessageQuery into conditions on the outbox.
func MessageWhere(q MessageQuery, w *Where) {
	if q.ProfileID != 0 {
		w.Add("profile_id = ?", q.ProfileID)
	}
	if len(q.ProfileIDs) > 0 {
		w.In("profile_id", q.ProfileIDs)
	}
	w.Eq("status", q.Status)
	if q.Before > 0 {
		w.Add("id < ?", q.Before)
	}
}

// SentWhere turns a SentQuery into conditions on the outbox.
func SentWhere(q SentQuery, w *Where) {
	w.In("profile_id", q.ProfileIDs)
	w.Add("sent_at >= ?", w.Time(q.Since))
	w.Eq("status", MessageSent)
	w.Eq("channel", q.Channel)
	w.Eq("topic", q.Topic)
	if q.Marketing {
		w.Add("transactional = ?", false)
	}
}
