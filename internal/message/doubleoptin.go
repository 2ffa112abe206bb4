package message

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/store"
)

// ConfirmationTopic is the topic of double opt-in confirmation emails: it
// is transactional (the customer asked for it), whatever the policy says.
const ConfirmationTopic = "consent_confirmation"

// tokenConfirm is the kind of double opt-in confirmation tokens.
const tokenConfirm = 'd'

// DefaultConfirmation is the confirmation email used when the policy names
// no template; message.confirm_url is the link that grants consent.
var DefaultConfirmation = &template.Template{Email: &template.Email{
	Subject: "Confirmez votre inscription",
	HTML: `<p>Bonjour {{ profile.first_name }},</p>
<p>Pour recevoir nos emails, confirmez votre adresse : <a href="{{ message.confirm_url }}">je confirme</a>.</p>
<p>Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : vous ne recevrez rien.</p>`}}

// RequestDoubleOptIn records a request for email consent that counts only
// once confirmed: it sends the customer a confirmation email (transactional)
// whose link leads to ConfirmDoubleOptIn. The request itself is in the
// ledger only through the confirmation message, on the customer's
// timeline; consent is granted by the confirmation.
func (p *Pipeline) RequestDoubleOptIn(ctx context.Context, c ConsentChange) (*store.OutboxMessage, error) {
	if c.Channel != provider.Email || !c.Granted {
		return nil, fmt.Errorf("%w: double opt-in confirms an email grant", ErrInvalid)
	}
	if _, ok := p.o.Policy.Topics[c.Topic]; c.Topic != "" && !ok {
		return nil, fmt.Errorf("%w: unknown topic %q", ErrInvalid, c.Topic)
	}
	if p.o.BaseURL == "" {
		return nil, fmt.Errorf("%w: double opt-in needs the server's public URL (--public-url) for its confirmation link", ErrInvalid)
	}
	key := c.Key
	if key == "" {
		key = rand.Text()
	}
	r := Request{ProfileID: c.ProfileID, Channel: provider.Email, Topic: ConfirmationTopic,
		Key: "double-opt-in:" + strconv.FormatInt(c.ProfileID, 10) + ":" + key, Campaign: "double-opt-in"}
	if p.o.Policy.ConfirmationTemplate != "" {
		r.TemplateID = p.o.Policy.ConfirmationTemplate
	} else {
		r.Content = DefaultConfirmation
	}
	sendKey, err := r.SendKey()
	if err != nil {
		return nil, err
	}
	r.confirmURL = p.url("/c/" + p.sign(tokenConfirm, sendKey, c.Topic))
	return p.Send(ctx, r)
}

// ConfirmDoubleOptIn grants the email consent a confirmation link was sent
// for. Confirming twice records one grant.
func (p *Pipeline) ConfirmDoubleOptIn(ctx context.Context, token string, proof map[string]any) (*store.ConsentRecord, error) {
	key, topic, err := p.verify(tokenConfirm, token)
	if err != nil {
		return nil, err
	}
	m, err := p.st.MessageByKey(ctx, key)
	if err != nil {
		return nil, ErrBadToken
	}
	if proof == nil {
		proof = map[string]any{}
	}
	proof["double_opt_in"] = key
	proof["address"] = m.Address
	return p.RecordConsent(ctx, ConsentChange{ProfileID: m.ProfileID, Channel: provider.Email, Topic: topic, Granted: true,
		Source: "double-opt-in", Proof: proof, Key: "confirm:" + key})
}
