package event

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// NewMessageID returns a fresh, time-ordered message id.
func NewMessageID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// AppendJSON appends the event's stored JSON form to buf. It writes the same
// document as json.Marshal would, without re-validating the nested objects
// (Normalize already did) — this runs once per ingested event.
func (e *Event) AppendJSON(buf []byte) []byte {
	buf = append(buf, '{')
	if e.Seq != 0 {
		buf = append(buf, `"seq":`...)
		buf = strconv.AppendInt(buf, e.Seq, 10)
		buf = append(buf, ',')
	}
	buf = appendField(buf, "messageId", e.MessageID, false)
	buf = appendField(buf, "type", string(e.Type), true)
	buf = appendField(buf, "event", e.Event, true)
	buf = appendField(buf, "name", e.Name, true)
	buf = appendField(buf, "category", e.Category, true)
	buf = appendField(buf, "userId", e.UserID, true)
	buf = appendField(buf, "anonymousId", e.AnonymousID, true)
	buf = appendField(buf, "groupId", e.GroupID, true)
	buf = appendField(buf, "previousId", e.PreviousID, true)
	buf = appendRaw(buf, "properties", e.Properties)
	buf = appendRaw(buf, "traits", e.Traits)
	buf = appendRaw(buf, "context", e.Context)
	buf = appendRaw(buf, "integrations", e.Integrations)
	buf = appendTime(buf, "timestamp", e.Timestamp, false)
	buf = appendTime(buf, "originalTimestamp", e.OriginalTimestamp, true)
	buf = appendTime(buf, "sentAt", e.SentAt, true)
	buf = appendTime(buf, "receivedAt", e.ReceivedAt, false)
	buf = appendField(buf, "sourceId", e.SourceID, false)
	buf = appendField(buf, "channel", e.Channel, false)
	buf = appendField(buf, "storeId", e.StoreID, true)
	if e.Imported {
		buf = append(buf, `"imported":true,`...)
	}
	buf[len(buf)-1] = '}'
	return buf
}

// Unmarshal decodes an event from its stored JSON form.
func Unmarshal(data []byte, e *Event) error {
	if err := json.Unmarshal(data, e); err != nil {
		return fmt.Errorf("event: decode stored event: %w", err)
	}
	return nil
}

func appendField(buf []byte, key, val string, omitEmpty bool) []byte {
	if omitEmpty && val == "" {
		return buf
	}
	buf = append(buf, '"')
	buf = append(buf, key...)
	buf = append(buf, `":`...)
	buf = AppendString(buf, val)
	return append(buf, ',')
}

func appendRaw(buf []byte, key string, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return buf
	}
	buf = append(buf, '"')
	buf = append(buf, key...)
	buf = append(buf, `":`...)
	buf = append(buf, raw...)
	return append(buf, ',')
}

func appendTime(buf []byte, key string, t time.Time, omitZero bool) []byte {
	if omitZero && t.IsZero() {
		return buf
	}
	buf = append(buf, '"')
	buf = append(buf, key...)
	buf = append(buf, `":"`...)
	buf = t.UTC().AppendFormat(buf, time.RFC3339Nano)
	return append(buf, `",`...)
}

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func AppendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '"', '\\':
				buf = append(buf, '\\', b)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript parsers.
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
