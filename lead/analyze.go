package lead

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lifeboat-social/lifeboat/analyze"
	"github.com/lifeboat-social/lifeboat/analyze/follows"
	"github.com/lifeboat-social/lifeboat/analyze/groupgraph"
	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
)

// The steps of an analysis, as its progress events name them.
const (
	StepReadGraph = "read the follow graph"
	StepAnalyze   = "find the viable set and the communities"
)

// Analyze answers lifeboat analyze's question (package analyze: the
// viable set for o.MinFollows, the communities, retention, growth
// suggestions) on the follow graph in path: an edge list, or one data
// export of those lifeboat import reads (analyze/follows). owner names
// whose export it is where the export does not say (a Mastodon CSV,
// Instagram JSON); "" otherwise. Errors keep their types: a damaged
// export is a *follows.Error, a missing file fs.ErrNotExist.
func Analyze(ctx context.Context, path, owner string, o analyze.Options, emit progress.Func) (*analyze.Report, error) {
	start := time.Now()
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: StepReadGraph, Message: "reading " + path})
	g, what, err := readGraph(path, owner)
	if err != nil {
		emit.Emit(progress.Event{Kind: progress.Failed, Step: StepReadGraph, Message: err.Error(), Err: err})
		return nil, err
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: StepReadGraph,
		Message: fmt.Sprintf("%s: %d people, %d follows", what, g.N(), g.Edges())})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: StepAnalyze, Message: StepAnalyze})
	r := analyze.Analyze(g, o, start)
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: StepAnalyze,
		Message: fmt.Sprintf("viable set %d, %d communities, in %.2fs", r.ViableSize, len(r.Communities), r.DurationS)})
	return r, ctx.Err()
}

// AnalyzeGroup answers the same question on the group's imported graph
// (groupgraph.Analyze, as lifeboat analyze GROUP.yaml does: the viable set
// sought among the lead and the members, named by their emails), and
// gives the lead's label, the picture's centre.
func (d *Desk) AnalyzeGroup(ctx context.Context, g *groups.Group, o analyze.Options, emit progress.Func) (*analyze.Report, string, error) {
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: StepAnalyze, Message: "analysing the group's imported graph"})
	var r *analyze.Report
	roster, err := campaign.Roster(ctx, d.Store, g)
	if err == nil {
		r, err = groupgraph.Analyze(ctx, d.Store, roster, o)
	}
	if err != nil {
		emit.Emit(progress.Event{Kind: progress.Failed, Step: StepAnalyze, Message: err.Error(), Err: err})
		return nil, "", err
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: StepAnalyze,
		Message: fmt.Sprintf("viable set %d, %d communities, in %.2fs", r.ViableSize, len(r.Communities), r.DurationS)})
	return r, groupgraph.LeadLabel(g), nil
}

// readGraph reads path as a data export, or, when it is none, as an edge
// list; what says which it was.
func readGraph(path, owner string) (g *analyze.Graph, what string, err error) {
	ex, err := follows.ReadFile(path, follows.DefaultLimits)
	if errors.Is(err, follows.ErrUnknown) {
		if owner != "" {
			return nil, "", fmt.Errorf("%s: an edge list names everyone itself; leave the owner empty", path)
		}
		g, err := analyze.ReadFile(path)
		if err != nil {
			return nil, "", err
		}
		return g, "edge list", nil
	}
	if err != nil {
		return nil, "", err
	}
	if owner != "" {
		if err := ex.SetOwner(owner); err != nil {
			return nil, "", err
		}
	}
	edges, err := follows.Edges([]*follows.Export{ex})
	if err != nil {
		return nil, "", err
	}
	// The labels hold no white space (follows.Label), so the edges read
	// back as an edge list exactly.
	var b bytes.Buffer
	for _, e := range edges {
		b.WriteString(e[0] + " " + e[1] + "\n")
	}
	g, err = analyze.ReadEdges(&b)
	return g, ex.Format, err
}
