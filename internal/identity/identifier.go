// Package identity resolves the identifiers that touchpoints know a customer
// by (anonymous ids, user ids, emails, phones, loyalty cards, device tokens,
// store customer ids, external ids) into profiles, with deterministic merge
// rules in the style of Segment Unify: junk values never match, each
// identifier kind has a limit per profile and a priority, and a link that
// would break a limit is refused (and recorded) instead of merging two
// customers.
package identity

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/parcours/parcours/internal/event"
)

// Kind is the kind of an identifier.
type Kind string

// The identifier kinds Parcours extracts. Entries of context.externalIds
// become "external:" + their type.
const (
	UserID          Kind = "user_id"
	AnonymousID     Kind = "anonymous_id"
	Email           Kind = "email"
	Phone           Kind = "phone"
	LoyaltyID       Kind = "loyalty_id"
	DeviceToken     Kind = "device_token"
	StoreCustomerID Kind = "store_customer_id"
)

// ExternalPrefix starts the kind of an external id.
const ExternalPrefix = "external:"

// Identifier is one normalised identifier.
type Identifier struct {
	Kind  Kind   `json:"kind"`
	Value string `json:"value"`
}

func (id Identifier) String() string { return string(id.Kind) + ":" + id.Value }

// ParseIdentifier parses "kind:value" (or "kind=value").
func ParseIdentifier(s string) (Identifier, bool) {
	i := strings.IndexAny(s, ":=")
	if i <= 0 || i == len(s)-1 {
		return Identifier{}, false
	}
	kind := s[:i]
	if kind == "external" { // external:crm:123
		j := strings.IndexAny(s[i+1:], ":=")
		if j <= 0 {
			return Identifier{}, false
		}
		return Identifier{Kind: Kind("external:" + s[i+1:i+1+j]), Value: s[i+2+j:]}, true
	}
	return Identifier{Kind: Kind(kind), Value: s[i+1:]}, true
}

// traitKeys lists, for each kind, the trait names it is read from (in
// traits for identify and group calls, and in context.traits for all calls).
var traitKeys = map[Kind][]string{
	Email:           {"email"},
	Phone:           {"phone", "phoneNumber", "phone_number", "mobile"},
	LoyaltyID:       {"loyaltyId", "loyalty_id", "loyaltyCard", "loyalty_card"},
	StoreCustomerID: {"storeCustomerId", "store_customer_id"},
}

// Trait is the trait an identifier of kind k is read from first ("email",
// "phone"); "" for the kinds that are not read from traits (ids, device
// tokens).
func (k Kind) Trait() string {
	if keys := traitKeys[k]; len(keys) > 0 {
		return keys[0]
	}
	return ""
}

// extractFields is what Extract reads beyond the top-level ids.
type extractFields struct {
	Traits     map[string]json.RawMessage `json:"traits"`
	ExternalID json.RawMessage            `json:"externalIds"`
	Device     struct {
		Token string `json:"token"`
	} `json:"device"`
}

// Raw is an identifier as found in an event, before normalisation.
type Raw struct {
	Kind  Kind
	Value string
}

// Extract returns the raw identifiers an event carries: its user and
// anonymous ids (and an alias's previous id), identity traits, context
// traits, context.externalIds and the push token of context.device.
func Extract(e *event.Event) []Raw {
	var out []Raw
	add := func(k Kind, v string) {
		if v != "" {
			out = append(out, Raw{k, v})
		}
	}
	add(UserID, e.UserID)
	add(AnonymousID, e.AnonymousID)
	if e.Type == event.Alias {
		add(AnonymousID, e.PreviousID)
	}
	// Most contexts hold none of the fields identity reads: skip decoding.
	var ctx extractFields
	if c := e.Context; bytes.Contains(c, []byte(`"traits"`)) || bytes.Contains(c, []byte(`"externalIds"`)) || bytes.Contains(c, []byte(`"token"`)) {
		_ = json.Unmarshal(c, &ctx)
	}
	fromTraits := func(traits map[string]json.RawMessage) {
		for kind, keys := range traitKeys {
			for _, k := range keys {
				if v, ok := traits[k]; ok {
					add(kind, scalar(v))
				}
			}
		}
	}
	if e.Type == event.Identify && len(e.Traits) > 0 {
		var traits map[string]json.RawMessage
		if json.Unmarshal(e.Traits, &traits) == nil {
			fromTraits(traits)
		}
	}
	fromTraits(ctx.Traits)
	for t, id := range externalIDs(ctx.ExternalID) {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			add(Kind(ExternalPrefix+t), id)
		}
	}
	add(DeviceToken, ctx.Device.Token)
	return out
}

// scalar returns a JSON string or number as text, "" otherwise.
func scalar(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw)
	}
	return ""
}

// externalIDs reads context.externalIds: Segment's list of
// {"id", "type", "collection", "encoding"}, or an object of type to id (what
// a CSV import mapping to context.externalIds.TYPE writes).
func externalIDs(raw json.RawMessage) map[string]string {
	out := map[string]string{}
	if len(raw) == 0 {
		return out
	}
	var list []struct {
		ID   json.RawMessage `json:"id"`
		Type string          `json:"type"`
	}
	if json.Unmarshal(raw, &list) == nil {
		for _, x := range list {
			out[x.Type] = scalar(x.ID)
		}
		return out
	}
	var byType map[string]json.RawMessage
	if json.Unmarshal(raw, &byType) == nil {
		for t, v := range byType {
			out[t] = scalar(v)
		}
	}
	return out
}
