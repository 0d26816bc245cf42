package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/analyze"
	"github.com/lifeboat-social/lifeboat/analyze/follows"
	"github.com/lifeboat-social/lifeboat/analyze/groupgraph"
	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/groups"
)

// plantedFile writes a planted-partition follow graph (four communities
// of 75) to dir, the same every run.
func plantedFile(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "follows.txt")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := analyze.WritePlanted(f, 300, 4, 1500, 0.9, 7); err != nil {
		t.Fatal(err)
	}
	return path
}

// The analyze screen runs lifeboat analyze's analysis on the file the
// lead names and shows its answers: the viable size is analyze's own on
// the same graph and K, and the picture is drawn.
func TestAnalysisScreen(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		path := plantedFile(t, f.dir)
		g, err := analyze.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := analyze.Analyze(g, analyze.Options{MinFollows: 6, Seed: 1}, time.Now())
		if want.ViableSize == 0 || want.ViableSize == want.Nodes {
			t.Fatalf("the fixture's viable set (%d of %d) tells nothing", want.ViableSize, want.Nodes)
		}
		line := fmt.Sprintf("viable set   %d of %d follow 6+ others in it", want.ViableSize, want.Nodes)
		m := play(t, size, New(context.Background(), f.d, f.file), waitFor("Jamal"), press("7"), waitFor("a names a follow graph"), press("a"), waitFor("Follow graph"),
			press("~/follows.txt<enter><enter><ctrl+u>6<enter>"+g.Labels[0]+"<enter>"), waitFor(line))
		v := m.View()
		if !strings.Contains(v, "◉") || !strings.ContainsAny(v, "⣿⠁⠂⠄⡀⠈⠐⠠⢀") {
			t.Errorf("no picture:\n%s", v)
		}
		if !strings.Contains(v, fmt.Sprintf("%d, modularity %.3f", len(want.Communities), want.Modularity)) {
			t.Errorf("communities differ from analyze's %d (%.3f):\n%s", len(want.Communities), want.Modularity, v)
		}
		screenGolden(t, m)
	})
}

// An export is read through the importers, and a failure keeps its type:
// an export that does not say whose it is asks for its owner.
func TestAnalysisOfAnExport(t *testing.T) {
	f := newFixture(t)
	src := filepath.Join(repoRoot(t), "analyze", "follows", "testdata", "following_accounts.csv")
	ex, err := follows.ReadFile(src, follows.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.SetOwner("@ada@social.example"); err != nil {
		t.Fatal(err)
	}
	edges, _ := follows.Edges([]*follows.Export{ex})
	people := map[string]bool{}
	for _, e := range edges {
		people[e[0]], people[e[1]] = true, true
	}
	play(t, sizes[1], New(context.Background(), f.d, ""), waitFor("No groups yet"), press("G"), waitFor("a names a follow graph"), press("a"), waitFor("Follow graph"),
		press(src+"<enter><enter><enter><enter>"), waitFor("Say whose export it is"),
		press("a"), waitFor("Follow graph"), press("<enter>@ada@social.example<enter><enter><enter>"),
		waitFor(fmt.Sprintf("graph        %d people, %d follows", len(people), len(edges))))
}

// With a group open and no file named, the screen answers on the group's
// imported graph (groupgraph.Analyze, as lifeboat analyze GROUP.yaml),
// the lead at the centre.
func TestAnalysisOfTheGroupsGraph(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g, _ := groups.Load(f.file)
	if err := escape.SaveGroup(ctx, f.st, g); err != nil {
		t.Fatal(err)
	}
	// Ada, Ben and Chloe follow each other on X, and each a stranger.
	xs := []follows.Account{{Handle: "adaheron", ID: "1"}, {Handle: "benk", ID: "2"}, {Handle: "chloewren", ID: "3"}}
	for i, email := range []string{"ada@example.org", "ben@example.org", "chloe@example.org"} {
		ex := &follows.Export{File: "x.zip", Network: follows.X, Format: "X archive", Self: xs[i], Following: []follows.Account{{ID: "99"}}}
		for j := range xs {
			if j != i {
				ex.Following = append(ex.Following, follows.Account{ID: xs[j].ID})
			}
		}
		if _, err := groupgraph.Import(ctx, f.st, g, email, ex, fixedNow); err != nil {
			t.Fatal(err)
		}
	}
	want, err := groupgraph.Analyze(ctx, f.st, g, analyze.Options{MinFollows: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want.ViableSize != 3 {
		t.Fatalf("groupgraph's viable set is %d, want the three", want.ViableSize)
	}
	m := play(t, sizes[1], New(ctx, f.d, f.file), waitFor("Jamal"), press("7"), waitFor("a names a follow graph"), press("a"),
		waitFor("empty for the group's imported graph"), press("<enter><enter><ctrl+u>2<enter><enter>"),
		waitFor(fmt.Sprintf("viable set   %d of %d follow 2+ others in it", want.ViableSize, want.Nodes)))
	if v := m.View(); !strings.Contains(v, "the group's imported graph") || !strings.Contains(v, "◉") {
		t.Errorf("the group's graph, with the lead at the centre:\n%s", v)
	}
}
