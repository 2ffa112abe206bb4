package cli

import (
	"bytes"
	"fmt"
	"os"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/journey/sim"
)

type journeyCmd struct {
	Test    journeyTestCmd    `cmd:"" help:"Run a journey against a scripted scenario on a fake clock and print the trace; exits 1 if an expectation fails."`
	List    journeyListCmd    `cmd:"" help:"List the journeys with their version, status and enrolments."`
	Show    journeyShowCmd    `cmd:"" help:"Show a journey: its definition (a version, or the latest) and its enrolments by status."`
	Stats   journeyStatsCmd   `cmd:"" help:"Show a journey's analytics: entered, in progress, completed, exits by reason, messages by channel, outcomes per step, split variants."`
	Pause   journeyPauseCmd   `cmd:"" help:"Pause a journey: no one enters, and timers wait until it resumes."`
	Resume  journeyResumeCmd  `cmd:"" help:"Resume a paused journey."`
	Archive journeyArchiveCmd `cmd:"" help:"Archive a journey: no one enters and the customers inside leave it."`
	Enrol   journeyEnrolCmd   `cmd:"" help:"Enrol a customer (by profile id) in a journey that has an api trigger."`
	Migrate journeyMigrateCmd `cmd:"" help:"Move the customers inside an older version of a journey to its latest version (where their step still exists)."`
}

type journeyTestCmd struct {
	Journey  string `arg:"" help:"The journey file (YAML; may also hold the segments it needs, as kind: segment documents)." type:"existingfile"`
	Scenario string `arg:"" help:"The scenario file: customers, steps ({at: +1h, user, event, properties}) and expectations." type:"existingfile"`
	// The message flags of serve that change what a send renders to.
	Templates     string `help:"Directory of template files (ID.json), as serve imports them: every send is rendered and the trace shows its text. Default: the scenario's templates." env:"PARCOURS_TEMPLATES" placeholder:"DIR" type:"existingdir"`
	MessagePolicy string `help:"YAML file of the message policy (topics, quiet hours, fallback channels), as serve reads it." env:"PARCOURS_MESSAGE_POLICY" placeholder:"FILE" type:"existingfile"`
	PublicURL     string `help:"Public URL of the server, the base of the rendered messages' tracking and unsubscribe links." env:"PARCOURS_PUBLIC_URL" placeholder:"URL"`
}

func (c *journeyTestCmd) Help() string {
	return `The scenario runs in a temporary store with the real identity resolution, segments and
journey engine, on a fake clock: a week of waits takes a fraction of a second. Sends are recorded,
not delivered. Every timer fires at its instant. With templates (--templates DIR, or templates: DIR
in the scenario), each send goes through the message pipeline as it would live — address,
suppressions, consent, quiet hours, the template rendered with the same variables — and the trace
shows what the customer would read; expectations can check it (send: {text: ...}).

  name: a purchase stops the reminders
  customers:
    - {user: alice, traits: {email: alice@example.fr, phone: "+33612345678", smsOptIn: true}}
  steps:
    - {at: "+0", user: alice, event: Product Added, properties: {sku: SHOE-42}}
    - {at: "+3h", user: alice, event: Order Completed}
  expect:
    - {at: "+1h", user: alice, send: {channel: email, template: cart-reminder-offer}}
    - {user: alice, no_send: {channel: sms}}
    - {user: alice, ends: exited}

docs/journeys.md describes the format; examples/journeys/scenarios has more.`
}

func (c *journeyTestCmd) Run(g *config.Globals, e *env) error {
	jb, err := os.ReadFile(c.Journey)
	if err != nil {
		return err
	}
	files, err := sim.ParseJourneyFile(c.Journey, jb)
	if err != nil {
		return err
	}
	sb, err := os.ReadFile(c.Scenario)
	if err != nil {
		return err
	}
	sc, err := sim.ParseScenario(c.Scenario, bytes.NewReader(sb))
	if err != nil {
		return err
	}
	o, err := c.options(g)
	if err != nil {
		return err
	}
	res, err := sim.RunWith(e.ctx, files, sc, o)
	if err != nil {
		return err
	}
	if g.JSON {
		if err := printJSON(e.stdout, res); err != nil {
			return err
		}
	} else {
		res.Print(e.stdout)
	}
	if !res.Passed {
		failed := 0
		for _, ch := range res.Checks {
			if !ch.OK {
				failed++
			}
		}
		return fmt.Errorf("%d of %d expectations failed", failed, len(res.Checks))
	}
	return nil
}

// options are the simulator's: serve's configuration (its identity rules,
// its stores unless the scenario names its own) with the message flags
// this command shares with serve.
func (c *journeyTestCmd) options(g *config.Globals) (sim.Options, error) {
	cfg, err := globalConfig(g)
	if err != nil {
		return sim.Options{}, err
	}
	if cfg.Messages.Policy, err = loadPolicy(c.MessagePolicy); err != nil {
		return sim.Options{}, err
	}
	cfg.Messages.BaseURL = c.PublicURL
	return sim.Options{Templates: c.Templates, Config: cfg}, nil
}
