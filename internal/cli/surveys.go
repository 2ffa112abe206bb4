package cli

import (
	"fmt"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/survey"
)

// surveysCmd lists, shows and sends the NPS and CSAT surveys (kind:
// survey, applied with parcours apply), and shows their answers and
// scores.
type surveysCmd struct {
	List    surveysListCmd    `cmd:"" help:"List the surveys: id, type (nps, csat), version, invitation template."`
	Show    surveysShowCmd    `cmd:"" help:"Show one survey's definition."`
	Send    surveysSendCmd    `cmd:"" help:"Send a survey to a customer after a contact, once per key; print its link."`
	Answers surveysAnswersCmd `cmd:"" help:"A survey's answers, newest first: score, comment, channel, store, agent."`
	Scores  surveysScoresCmd  `cmd:"" help:"NPS and CSAT over a date range, by store, channel, journey or agent (Measure)."`
}

type surveysListCmd struct{ remote }

func (c *surveysListCmd) Help() string {
	return `Surveys are files (kind: survey) applied with parcours apply -f; docs/surveys.md.

  parcours surveys list`
}

func (c *surveysListCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var out struct {
		Surveys []survey.Saved `json:"surveys"`
	}
	if err := api.call(e.ctx, "GET", "/api/v1/surveys", nil, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tVERSION\tTEMPLATE\tVALID FOR\tDETRACTOR AT MOST\tNAME")
	for _, s := range out.Surveys {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%s\n", s.ID, s.Type, s.Version, orDash(s.Template), days(s.Validity()), s.Threshold(), s.Name)
	}
	return tw.Flush()
}

type surveysShowCmd struct {
	remote
	ID string `arg:"" help:"The survey's id."`
}

func (c *surveysShowCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var out survey.Saved
	if err := api.call(e.ctx, "GET", "/api/v1/surveys/"+url.PathEscape(c.ID), nil, &out); err != nil {
		return err
	}
	return printJSON(e.stdout, out)
}

type surveysSendCmd struct {
	remote
	ID           string `arg:"" help:"The survey's id."`
	Profile      int64  `required:"" help:"The customer's profile id."`
	Key          string `required:"" help:"Idempotency key: the same key sends once (the contact's id, like call-42)."`
	Channel      string `help:"email, sms, whatsapp, push or best." default:"best" enum:"email,sms,whatsapp,push,best"`
	Template     string `help:"The invitation's template (default: the survey's)."`
	Store        string `help:"The store the answer concerns (its follow-up task goes there)."`
	Agent        string `help:"The agent of the contact the survey rates."`
	Conversation string `help:"The conversation the survey rates."`
}

func (c *surveysSendCmd) Help() string {
	return `Sends the survey's invitation through the message pipeline (consent, quiet hours, caps apply) with
a signed link to its page; an SMS or WhatsApp invitation can also be answered by replying a number.

  parcours surveys send contact-csat --profile 42 --key call-7 --channel sms --store store-lyon-01 --agent lea`
}

func (c *surveysSendCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	in := map[string]any{"profile_id": c.Profile, "key": c.Key, "channel": c.Channel, "template": c.Template,
		"store_id": c.Store, "agent": c.Agent, "conversation_id": c.Conversation}
	var out struct {
		Send    *store.SurveySend `json:"send"`
		URL     string            `json:"url"`
		Message *struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
			Reason string `json:"reason"`
		} `json:"message"`
	}
	if err := api.call(e.ctx, "POST", "/api/v1/surveys/"+url.PathEscape(c.ID)+"/send", in, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "survey %s sent to profile %d by %s, valid until %s\nlink: %s\n", c.ID, c.Profile, out.Send.Channel,
		out.Send.ExpiresAt.Format("2006-01-02 15:04 MST"), out.URL)
	if m := out.Message; m != nil {
		fmt.Fprintf(e.stdout, "message %d: %s %s\n", m.ID, m.Status, m.Reason)
	}
	return nil
}

type surveysAnswersCmd struct {
	remote
	ID    string `arg:"" help:"The survey's id."`
	Limit int    `help:"How many answers at most (1 to 1000)." default:"100"`
}

func (c *surveysAnswersCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var out struct {
		Answers []*store.SurveySend `json:"answers"`
	}
	if err := api.call(e.ctx, "GET", fmt.Sprintf("/api/v1/surveys/%s/answers?limit=%d", url.PathEscape(c.ID), c.Limit), nil, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ANSWERED\tPROFILE\tSCORE\tVIA\tCHANNEL\tSTORE\tJOURNEY\tAGENT\tCOMMENT")
	for _, a := range out.Answers {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.AnsweredAt.Format("2006-01-02 15:04"), a.ProfileID, *a.Score, a.AnsweredVia,
			orDash(a.Channel), orDash(a.StoreID), orDash(a.JourneyID), orDash(a.Agent), a.Comment)
	}
	return tw.Flush()
}

type surveysScoresCmd struct {
	remote
	measureRange
	By string `help:"Break the scores down by store, channel, journey or agent." enum:",store,channel,journey,agent" default:""`
}

func (c *surveysScoresCmd) Help() string {
	return `NPS = % promoters (9-10) - % detractors (0-6); CSAT = % of answers 4 or 5 (of 5). The same figures
as parcours measure kpis --kpi nps,csat (docs/measure.md), which they are.

  parcours surveys scores --by store
  parcours surveys scores --from 2026-11-01 --to 2026-11-30 --by agent`
}

func (c *surveysScoresCmd) Run(g *config.Globals, e *env) error {
	k := measureKPIsCmd{remote: c.remote, measureRange: c.measureRange, KPIs: []string{"nps", "csat"}, By: c.By}
	return k.Run(g, e)
}

// days writes a duration of whole days as 14d, any other as Go does.
func days(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
