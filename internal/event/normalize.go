package event

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/parcours/parcours/internal/problem"
)

// MaxEventSize is the largest event, in bytes of its UTF-8 JSON, that is
// accepted. It is the limit Segment documents (32 KB).
const MaxEventSize = 32 * 1024

// maxIDLen bounds the identifiers a client may send (messageId, userId, ...).
const maxIDLen = 512

// Envelope carries what the events of one request share: when it arrived,
// from which source, and the batch-level fields that apply to every event.
type Envelope struct {
	ReceivedAt time.Time
	SourceID   string
	Channel    string
	StoreID    string

	// SentAt is the batch-level sentAt, used for events that carry none.
	SentAt time.Time
	// Context and Integrations are the batch-level objects merged into each
	// event; the event's own keys win.
	Context      map[string]json.RawMessage
	Integrations map[string]json.RawMessage
	// IP is the client's address, recorded as context.ip when the event
	// does not carry one (as Segment does).
	IP string

	// NewMessageID fills in the messageId of an event that has none. It
	// receives the event's position in the request, its raw JSON and the
	// normalised event, so that a caller can derive a stable id (imports
	// do, to make a re-run safe). Without it, ids are random.
	NewMessageID func(index int, raw []byte, e *Event) string
}

// wire is an event as clients send it.
type wire struct {
	Type              json.RawMessage `json:"type"`
	MessageID         json.RawMessage `json:"messageId"`
	Event             json.RawMessage `json:"event"`
	Name              json.RawMessage `json:"name"`
	Category          json.RawMessage `json:"category"`
	UserID            json.RawMessage `json:"userId"`
	AnonymousID       json.RawMessage `json:"anonymousId"`
	GroupID           json.RawMessage `json:"groupId"`
	PreviousID        json.RawMessage `json:"previousId"`
	Properties        json.RawMessage `json:"properties"`
	Traits            json.RawMessage `json:"traits"`
	Context           json.RawMessage `json:"context"`
	Integrations      json.RawMessage `json:"integrations"`
	Timestamp         json.RawMessage `json:"timestamp"`
	OriginalTimestamp json.RawMessage `json:"originalTimestamp"`
	SentAt            json.RawMessage `json:"sentAt"`
	Channel           json.RawMessage `json:"channel"`
}

type times struct{ timestamp, originalTimestamp, sentAt string }

// Normalize decodes one event from raw, validates it and returns it in its
// stored form. index is the event's position in its request. typ, when not empty, is the type implied by the endpoint
// (/v1/track) and wins over the body's type.
//
// An event that cannot be stored returns a *problem.ValidationError. A problem that
// could be corrected (an unparseable timestamp, replaced by the receive time)
// returns the event together with warnings.
func (env *Envelope) Normalize(index int, raw []byte, typ Type) (*Event, []*problem.ValidationError, error) {
	return env.NormalizeScanned(index, raw, typ, Scanned{})
}

// NormalizeScanned is Normalize for an event ScanObject has inspected
// already (s); a zero s: Normalize.
func (env *Envelope) NormalizeScanned(index int, raw []byte, typ Type, s Scanned) (*Event, []*problem.ValidationError, error) {
	if len(raw) > MaxEventSize {
		return nil, nil, &problem.ValidationError{Code: CodeTooLarge, Reason: "event is " + strconv.Itoa(len(raw)) + " bytes, the limit is " + strconv.Itoa(MaxEventSize)}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, nil, &problem.ValidationError{Code: CodeNotObject, Reason: "event must be a JSON object"}
	}
	// One pass over the bytes finds what the decoder accepts but a store or
	// a reader would not: numbers out of range, nesting too deep, escapes
	// PostgreSQL refuses.
	in := s.in
	if !s.done {
		in = inspect(raw, 0, "")
	}
	if in.bad != nil {
		return nil, nil, in.bad
	}
	raw, dirty := sanitize(raw, in.rewrite)
	var w wire
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, nil, decodeError(err)
	}
	e := &Event{
		ReceivedAt: env.ReceivedAt,
		SourceID:   env.SourceID,
		Channel:    env.Channel,
		StoreID:    env.StoreID,
	}
	// The first error wins; later calls are no-ops.
	var err error
	get := func(field string, raw json.RawMessage) string {
		if err != nil {
			return ""
		}
		v, e := scalar(field, raw)
		if e == nil && len(v) > maxIDLen {
			e = &problem.ValidationError{Code: CodeInvalidField, Path: field, Reason: "longer than " + strconv.Itoa(maxIDLen) + " bytes"}
		}
		err = e
		return v
	}
	typeName := get("type", w.Type)
	e.MessageID = get("messageId", w.MessageID)
	e.Event, e.Name, e.Category = get("event", w.Event), get("name", w.Name), get("category", w.Category)
	e.UserID, e.AnonymousID = get("userId", w.UserID), get("anonymousId", w.AnonymousID)
	e.GroupID, e.PreviousID = get("groupId", w.GroupID), get("previousId", w.PreviousID)
	ts := times{timestamp: get("timestamp", w.Timestamp), originalTimestamp: get("originalTimestamp", w.OriginalTimestamp), sentAt: get("sentAt", w.SentAt)}
	clientChannel := get("channel", w.Channel)
	if err != nil {
		return nil, nil, err
	}
	if typ == "" {
		if typeName == "" {
			return nil, nil, &problem.ValidationError{Code: CodeUnknownType, Path: "type", Reason: "type is missing"}
		}
		t, ok := ParseType(typeName)
		if !ok {
			return nil, nil, &problem.ValidationError{Code: CodeUnknownType, Path: "type", Reason: "unknown type " + strconv.Quote(truncate(typeName, 64))}
		}
		typ = t
	}
	e.Type = typ

	if err := e.checkIdentity(); err != nil {
		return nil, nil, err
	}
	if e.Properties, err = object("properties", w.Properties); err != nil {
		return nil, nil, err
	}
	if e.Traits, err = object("traits", w.Traits); err != nil {
		return nil, nil, err
	}
	if e.Context, err = object("context", w.Context); err != nil {
		return nil, nil, err
	}
	if e.Integrations, err = object("integrations", w.Integrations); err != nil {
		return nil, nil, err
	}
	if e.Context, err = env.mergeContext(e.Context, clientChannel); err != nil {
		return nil, nil, err
	}
	if e.Integrations, err = env.mergeIntegrations(e.Integrations); err != nil {
		return nil, nil, err
	}

	warnings := env.setTimes(e, ts)
	if dirty {
		warnings = append(warnings, &problem.ValidationError{Code: CodeInvalidText,
			Reason: "invalid UTF-8, \\u0000 or an unpaired UTF-16 surrogate (\\ud800) replaced with U+FFFD"})
	}

	if e.MessageID == "" {
		if env.NewMessageID != nil {
			e.MessageID = env.NewMessageID(index, raw, e)
		} else {
			e.MessageID = NewMessageID()
		}
	}
	return e, warnings, nil
}

// checkIdentity applies the per-type rules of the Segment spec.
func (e *Event) checkIdentity() error {
	switch e.Type {
	case Alias:
		if e.PreviousID == "" {
			return &problem.ValidationError{Code: CodeMissingField, Path: "previousId", Reason: "alias needs previousId"}
		}
		if e.UserID == "" {
			return &problem.ValidationError{Code: CodeMissingField, Path: "userId", Reason: "alias needs userId"}
		}
		return nil
	case Track:
		if e.Event == "" {
			return &problem.ValidationError{Code: CodeMissingField, Path: "event", Reason: "track needs an event name"}
		}
	case Group:
		if e.GroupID == "" {
			return &problem.ValidationError{Code: CodeMissingField, Path: "groupId", Reason: "group needs groupId"}
		}
	}
	if e.UserID == "" && e.AnonymousID == "" {
		return &problem.ValidationError{Code: CodeMissingIdentity, Path: "userId", Reason: "neither userId nor anonymousId is set"}
	}
	return nil
}

// setTimes fills Timestamp, OriginalTimestamp and SentAt, correcting the
// client's clock skew: timestamp = receivedAt - (sentAt - originalTimestamp).
func (env *Envelope) setTimes(e *Event, w times) []*problem.ValidationError {
	var warnings []*problem.ValidationError
	parse := func(field string, s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		t, err := ParseTimestamp(s)
		switch {
		case err != nil:
			warnings = append(warnings, &problem.ValidationError{Code: CodeInvalidTimestamp, Path: field,
				Reason: strconv.Quote(truncate(s, 64)) + " is not an ISO-8601 date-time; " + field + " ignored"})
		case t.IsZero():
			// 0001-01-01T00:00:00Z is what an unset date serialises to
			// (Go's zero time, .NET's DateTime.MinValue): not an event time.
			warnings = append(warnings, &problem.ValidationError{Code: CodeInvalidTimestamp, Path: field,
				Reason: strconv.Quote(truncate(s, 64)) + " is the zero date (0001-01-01T00:00:00Z) that an unset date holds, not a real time; " + field + " ignored"})
		}
		return t
	}
	orig := parse("timestamp", w.timestamp)
	if orig.IsZero() && w.timestamp == "" {
		// Some libraries (RudderStack's) name the client time originalTimestamp.
		orig = parse("originalTimestamp", w.originalTimestamp)
	}
	sent := parse("sentAt", w.sentAt)
	if sent.IsZero() {
		sent = env.SentAt
	}
	e.OriginalTimestamp, e.SentAt = orig, sent
	switch {
	case orig.IsZero():
		e.Timestamp = env.ReceivedAt
	case sent.IsZero():
		e.Timestamp = orig
	default:
		e.Timestamp = env.ReceivedAt.Add(-sent.Sub(orig))
	}
	return warnings
}

// mergeContext adds the batch-level context keys the event lacks, and
// context.ip and context.channel when known and absent.
func (env *Envelope) mergeContext(ctx json.RawMessage, clientChannel string) (json.RawMessage, error) {
	adds := make([]keyValue, 0, len(env.Context)+2)
	for k, v := range env.Context {
		adds = append(adds, keyValue{k, v})
	}
	if _, inBatch := env.Context["ip"]; env.IP != "" && !inBatch {
		adds = append(adds, keyValue{"ip", jsonString(env.IP)})
	}
	// Segment's top-level "channel" (server, browser, mobile) would clash
	// with the Parcours channel of the source; it is kept in the context.
	if _, inBatch := env.Context["channel"]; clientChannel != "" && !inBatch {
		adds = append(adds, keyValue{"channel", jsonString(clientChannel)})
	}
	return addMissingKeys("context", ctx, adds)
}

type keyValue struct {
	key   string
	value json.RawMessage
}

// addMissingKeys adds to the JSON object obj each key it does not have. This
// runs for most events (context.ip), so when none of the keys occurs in obj
// at all they are spliced in after the opening brace, without decoding obj.
func addMissingKeys(field string, obj json.RawMessage, adds []keyValue) (json.RawMessage, error) {
	if len(adds) == 0 {
		return obj, nil
	}
	sort.Slice(adds, func(i, j int) bool { return adds[i].key < adds[j].key })
	var quoted []byte
	for _, a := range adds {
		quoted = AppendString(quoted[:0], a.key)
		if bytes.Contains(obj, quoted) {
			return mergeDecoded(field, obj, adds)
		}
	}
	out := make([]byte, 0, len(obj)+64)
	out = append(out, '{')
	for i, a := range adds {
		if i > 0 {
			out = append(out, ',')
		}
		out = AppendString(out, a.key)
		out = append(out, ':')
		out = append(out, a.value...)
	}
	if len(obj) == 0 {
		return append(out, '}'), nil
	}
	rest := bytes.TrimSpace(obj[1:]) // obj is an object: it starts with '{'
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...), nil
}

// mergeDecoded is the slow path of addMissingKeys.
func mergeDecoded(field string, obj json.RawMessage, adds []keyValue) (json.RawMessage, error) {
	m, err := objectMap(field, obj)
	if err != nil {
		return nil, err
	}
	changed := false
	for _, a := range adds {
		if _, ok := m[a.key]; !ok {
			m[a.key] = a.value
			changed = true
		}
	}
	if !changed {
		return obj, nil
	}
	return json.Marshal(m)
}

// mergeIntegrations adds batch-level integrations and spells the catch-all
// key "All" whichever case the client used.
func (env *Envelope) mergeIntegrations(in json.RawMessage) (json.RawMessage, error) {
	if len(env.Integrations) == 0 && !bytes.Contains(in, []byte(`"all"`)) && !bytes.Contains(in, []byte(`"ALL"`)) {
		return in, nil
	}
	m, err := objectMap("integrations", in)
	if err != nil {
		return nil, err
	}
	normalizeAll(m)
	for k, v := range env.Integrations {
		if k == "all" || k == "ALL" {
			k = "All"
		}
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	if len(m) == 0 {
		return nil, nil
	}
	return json.Marshal(m)
}

func normalizeAll(m map[string]json.RawMessage) {
	for _, k := range []string{"all", "ALL"} {
		if v, ok := m[k]; ok {
			delete(m, k)
			if _, ok := m["All"]; !ok {
				m["All"] = v
			}
		}
	}
}

// object checks that raw is a JSON object, or absent/null (returned as nil).
func object(field string, raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, &problem.ValidationError{Code: CodeInvalidField, Path: field, Reason: field + " must be a JSON object"}
	}
	return raw, nil
}

func objectMap(field string, raw json.RawMessage) (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(raw) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, &problem.ValidationError{Code: CodeInvalidField, Path: field, Reason: field + " must be a JSON object"}
	}
	return m, nil
}

func jsonString(s string) json.RawMessage {
	return AppendString(nil, s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
