package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/pipeline"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store"
)

// messageFlags configure the message pipeline, for serve and templates.
type messageFlags struct {
	PublicURL     string `help:"Public URL of this server, for tracking and unsubscribe links in messages." env:"PARCOURS_PUBLIC_URL" placeholder:"URL"`
	MessagePolicy string `help:"YAML file of the message policy: topics, frequency caps, quiet hours, time zone, fallback channels." env:"PARCOURS_MESSAGE_POLICY" placeholder:"FILE" type:"existingfile"`
	Templates     string `help:"Directory of template files (ID.json) imported at start." env:"PARCOURS_TEMPLATES" placeholder:"DIR"`
	UnsubscribeTo string `help:"Address of the mailto: List-Unsubscribe entry of marketing emails." env:"PARCOURS_UNSUBSCRIBE_MAILTO" placeholder:"EMAIL"`
	Providers     string `help:"YAML file of the delivery providers (types: ${provider_types}); secrets as environment variable references. See docs/providers.md." env:"PARCOURS_PROVIDERS" placeholder:"FILE" type:"existingfile"`
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
	o.Policy, err = loadPolicy(f.MessagePolicy)
	return o, err
}

// loadPolicy reads a message policy file; "" is the default policy.
func loadPolicy(path string) (message.Policy, error) {
	var p message.Policy
	if path == "" {
		return p, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("message policy: %w", err)
	}
	if err := yaml.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("message policy %s: %w", path, err)
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

type templatesCmd struct {
	List    templatesListCmd    `cmd:"" help:"List the message templates."`
	Save    templatesSaveCmd    `cmd:"" help:"Check and save a template file (ID.json); errors give their line and column."`
	Preview templatesPreviewCmd `cmd:"" help:"Render a template for a customer, on each of its channels, without sending."`
	messageFlags
}

type templatesListCmd struct{}

func (c *templatesListCmd) Run(g *config.Globals, e *env, t *templatesCmd) error {
	p, st, err := t.pipeline(g, e, false)
	if err != nil {
		return err
	}
	defer st.Close()
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
	p, st, err := t.pipeline(g, e, true)
	if err != nil {
		return err
	}
	defer st.Close()
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
	Local   bool   `help:"Render here with this command's message flags even when serve runs on the data directory."`
}

func (c *templatesPreviewCmd) Help() string {
	return `When parcours serve runs on the data directory, the preview is its own (POST
/api/v1/templates/ID/preview): rendered with its --public-url, so emails show the tracked links and
the List-Unsubscribe header they are sent with. Otherwise (or with --local) it is rendered here,
with --public-url and --unsubscribe-to from this command's flags or PARCOURS_PUBLIC_URL and
PARCOURS_UNSUBSCRIBE_MAILTO, the variables serve reads too.`
}

func (c *templatesPreviewCmd) Run(g *config.Globals, e *env, t *templatesCmd) error {
	var pv *message.Preview
	var err error
	if s := findServer(g.DataDir); s != nil && !c.Local {
		pv, err = c.remote(g, e, s)
	} else {
		pv, err = c.local(g, e, t)
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(pv)
}

// remote asks the running server for its preview.
func (c *templatesPreviewCmd) remote(g *config.Globals, e *env, s *serverInfo) (*message.Preview, error) {
	api, err := (&remote{Server: s.URL}).client(g)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"identifier": c.Profile}
	if id, err := strconv.ParseInt(c.Profile, 10, 64); err == nil {
		body = map[string]any{"profile_id": id}
	}
	var pv message.Preview
	if err := api.call(e.ctx, "POST", "/api/v1/templates/"+url.PathEscape(c.ID)+"/preview", body, &pv); err != nil {
		return nil, err
	}
	return &pv, nil
}

// local renders with this command's flags.
func (c *templatesPreviewCmd) local(g *config.Globals, e *env, t *templatesCmd) (*message.Preview, error) {
	if t.PublicURL == "" {
		fmt.Fprintln(e.stderr, "parcours: no --public-url (PARCOURS_PUBLIC_URL): emails render without tracked links and List-Unsubscribe; serve without it sends no marketing email")
	}
	p, st, err := t.pipeline(g, e, false)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	prof, err := (&profileRef{Profile: c.Profile}).resolve(e, g, st)
	if err != nil {
		return nil, err
	}
	return p.Preview(e.ctx, c.ID, prof.ID)
}

// pipeline opens the store and a message pipeline over it, assembled as
// serve assembles it, that sends nothing;
// create allows a new data directory (saving a template before the first
// serve).
func (t *templatesCmd) pipeline(g *config.Globals, e *env, create bool) (*message.Pipeline, store.Store, error) {
	open := openExisting
	if create {
		open = func(ctx context.Context, g *config.Globals) (store.Store, error) { return openOrCreate(ctx, g, e) }
	}
	st, err := open(e.ctx, g)
	if err != nil {
		return nil, nil, err
	}
	// serve's configuration, so that a preview renders what serve sends
	// (the stores' addresses, the same rules); after the open: it creates
	// the link secret. The behaviour index is not read: none is opened.
	cfg, err := pipelineConfig(e, g, st, &t.messageFlags)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	cfg.BehaviourIndex = ""
	return pipeline.New(st, cfg, pipeline.Runtime{Logger: e.log}).Messages, st, nil
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
