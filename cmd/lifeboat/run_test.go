package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/provision/existing/existingtest"
)

func TestRunCommand(t *testing.T) {
	state := t.TempDir()

	// The local destination is the demo's.
	_, stderr, code := lb(t, state, "run", "../../examples/river-birders.yaml")
	if code != 2 || !strings.Contains(stderr, "lifeboat demo --group") {
		t.Errorf("run on a local group: exit %d, %q", code, stderr)
	}

	// An existing server: the playbook scouts it and refuses to launch
	// before the admin's acceptance reached the lead — and says so.
	srv := existingtest.Mastodon(t, existingtest.Approval)
	file := filepath.Join(t.TempDir(), "g.yaml")
	group := `version: 1
name: run-test
title: Run test
viable_mass: 2
lead: {name: Ada, email: ada@example.org}
destination: {type: existing, server: "` + srv.URL + `"}
members:
  - {name: Ada, email: ada@example.org}
  - {name: Ben, email: ben@example.org}
`
	if err := os.WriteFile(file, []byte(group), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = lb(t, state, "run", file)
	if code != 1 || !strings.Contains(stderr, "the server's admin has not accepted the group's admission request (run lifeboat request "+file) {
		t.Errorf("run before acceptance: exit %d, %q", code, stderr)
	}
	// Accepted (the admin shares this machine's state): now it is the
	// pledges that are missing.
	req := filepath.Join(t.TempDir(), "request.json")
	if _, errs, code := lb(t, state, "request", file, "--days", "7", "--out", req); code != 0 {
		t.Fatalf("request: exit %d: %s", code, errs)
	}
	if _, errs, code := lb(t, state, "admin", "review", req, "--accept"); code != 0 {
		t.Fatalf("accept: exit %d: %s", code, errs)
	}
	_, stderr, code = lb(t, state, "run", file)
	if code != 1 || !strings.Contains(stderr, "not viable yet: 0 would go, 2 needed") {
		t.Errorf("run before pledges: exit %d, %q", code, stderr)
	}
	_, stderr, code = lb(t, state, "run")
	if code != 2 {
		t.Errorf("run without a file: exit %d, %q", code, stderr)
	}
}

// The TUI's launch runs the same playbooks on the destination the one
// builder makes: on an existing server it scouts and refuses a group that
// is not viable; a new server needs the cloud token, and says so.
func TestTUILaunchRunsPlaybooks(t *testing.T) {
	srv := existingtest.Mastodon(t, existingtest.Open)
	g := &groups.Group{Version: 1, Name: "tui-launch", Title: "T", ViableMass: 2,
		Lead:        groups.Person{Name: "A", Email: "a@example.org"},
		Destination: groups.Destination{Type: groups.DestExisting, Server: srv.URL},
		Members:     []groups.Member{{Name: "A", Email: "a@example.org"}, {Name: "B", Email: "b@example.org"}}}
	app := &App{Stdout: io.Discard, Stderr: io.Discard, StateDir: t.TempDir()}
	defer app.Close()
	_, err := tuiLaunch(context.Background(), app, g, nil)
	if err == nil || !strings.Contains(err.Error(), "admin has not accepted") {
		t.Errorf("existing: %v, want the playbook's launch refusal", err)
	}
	g.Destination = groups.Destination{Type: groups.DestNew, Domain: "x.example", Cloud: "hetzner", Location: "fsn1", ServerType: "cx22"}
	if _, err := tuiLaunch(context.Background(), app, g, nil); err == nil || !strings.Contains(err.Error(), "no Hetzner Cloud token") {
		t.Errorf("new: %v, want the missing token named", err)
	}
}
