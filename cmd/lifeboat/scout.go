package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/provision/existing"
)

func newScoutCmd(app *App) *cobra.Command {
	var (
		asJSON    bool
		groupFile string
	)
	cmd := &cobra.Command{
		Use:   "scout URL…",
		Short: "Size up existing servers: software, registrations, rules, users",
		Long: `Scout reads each server's /api/v2/instance, rules, NodeInfo and (where they
are public) domain blocks, and reports the software and version, whether
registrations are open, need approval or are closed, the rules, monthly active
users, languages, contact and character limit.

With --group it also judges how each server fits the group (its size against
the server's active users; how members get in) and ranks the servers, best
first. Without URLs it scouts the group's existing destination.

--json prints, for one server, an object with exactly the keys software,
version, registrations, rules, active_users, languages and contact; for several,
an array of them (ranked with --group). A server that does not answer, or is not
a Mastodon-API server, gets one line on stderr and makes the exit code 1.`,
		Example: `  lifeboat scout mastodon.social
  lifeboat scout --json https://social.example
  lifeboat scout --group group.yaml social.example other.example`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var g *groups.Group
			if groupFile != "" {
				var probs groups.Problems
				if g, probs = groups.Load(groupFile); len(probs) > 0 {
					return reportProblems(app, probs)
				}
				if len(args) == 0 && g.Destination.Server != "" {
					args = []string{g.Destination.Server}
				}
			}
			if len(args) == 0 {
				return usageErrorf("scout needs at least one server URL, e.g. lifeboat scout social.example")
			}
			var (
				reports []*existing.Report
				failed  bool
			)
			all, errs := existing.ScoutEach(ctx, args, nil)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			for i, err := range errs {
				if err != nil {
					fmt.Fprintln(app.Stderr, "lifeboat: scout:", safetext.Line(err.Error()))
					failed = true
					continue
				}
				reports = append(reports, all[i])
			}
			var fits []existing.Fit
			if g != nil {
				for _, r := range reports {
					fits = append(fits, existing.Judge(r, len(g.Members)))
				}
				existing.Rank(fits)
				for i, f := range fits {
					reports[i] = f.Report
				}
			}
			if asJSON {
				var v any
				switch {
				case len(args) == 1 && len(reports) == 1:
					v = reports[0]
				case len(args) > 1:
					v = append([]*existing.Report{}, reports...)
				}
				if v != nil {
					enc := json.NewEncoder(app.Stdout)
					enc.SetIndent("", "  ")
					if err := enc.Encode(v); err != nil {
						return err
					}
				}
			} else {
				for i, r := range reports {
					if i > 0 {
						fmt.Fprintln(app.Stdout)
					}
					printReport(app.Stdout, r)
				}
				if g != nil && len(fits) > 0 {
					fmt.Fprintf(app.Stdout, "\nFit for %s (%d members), best first:\n", safetext.Line(g.Title), len(g.Members))
					for i, f := range fits {
						fmt.Fprintf(app.Stdout, "%d. %s — %s\n", i+1, safetext.Line(f.Report.URL), f.Verdict)
						for _, n := range f.Notes {
							fmt.Fprintf(app.Stdout, "   - %s\n", safetext.Line(n))
						}
					}
				}
			}
			if failed {
				return silentError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON on stdout")
	cmd.Flags().StringVar(&groupFile, "group", "", "group file: judge each server's fit for the group and rank them")
	return cmd
}

func printReport(w io.Writer, r *existing.Report) {
	title := r.Title
	if title == "" {
		title = r.Domain
	}
	fmt.Fprintf(w, "%s — %s\n", safetext.Line(r.URL), safetext.Line(title))
	// Every value may come from the server.
	row := func(k, v string) { fmt.Fprintf(w, "  %-14s %s\n", k, safetext.Line(v)) }
	for _, f := range r.Facts() {
		row(f[0], f[1])
	}
	if r.DomainBlocks >= 0 {
		row("domain blocks", fmt.Sprintf("%d listed", r.DomainBlocks))
	} else {
		row("domain blocks", "not public")
	}
	if len(r.Rules) == 0 {
		row("rules", "none listed")
		return
	}
	row("rules", "")
	for i, rule := range r.Rules {
		fmt.Fprintf(w, "    %d. %s\n", i+1, safetext.Line(rule))
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
