package message

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/store"
)

var templateID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// TemplateInput is a template to save.
type TemplateInput struct {
	ID    string             `json:"id"`
	Name  string             `json:"name"`
	Topic string             `json:"topic,omitempty"`
	Body  *template.Template `json:"body"`
}

// SaveTemplate checks a template (syntax, unknown variables and filters,
// with positions; the channels' fixed limits) and stores it, creating it
// or replacing it with the next version.
func (p *Pipeline) SaveTemplate(ctx context.Context, in TemplateInput) (*store.TemplateRecord, error) {
	if !templateID.MatchString(in.ID) {
		return nil, fmt.Errorf("%w: template id %q: use 1-64 lower-case letters, digits, - and _", ErrInvalid, in.ID)
	}
	if _, ok := p.o.Policy.Topics[in.Topic]; in.Topic != "" && !ok {
		return nil, fmt.Errorf("%w: unknown topic %q", ErrInvalid, in.Topic)
	}
	if in.Body == nil {
		return nil, fmt.Errorf("%w: a template needs a body with at least one channel variant", ErrInvalid)
	}
	if err := in.Body.Check(p.templateRules()); err != nil {
		return nil, err
	}
	body, err := json.Marshal(in.Body)
	if err != nil {
		return nil, err
	}
	if in.Name == "" {
		in.Name = in.ID
	}
	rec := &store.TemplateRecord{ID: in.ID, Name: in.Name, Topic: in.Topic, Body: body, UpdatedAt: p.clock.Now()}
	if err := p.st.SaveTemplate(ctx, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// Templates lists the stored templates.
func (p *Pipeline) Templates(ctx context.Context) ([]*store.TemplateRecord, error) {
	return p.st.ListTemplates(ctx)
}

// Template returns a stored template.
func (p *Pipeline) Template(ctx context.Context, id string) (*store.TemplateRecord, error) {
	return p.st.Template(ctx, id)
}

// DeleteTemplate deletes a stored template.
func (p *Pipeline) DeleteTemplate(ctx context.Context, id string) error {
	return p.st.DeleteTemplate(ctx, id)
}

// ImportTemplateFiles saves every *.json file of dir as a template whose
// id is the file's name: {"name": ..., "topic": ..., "body": {...}}. A file
// that cannot be read or is refused does not stop the others: it returns
// how many were saved and every file's error, joined.
func (p *Pipeline) ImportTemplateFiles(ctx context.Context, dir string) (int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return 0, err
	}
	var errs []error
	saved := 0
	for _, f := range files {
		if err := p.importTemplateFile(ctx, f); err != nil {
			errs = append(errs, fmt.Errorf("message: template file %s: %w", f, err))
			continue
		}
		saved++
	}
	return saved, errors.Join(errs...)
}

func (p *Pipeline) importTemplateFile(ctx context.Context, f string) error {
	b, err := os.ReadFile(f)
	if err != nil {
		return err
	}
	var in TemplateInput
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	in.ID = strings.TrimSuffix(filepath.Base(f), ".json")
	_, err = p.SaveTemplate(ctx, in)
	return err
}

// Preview is a template rendered for one customer, per channel: what
// would be sent, or why it could not be.
type Preview struct {
	TemplateID string                     `json:"template_id"`
	ProfileID  int64                      `json:"profile_id"`
	Channels   map[string]*ChannelPreview `json:"channels"`
}

// ChannelPreview is one channel's rendering.
type ChannelPreview struct {
	Message  *Rendered          `json:"message,omitempty"`
	SMS      *template.SMSInfo  `json:"sms,omitempty"`
	Problems []template.Problem `json:"problems,omitempty"`
	// Refusal says why the customer would not get it now (consent,
	// address, suppression); the rendering is shown all the same.
	Refusal string `json:"refusal,omitempty"`
}

// Preview renders a stored template for a profile, on every channel it
// has, as a send would (links tagged and tracked), without sending.
func (p *Pipeline) Preview(ctx context.Context, id string, profileID int64) (*Preview, error) {
	rec, err := p.st.Template(ctx, id)
	if err != nil {
		return nil, err
	}
	tpl, err := template.Parse(rec.Body)
	if err != nil {
		return nil, err
	}
	prof, err := p.st.Profile(ctx, profileID)
	if err != nil {
		return nil, fmt.Errorf("message: profile %d: %w", profileID, err)
	}
	c, err := p.contact(ctx, prof)
	if err != nil {
		return nil, err
	}
	out := &Preview{TemplateID: id, ProfileID: prof.ID, Channels: map[string]*ChannelPreview{}}
	tr := p.o.Policy.transactional(rec.Topic)
	for _, ch := range tpl.Channels() {
		m := &store.OutboxMessage{SendKey: "preview:" + id, ProfileID: prof.ID, Channel: string(ch), Topic: rec.Topic,
			Transactional: tr, TemplateID: id, Campaign: "preview", Address: c.addr[ch]}
		cp := &ChannelPreview{Refusal: p.refusal(c, ch, rec.Topic, tr, tpl)}
		if err := p.render(ctx, m, c, tpl, Request{}); err != nil {
			cp.Problems = template.Problems(err)
			if cp.Problems == nil {
				cp.Problems = []template.Problem{{Field: string(ch), Message: err.Error()}}
			}
		} else {
			pm, _ := payload(m)
			cp.Message = rendered(pm)
			if d, _ := channel.Lookup(ch); d.Limits.Segments > 0 {
				info := template.Segments(pm.Body)
				cp.SMS = &info
			}
		}
		out.Channels[string(ch)] = cp
	}
	return out, nil
}

// Message returns an outbox message.
func (p *Pipeline) Message(ctx context.Context, id int64) (*store.OutboxMessage, error) {
	return p.st.OutboxMessage(ctx, id)
}

// ProfileMessages lists a profile's messages (and those of the profiles
// merged into it), newest first, with ids below before (0: from the
// newest).
func (p *Pipeline) ProfileMessages(ctx context.Context, profileID, before int64, limit int) ([]*store.OutboxMessage, error) {
	ids, err := p.profileIDs(ctx, profileID)
	if err != nil {
		return nil, err
	}
	return p.st.ListMessages(ctx, store.MessageQuery{ProfileIDs: ids, Before: before, Limit: limit})
}

// Rendered is a rendered message as the API shows it.
type Rendered struct {
	To       string            `json:"to,omitempty"`
	Subject  string            `json:"subject,omitempty"`
	HTML     string            `json:"html,omitempty"`
	Text     string            `json:"text,omitempty"`
	Headers  map[string]string `json:"headers,omitempty"`
	Title    string            `json:"title,omitempty"`
	Body     string            `json:"body,omitempty"`
	Data     map[string]string `json:"data,omitempty"`
	Template *RenderedTemplate `json:"whatsapp_template,omitempty"`
	Payload  json.RawMessage   `json:"payload,omitempty"`
}

// RenderedTemplate is a WhatsApp template message's name and parameters.
type RenderedTemplate struct {
	Name     string   `json:"name"`
	Language string   `json:"language,omitempty"`
	Params   []string `json:"params,omitempty"`
}

func rendered(m *provider.Message) *Rendered {
	if m == nil {
		return nil
	}
	r := &Rendered{To: m.To, Subject: m.Subject, HTML: m.HTML, Text: m.Text, Headers: m.Headers, Title: m.Title,
		Body: m.Body, Data: m.Data, Payload: m.Payload}
	if t := m.Template; t != nil {
		r.Template = &RenderedTemplate{t.Name, t.Language, t.Params}
	}
	return r
}
