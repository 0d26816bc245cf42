package lead

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/analyze"
	"github.com/lifeboat-social/lifeboat/analyze/follows"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
	"github.com/lifeboat-social/lifeboat/provision/existing/existingtest"
)

// Analyze gives analyze's own answer on an edge list, with progress,
// and reads an export through the importers.
func TestAnalyzeAnswersAsAnalyze(t *testing.T) {
	path := filepath.Join(t.TempDir(), "follows.txt")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := analyze.WritePlanted(f, 200, 4, 1000, 0.9, 3); err != nil {
		t.Fatal(err)
	}
	f.Close()
	g, err := analyze.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	o := analyze.Options{MinFollows: 5, Seed: 1, Suggestions: 3}
	want := analyze.Analyze(g, o, time.Now())
	var events []progress.Event
	got, err := Analyze(context.Background(), path, "", o, func(e progress.Event) { events = append(events, e) })
	if err != nil {
		t.Fatal(err)
	}
	if got.ViableSize != want.ViableSize || got.Modularity != want.Modularity || len(got.Suggestions) != len(want.Suggestions) {
		t.Errorf("viable %d, modularity %v; analyze says %d, %v", got.ViableSize, got.Modularity, want.ViableSize, want.Modularity)
	}
	if len(events) != 4 || events[0].Step != StepReadGraph || events[3].Kind != progress.StepDone || events[3].Step != StepAnalyze {
		t.Errorf("events %+v", events)
	}

	x := filepath.Join("..", "analyze", "follows", "testdata", "x-ada.zip")
	r, err := Analyze(context.Background(), x, "", o, nil)
	if err != nil {
		t.Fatal(err)
	}
	ex, _ := follows.ReadFile(x, follows.DefaultLimits)
	edges, _ := follows.Edges([]*follows.Export{ex})
	if r.Edges != len(edges) {
		t.Errorf("%d follows read from the X archive, want %d", r.Edges, len(edges))
	}
}

// Analyze's failures keep their types, for the screen to advise by.
func TestAnalyzeErrorsKeepTheirTypes(t *testing.T) {
	ctx := context.Background()
	o := analyze.Options{MinFollows: 1}
	csv := filepath.Join("..", "analyze", "follows", "testdata", "following_accounts.csv")
	for _, c := range []struct {
		path, owner string
		want        error
	}{
		{filepath.Join(t.TempDir(), "missing.txt"), "", fs.ErrNotExist},
		{csv, "", follows.ErrNoOwner},
		{csv, "not an address", follows.ErrOwner},
	} {
		if _, err := Analyze(ctx, c.path, c.owner, o, nil); !errors.Is(err, c.want) {
			t.Errorf("%s (owner %q): %v, want %v", c.path, c.owner, err, c.want)
		}
	}
	edges := filepath.Join(t.TempDir(), "e.txt")
	os.WriteFile(edges, []byte("a b\n"), 0o600)
	if _, err := Analyze(ctx, edges, "@ada@social.example", o, nil); err == nil {
		t.Error("an owner for an edge list was taken")
	}
}

// Request writes a request that verifies, for every member, to the
// group's state directory, and records it as the group's latest; a group
// with no server to ask is told so.
func TestRequest(t *testing.T) {
	ctx := context.Background()
	d, st := newDesk(t)
	d.StateDir = t.TempDir()
	srv := existingtest.Mastodon(t, existingtest.Approval).URL
	now := time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC)
	win := admission.Window{From: now, Until: now.Add(7 * 24 * time.Hour)}
	if _, err := d.Request(ctx, Ask{Group: group, Window: win, Now: now}); !errors.Is(err, ErrNoServer) {
		t.Fatalf("no server: %v", err)
	}
	a, err := d.Request(ctx, Ask{Group: group, File: "/g/river.yaml", Server: srv, Window: win, Now: now, Message: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	req, err := admission.Decode(data)
	if err != nil || req.ID() != a.Request.ID() || req.Size != 3 || req.Message != "hello" || len(req.Rules) != len(a.Server.Rules) {
		t.Fatalf("written %+v, %v", req, err)
	}
	if filepath.Dir(a.Path) != filepath.Join(d.StateDir, "groups", "river-birders") {
		t.Errorf("written to %s", a.Path)
	}
	latest, err := admission.LatestRequest(ctx, st.Journal(), "river-birders", srv)
	if err != nil || latest.ID() != req.ID() {
		t.Errorf("latest %v, %v", latest, err)
	}
	if a.Supersedes {
		t.Error("a first request supersedes nothing")
	}
}
