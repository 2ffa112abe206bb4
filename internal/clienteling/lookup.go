package clienteling

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
)

// Query is how the associate finds the customer: exactly one of its
// fields.
type Query struct {
	Phone string // as the customer says it: 06 12 34 56 78, +33 6 12...
	Email string
	// Card is a loyalty card number (identifier loyalty_id), or a store
	// customer number (store_customer_id) when no card has it.
	Card string
	// Code is what a scanner read from a QR code or a barcode (CodeHelp).
	Code string
}

// CodeHelp says what a scanned code may hold; errors and docs quote it.
const CodeHelp = "a scanned code holds a loyalty card number (the barcode of a card), " +
	"order:ID or an order number (a receipt's or a click & collect QR code), " +
	"or an identifier as kind:value (loyalty_id:…, store_customer_id:…, user_id:…, email:…, phone:…)"

// Candidate is one customer a lookup matched, and by what.
type Candidate struct {
	ProfileID int64  `json:"profile_id"`
	By        string `json:"matched"` // identifier kind:value, or order:ID
}

// AmbiguousError is a lookup that matched several customers: a bare code
// that is one customer's card number and another's order number, say.
type AmbiguousError struct {
	Asked      string
	Candidates []Candidate
}

func (e *AmbiguousError) Error() string {
	parts := make([]string, len(e.Candidates))
	for i, c := range e.Candidates {
		parts[i] = fmt.Sprintf("profile %d by %s", c.ProfileID, c.By)
	}
	return fmt.Sprintf("clienteling: %s matches %d customers (%s): ask by a more precise identifier (order:ID, loyalty_id:…, a phone or an email)",
		e.Asked, len(e.Candidates), strings.Join(parts, "; "))
}

// Describe lists the candidates (409).
func (e *AmbiguousError) Describe() problem.Problem {
	return problem.Problem{Kind: problem.KindConflict, Code: "ambiguous_customer", Message: e.Error(),
		Details: map[string]any{"asked": e.Asked, "candidates": e.Candidates}}
}

// Found is a lookup's result: the customer, and what matched them.
type Found struct {
	Profile *profile.Profile
	By      string
}

// Find returns the one customer q names: problem.NotFound (with a hint)
// when none does, *AmbiguousError when several do.
func (s *Service) Find(ctx context.Context, q Query) (*Found, error) {
	asked, tries, orderID, err := s.parse(q)
	if err != nil {
		return nil, err
	}
	ids := make([]identity.Identifier, 0, len(tries)+1)
	ids = append(ids, tries...)
	var orderKey identity.Identifier
	if orderID != "" && s.Commerce != nil && commerce.CheckID("code", orderID) == nil {
		o, err := s.Commerce.Order(ctx, orderID)
		switch {
		case errors.Is(err, problem.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("clienteling: order %s: %w", orderID, err)
		default:
			if id, ok := identity.ParseIdentifier(o.Customer.Key()); ok {
				orderKey = id
				ids = append(ids, id)
			}
		}
	}
	holders, err := s.Profiles.Holders(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("clienteling: find %s: %w", asked, err)
	}
	var cands []Candidate
	add := func(p int64, by string) {
		if p != 0 && !slices.ContainsFunc(cands, func(c Candidate) bool { return c.ProfileID == p }) {
			cands = append(cands, Candidate{ProfileID: p, By: by})
		}
	}
	for _, id := range tries {
		add(holders[id], id.String())
	}
	if orderKey != (identity.Identifier{}) {
		add(holders[orderKey], "order:"+orderID)
	}
	switch len(cands) {
	case 0:
		return nil, &problem.NotFoundError{Kind: "customer", ID: problem.Clip(asked), Hint: notFoundHint(q)}
	case 1:
		p, err := s.Profiles.Profile(ctx, cands[0].ProfileID)
		if err != nil {
			return nil, fmt.Errorf("clienteling: profile %d: %w", cands[0].ProfileID, err)
		}
		return &Found{Profile: p, By: cands[0].By}, nil
	}
	return nil, &AmbiguousError{Asked: asked, Candidates: cands}
}

func notFoundHint(q Query) string {
	switch {
	case q.Phone != "":
		return "no profile holds this phone number: check it, or ask for the email or the loyalty card; a customer Parcours never saw has no profile until a till or the web shop identifies them"
	case q.Email != "":
		return "no profile holds this email address: check its spelling, or ask for the phone number or the loyalty card"
	case q.Card != "":
		return "no profile holds this loyalty card or store customer number: check the number, or ask for the phone number or the email"
	}
	return "nothing holds this code: " + CodeHelp
}

// parse turns q into the identifiers to try, in order, and an order id to
// look up, with what was asked for the messages.
func (s *Service) parse(q Query) (asked string, ids []identity.Identifier, orderID string, err error) {
	given := 0
	for _, v := range []string{q.Phone, q.Email, q.Card, q.Code} {
		if strings.TrimSpace(v) != "" {
			given++
		}
	}
	if given != 1 {
		return "", nil, "", problem.Invalid("phone", "give exactly one of phone, email, card or code (got "+strconv.Itoa(given)+")")
	}
	rules := s.rules()
	norm := func(field string, k identity.Kind, v string) (identity.Identifier, error) {
		id, why := rules.Normalize(identity.Raw{Kind: k, Value: v})
		if why != "" {
			return id, problem.Invalid(field, why)
		}
		return id, nil
	}
	switch {
	case q.Phone != "":
		id, err := norm("phone", identity.Phone, q.Phone)
		return "phone " + q.Phone, []identity.Identifier{id}, "", err
	case q.Email != "":
		id, err := norm("email", identity.Email, q.Email)
		return "email " + q.Email, []identity.Identifier{id}, "", err
	case q.Card != "":
		return s.cardIDs("card", "card "+q.Card, q.Card)
	}
	code := strings.TrimSpace(q.Code)
	if rest, ok := strings.CutPrefix(code, "order:"); ok {
		if err := commerce.CheckID("code", rest); err != nil {
			return "", nil, "", err
		}
		return "code " + code, nil, rest, nil
	}
	if id, ok := identity.ParseIdentifier(code); ok && knownKind(id.Kind) {
		n, err := norm("code", id.Kind, id.Value)
		return "code " + code, []identity.Identifier{n}, "", err
	}
	// A bare code: a card's barcode, a store customer number, or an
	// order number; which one is the holders' business.
	asked, ids, _, err = s.cardIDs("code", "code "+code, code)
	if err != nil {
		return "", nil, "", problem.Invalid("code", CodeHelp)
	}
	return asked, ids, code, nil
}

func (s *Service) cardIDs(field, asked, v string) (string, []identity.Identifier, string, error) {
	var ids []identity.Identifier
	var why string
	for _, k := range []identity.Kind{identity.LoyaltyID, identity.StoreCustomerID} {
		id, w := s.rules().Normalize(identity.Raw{Kind: k, Value: v})
		if w != "" {
			why = w
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return "", nil, "", problem.Invalid(field, why)
	}
	return asked, ids, "", nil
}

// knownKind reports whether a code's prefix is an identifier kind (a bare
// code may hold a colon of its own).
func knownKind(k identity.Kind) bool {
	switch k {
	case identity.UserID, identity.AnonymousID, identity.Email, identity.Phone, identity.LoyaltyID,
		identity.DeviceToken, identity.StoreCustomerID:
		return true
	}
	return strings.HasPrefix(string(k), identity.ExternalPrefix)
}
