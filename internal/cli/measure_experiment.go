package cli

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/measure"
)

type measureExperimentCmd struct {
	remote
	Journey    string  `arg:"" help:"The journey's id."`
	Confidence float64 `help:"Confidence level of intervals and significance." default:"0.95"`
	Window     string  `help:"How long after entering a customer's orders count for their arm's revenue (default: the journey goal's window, else 7d)."`
}

func (c *measureExperimentCmd) Help() string {
	return `A journey's holdout (its control group against everyone else) and each A/B split: conversion per
arm with its interval, the difference and lift against the reference arm (the control group; a split's
variant without steps, else its first), the p-value of a two-proportion z-test, the probability to
beat the reference, revenue per recipient, and a sample ratio check. Warnings say when a result is
not significant yet or cannot be trusted.

  parcours measure experiment abandoned-cart`
}

func (c *measureExperimentCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	q := url.Values{"confidence": {strconv.FormatFloat(c.Confidence, 'f', -1, 64)}}
	if c.Window != "" {
		q.Set("window", c.Window)
	}
	var rep measure.ExperimentReport
	if err := api.call(e.ctx, "GET", "/api/v1/measure/experiments/"+url.PathEscape(c.Journey)+"?"+q.Encode(), nil, &rep); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, rep)
	}
	printExperiment(e.stdout, &rep)
	return nil
}

func printExperiment(w io.Writer, r *measure.ExperimentReport) {
	goal := r.Goal
	if goal == "" {
		goal = "none"
	}
	fmt.Fprintf(w, "journey %s · goal: %s · revenue within %s of entering · %.0f%% confidence\n", r.Journey, goal, r.Window, 100*r.Confidence)
	fmt.Fprintf(w, "test: %s\n", r.Test)
	for _, ex := range r.Experiments {
		title := "holdout: the control group against everyone else"
		if ex.Kind == "split" {
			title = fmt.Sprintf("split %s (version %d)", ex.Step, ex.Version)
		}
		fmt.Fprintf(w, "\n%s\n", title)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ARM\tSHARE\tCUSTOMERS\tCONVERTED\tRATE\tINTERVAL\tLIFT\tP-VALUE\tP(BETTER)\tREVENUE/RECIPIENT")
		for _, a := range ex.Arms {
			name, p, better, lift := a.Name, "-", "-", "-"
			if a.Reference {
				name += " (reference)"
				p = "reference"
			} else if a.PValue != nil {
				p = fmt.Sprintf("%.4f", *a.PValue)
				if a.Significant {
					p += " *"
				}
			}
			if a.ProbabilityBetter != nil {
				better = kpiValue("ratio", a.ProbabilityBetter)
			}
			if a.Lift != nil {
				lift = changeText(a.Lift)
			}
			interval := "-"
			if a.RateLow != nil {
				interval = fmt.Sprintf("%s-%s", kpiValue("ratio", a.RateLow), kpiValue("ratio", a.RateHigh))
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", name, kpiValue("ratio", a.Share), a.Customers, a.Converted,
				kpiValue("ratio", a.Rate), interval, lift, p, better, kpiValue("currency", a.RevenuePerRecipient))
		}
		tw.Flush()
		if ex.SRM != nil {
			fmt.Fprintf(w, "sample ratio: chi-square %.2f, p %.3g%s\n", ex.SRM.ChiSquare, ex.SRM.PValue, map[bool]string{true: " MISMATCH", false: " (as configured)"}[ex.SRM.Mismatch])
		}
		for _, warn := range ex.Warnings {
			fmt.Fprintf(w, "! %s\n", warn)
		}
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "! %s\n", warn)
	}
}
