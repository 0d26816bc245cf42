package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/analyze"
	"github.com/lifeboat-social/lifeboat/analyze/groupgraph"
	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
)

func newAnalyzeCmd(app *App) *cobra.Command {
	var (
		edges       string
		minFollows  int
		asJSON      bool
		svg, lead   string
		seed        uint64
		suggestions int
	)
	cmd := &cobra.Command{
		Use:   "analyze GROUP.yaml | --edges FILE",
		Short: "Find the subgroup that would stay: the viable set, topic communities, retention",
		Long: `Analyze reads a follow graph and answers the question an escape starts with:
which subgroup is big enough and self-contained enough that each of its
members would find it worth staying?

GROUP.yaml analyses the group's own graph: the follows its members uploaded
on their pledge pages and those imported with "lifeboat import --group". The
lead's network is the starting point: the viable set is sought among the lead
and the members, named by their emails; the people they follow outside the
group (named x:…, bsky:…, fedi:…, ig:…) appear only here, for the lead, in the
communities and the growth suggestions. The picture has the lead at the centre.

--edges FILE is an edge list: one "FOLLOWER FOLLOWEE" pair a line, separated
by a space or tab, "#" starting a comment (the SNAP format).

It reports:
  viable set   the largest set in which everyone follows at least K others
               inside it (--min-follows K); on follows that go both ways
               this is the K-core. It may fall into several parts.
  communities  topic communities by modularity (Louvain), follows taken
               both ways, largest first, with how many of each are viable
  retention    for each member of the viable set, the share of the people
               they follow who are in it too: the smallest and the median
  suggestions  people outside the set whom many inside follow, with what
               inviting each would do to the weakest member's retention

--json prints one JSON object last with nodes, edges, viable_size, viable
(the labels exactly as written in the input), communities (size each),
modularity, retention (min, median), suggestions and duration_s.
--svg FILE draws the picture: members coloured by community, the viable set
inside the dashed ring, --lead LABEL at the centre.`,
		Example: `  lifeboat analyze group.yaml --min-follows 3 --svg group.svg
  lifeboat analyze --edges follows.txt --min-follows 5
  lifeboat analyze --edges follows.txt --min-follows 5 --json
  lifeboat analyze --edges follows.txt --min-follows 3 --svg group.svg --lead ada`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 1 && edges != "":
				return usageErrorf("analyze takes a group file or --edges FILE, not both")
			case len(args) == 0 && edges == "":
				return usageErrorf("analyze needs a follow graph: GROUP.yaml (the group's imported follows) or --edges FILE (one FOLLOWER FOLLOWEE pair a line)")
			case minFollows < 0:
				return usageErrorf("--min-follows must be 0 or more, not %d", minFollows)
			}
			o := analyze.Options{MinFollows: minFollows, Seed: seed, Suggestions: suggestions}
			if len(args) == 1 {
				r, leadLabel, err := analyzeGroup(cmd.Context(), app, args[0], o)
				if err != nil {
					return err
				}
				if lead == "" {
					lead = leadLabel
				}
				return writeAnalysis(app, r, svg, lead, asJSON)
			}
			// A graph of tens of millions of follows is held whole: the
			// collector runs more often so that the peak stays near what
			// the graph needs (about a third less memory for a tenth more
			// processor time, measured on a million edges).
			debug.SetGCPercent(30)
			start := time.Now()
			g, err := analyze.ReadFile(edges)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return usageErrorf("no such edge list: %s", edges)
				}
				// A damaged or oversized file is the caller's input: exit 2.
				return usageErr(errors.New(safetext.Line(err.Error())))
			}
			return writeAnalysis(app, analyze.Analyze(g, o, start), svg, lead, asJSON)
		},
	}
	cmd.Flags().StringVar(&edges, "edges", "", "the follow graph: FOLLOWER FOLLOWEE a line")
	cmd.Flags().IntVar(&minFollows, "min-follows", 1, "K: everyone in the viable set follows at least K others in it")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringVar(&svg, "svg", "", "draw the picture to this SVG file")
	cmd.Flags().StringVar(&lead, "lead", "", "the label to draw at the centre of the picture")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "the community search's order (the same seed gives the same answer)")
	cmd.Flags().IntVar(&suggestions, "suggestions", 10, "how many growth suggestions to list")
	return cmd
}

// analyzeGroup analyses the group's imported graph
// (groupgraph.Analyze), and says the lead's label for the picture.
func analyzeGroup(ctx context.Context, app *App, file string, o analyze.Options) (*analyze.Report, string, error) {
	g, probs := groups.Load(file)
	if len(probs) > 0 {
		return nil, "", reportProblems(app, probs)
	}
	st, err := app.Store(ctx)
	if err != nil {
		return nil, "", err
	}
	// The roster: the people who joined from the join page and were
	// let in are in the graph too.
	roster, err := campaign.Roster(ctx, st, g)
	if err != nil {
		return nil, "", err
	}
	r, err := groupgraph.Analyze(ctx, st, roster, o)
	return r, groupgraph.LeadLabel(g), err
}

// writeAnalysis draws the picture when asked and prints the report.
func writeAnalysis(app *App, r *analyze.Report, svg, lead string, asJSON bool) error {
	if svg != "" {
		var b bytes.Buffer
		if err := r.WriteSVG(&b, lead); err != nil {
			return err
		}
		// The picture of a group's graph names people who are not
		// members: it is for the lead's eyes, like the edge lists.
		if err := atomicfile.Write(svg, b.Bytes(), 0o600); err != nil {
			return err
		}
	}
	if asJSON {
		return json.NewEncoder(app.Stdout).Encode(r)
	}
	printAnalysis(app, r)
	return nil
}

func printAnalysis(app *App, r *analyze.Report) {
	w := app.Stdout
	fmt.Fprintf(w, "%d people, %d follows\n", r.Nodes, r.Edges)
	fmt.Fprintf(w, "viable set: %d people, everyone following at least %d others inside it\n", r.ViableSize, r.MinFollows)
	if r.ViableSize > 0 {
		fmt.Fprintf(w, "retention: the weakest member keeps %.0f%% of the people they follow, the median %.0f%%\n", 100*r.Retention.Min, 100*r.Retention.Median)
	}
	fmt.Fprintf(w, "communities: %d (modularity %.3f)\n", len(r.Communities), r.Modularity)
	for i, c := range r.Communities {
		if i == 10 {
			fmt.Fprintf(w, "  … and %d smaller\n", len(r.Communities)-10)
			break
		}
		fmt.Fprintf(w, "  %2d  %6d people, %d viable\n", i+1, c.Size, c.Viable)
	}
	if len(r.Suggestions) > 0 {
		fmt.Fprintln(w, "invite next (followed by many in the set):")
		for _, s := range r.Suggestions {
			fmt.Fprintf(w, "  %-30s followed by %d; the weakest member would keep %.0f%%\n", safetext.Line(s.Label), s.FollowedBy, 100*s.MinAfter)
		}
	}
	fmt.Fprintf(w, "took %.2fs\n", r.DurationS)
}
