package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/server"
)

// messageFlags configure the message pipeline, for serve and templates.
type messageFlags struct {
	PublicURL     string `help:"Public URL of this server, for tracking and unsubscribe links in messages." env:"PARCOURS_PUBLIC_URL" placeholder:"URL"`
	MessagePolicy string `help:"YAML file of the message policy: topics, frequency caps, quiet hours, time zone, fallback channels." env:"PARCOURS_MESSAGE_POLICY" placeholder:"FILE" type:"existingfile"`
	Templates     string `help:"Directory of template files (ID.json) imported at start." env:"PARCOURS_TEMPLATES" placeholder:"DIR"`
	UnsubscribeTo string `help:"Address of the mailto: List-Unsubscribe entry of marketing emails." env:"PARCOURS_UNSUBSCRIBE_MAILTO" placeholder:"EMAIL"`
	Providers     string `help:"YAML file of the delivery providers (SMTP, Twilio, Vonage, WhatsApp, FCM, APNs, webhooks); secrets as environment variable references. See docs/providers.md." env:"PARCOURS_PROVIDERS" placeholder:"FILE" type:"existingfile"`
}

// options builds the pipeline's options: the policy file, the link secret
// of the data directory.
func (f *messageFlags) options(g *config.Globals) (message.Options, error) {
	o := message.Options{BaseURL: f.PublicURL, UnsubscribeMailto: f.UnsubscribeTo}
	if _, err := message.CheckPublicURL(f.PublicURL); err != nil {
		return o, fmt.Errorf("--public-url: %w", err)
	}
	secret, err := server.EnsureMessageSecret(g.DataDir)
	if err != nil {
		return o, err
	}
	o.Secret = secret
	if f.MessagePolicy != "" {
		b, err := os.ReadFile(f.MessagePolicy)
		if err != nil {
			return o, fmt.Errorf("message policy: %w", err)
		}
		if err := yaml.Unmarshal(b, &o.Policy); err != nil {
			return o, fmt.Errorf("message policy %s: %w", f.MessagePolicy, err)
		}
		if err := o.Policy.Validate(); err != nil {
			return o, fmt.Errorf("%s: %w", f.MessagePolicy, err)
		}
	}
	return o, nil
}

type templatesCmd struct {
	List    templatesListCmd    `cmd:"" help:"List the message templates."`
	Save    templatesSaveCmd    `cmd:"" help:"Check and save a template file (ID.json); errors give their line and column."`
	Preview templatesPreviewCmd `cmd:"" help:"Render a template for a customer, on each of its channels, without sending."`
	messageFlags
}

type templatesListCmd struct{}

func (c *templatesListCmd) Run(g *config.Globals, e *env, t *templatesCmd) error {
	p, closeStore, err := t.pipeline(g, e)
	if err != nil {
		return err
	}
	defer closeStore()
	list, err := p.Templates(e.ctx)
	if err != nil {
		return err
	}
	for _, tr := range list {
		fmt.Fprintf(e.stdout, "%-24s v%-3d %-14s %s\n", tr.ID, tr.Version, tr.Topic, tr.Name)
	}
	return nil
}

type templatesSaveCmd struct {
	File string `arg:"" type:"existingfile" help:"The template file: {\"name\", \"topic\", \"body\": {\"email\": ..., \"sms\": ...}}; its name (without .json) is the id."`
}

func (c *templatesSaveCmd) Run(g *config.Globals, e *env, t *templatesCmd) error {
	p, closeStore, err := t.pipeline(g, e)
	if err != nil {
		return err
	}
	defer closeStore()
	b, err := os.ReadFile(c.File)
	if err != nil {
		return err
	}
	var in message.TemplateInput
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("%s: %w", c.File, err)
	}
	if in.ID == "" {
		in.ID = trimExt(c.File)
	}
	rec, err := p.SaveTemplate(e.ctx, in)
	if err != nil {
		return fmt.Errorf("%s: %w", c.File, err)
	}
	fmt.Fprintf(e.stdout, "saved %s, version %d\n", rec.ID, rec.Version)
	return nil
}

type templatesPreviewCmd struct {
	ID      string `arg:"" help:"The template id."`
	Profile string `required:"" help:"A profile id, or an identifier as kind:value (email:sophie@example.fr)."`
}

func (c *templatesPreviewCmd) Run(g *config.Globals, e *env, t *templatesCmd) error {
	p, closeStore, err := t.pipeline(g, e)
	if err != nil {
		return err
	}
	defer closeStore()
	st, err := openStore(e.ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	prof, err := (&profileRef{Profile: c.Profile}).resolve(e, g, st)
	if err != nil {
		return err
	}
	pv, err := p.Preview(e.ctx, c.ID, prof.ID)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(pv)
}

// pipeline opens the store and a pipeline over it that sends nothing.
func (t *templatesCmd) pipeline(g *config.Globals, e *env) (*message.Pipeline, func(), error) {
	o, err := t.options(g)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(e.ctx, g)
	if err != nil {
		return nil, nil, err
	}
	o.Logger = e.log
	return message.New(st, nil, nil, o), func() { st.Close() }, nil
}

func trimExt(path string) string {
	base := path
	for i := len(path) - 1; i >= 0 && path[i] != '/'; i-- {
		if path[i] == '.' {
			base = path[:i]
			break
		}
	}
	for i := len(base) - 1; i >= 0; i-- {
		if base[i] == '/' {
			return base[i+1:]
		}
	}
	return base
}
