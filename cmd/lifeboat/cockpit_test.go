package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/groups"
)

// lifeboat pledges export and the TUI's x key write the same files, one
// link per member, readable only by the lead; without --csv the CSV goes
// to stdout.
func TestPledgesExportFiles(t *testing.T) {
	state, dir := t.TempDir(), t.TempDir()
	file := "../../examples/river-birders.yaml"
	csvA, sheetA := filepath.Join(dir, "a.csv"), filepath.Join(dir, "a.html")
	_, errs, code := lb(t, state, "pledges", "export", file, "--base-url", "https://lifeboat.example.org", "--csv", csvA, "--sheet", sheetA)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	app := &App{Stdout: io.Discard, Stderr: io.Discard, StateDir: state}
	defer app.Close()
	// the TUI makes the directory it writes to (the group's, by default)
	csvB, sheetB := filepath.Join(dir, "groups", "b.csv"), filepath.Join(dir, "groups", "b.html")
	n, err := tuiExportPledges(context.Background(), app, file, "https://lifeboat.example.org", csvB, sheetB)
	if err != nil || n != 12 {
		t.Fatalf("the TUI's export: %d, %v", n, err)
	}
	a, _ := os.ReadFile(csvA)
	b, _ := os.ReadFile(csvB)
	if !bytes.Equal(a, b) || strings.Count(string(a), "https://lifeboat.example.org/pledge/") != 12 {
		t.Errorf("the command's CSV and the TUI's differ, or do not hold 12 links:\n%s\n%s", a, b)
	}
	for _, p := range []string{csvA, sheetA, csvB, sheetB} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, want a 0600 file", p, err)
		}
	}
	out, errs, code := lb(t, state, "pledges", "export", file, "--base-url", "https://lifeboat.example.org")
	if code != 0 || out != string(a) {
		t.Errorf("to stdout (exit %d, %s):\n%s", code, errs, out)
	}
}

// The TUI's launch of a local group is refused before anything starts:
// the local playbook's simulated members are lifeboat demo's alone.
func TestTUILaunchRefusesALocalGroup(t *testing.T) {
	app := &App{Stdout: io.Discard, Stderr: io.Discard, StateDir: t.TempDir()}
	defer app.Close()
	g, probs := groups.Load("../../examples/river-birders.yaml")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	_, err := tuiLaunch(context.Background(), app, g, nil)
	if !errors.Is(err, escape.ErrDemoOnly) {
		t.Fatalf("launch of a local group: %v, want escape.ErrDemoOnly", err)
	}
	st, err := app.Store(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ps, _ := st.Pledges().List(context.Background(), g.Name); len(ps) != 0 {
		t.Errorf("%d pledges made up", len(ps))
	}
	if _, err := os.Stat(filepath.Join(app.StateDir, "groups", g.Name, "local")); err == nil {
		t.Error("the local server was set up")
	}
}
