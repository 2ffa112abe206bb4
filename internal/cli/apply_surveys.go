package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/parcours/parcours/internal/survey"
)

// surveyRow is a survey an apply saved or left alone.
type surveyRow struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Type     string `json:"type"`
	Template string `json:"template,omitempty"`
	Version  int    `json:"version"`
	Changed  bool   `json:"changed"`
}

// applySurveys saves the surveys (kind: survey): an unchanged one keeps
// its version.
func applySurveys(e *env, api *apiClient, set *defSet) ([]surveyRow, error) {
	if len(set.surveys) == 0 {
		return nil, nil
	}
	var defs []*survey.Definition
	for _, d := range set.surveys {
		defs = append(defs, d.surv)
	}
	var saved struct {
		Surveys []surveyRow `json:"surveys"`
	}
	if err := api.call(e.ctx, "POST", "/api/v1/surveys", map[string]any{"surveys": defs}, &saved); err != nil {
		return nil, err
	}
	return saved.Surveys, nil
}

// checkSurveys resolves what surveys and the journeys' survey sends name:
// a survey's template, a send step's survey, on the server or in the
// files applied.
func (s *defSet) checkSurveys(srv *serverDefs) error {
	for _, d := range s.surveys {
		if id := d.surv.Template; id != "" && srv.templates[id] == nil && s.template(id) == nil {
			return fmt.Errorf("%s: survey %s: template: no template %q, neither on the server nor in the files applied", d.where, d.surv.ID, id)
		}
	}
	for _, d := range s.journeys {
		for _, ref := range sendSteps(d.jour.Steps, "steps") {
			id := ref.send.Survey
			if id != "" && !srv.surveys[id] && !s.hasSurvey(id) {
				return fmt.Errorf("%s: journey %s: %s.survey: no survey %q, neither on the server nor in the files applied (add a kind: survey document, docs/surveys.md)",
					d.where, d.jour.ID, ref.path, id)
			}
		}
	}
	return nil
}

func (s *defSet) hasSurvey(id string) bool {
	for _, d := range s.surveys {
		if d.surv.ID == id {
			return true
		}
	}
	return false
}

func (s *defSet) surveyIDs() []string {
	var ids []string
	for _, d := range s.surveys {
		ids = append(ids, d.surv.ID)
	}
	return ids
}

func printSurveys(w io.Writer, rows []surveyRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tVERSION\tCHANGE\tTEMPLATE\tNAME")
	for _, r := range rows {
		change := "unchanged"
		if r.Changed {
			change = "saved"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", r.ID, r.Type, r.Version, change, orDash(r.Template), r.Name)
	}
	tw.Flush()
}
