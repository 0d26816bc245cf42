package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
	"github.com/lifeboat-social/lifeboat/web"
)

// TestNewDestinationCommands: serve's connection to a group's new
// instance, and run, before and after up, against the stateful fake of the
// Hetzner API with real Terraform (plan, up and down themselves are run
// as a lead types them in bench/hetzner's TestCLIEndToEnd). The fake
// creates no machine, so up stops after apply; serve must then say what
// is missing and keep serving pledges, not fail or pretend the server is
// there, and run must stop clearly.
func TestNewDestinationCommands(t *testing.T) {
	f := hcloudfake.New().Start()
	defer f.Close()
	t.Setenv("HCLOUD_ENDPOINT", f.URL())
	t.Setenv("HCLOUD_TOKEN", f.Token)
	state := t.TempDir()
	file := filepath.Join(t.TempDir(), "cyclists.yaml")
	err := os.WriteFile(file, []byte(`version: 1
name: valley-cyclists
title: Valley Cyclists
viable_mass: 2
lead: {name: Quinn, email: quinn@example.org}
destination: {type: new, domain: social.valley-cyclists.example, cloud: hetzner, location: fsn1, server_type: cx23}
members:
  - {name: Quinn, email: quinn@example.org}
  - {name: Rosa, email: rosa@example.org}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	g, probs := groups.Load(file)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	attach := func() string {
		t.Helper()
		var errb bytes.Buffer
		app := &App{Stdout: &bytes.Buffer{}, Stderr: &errb, StateDir: state}
		defer app.Close()
		f := &followArrivals{connect: func(ctx context.Context) (web.Arrivals, func(), error) {
			return serveArrivals(ctx, app, g, web.HomesConfig{})
		},
			every: time.Minute, now: time.Now, log: slog.New(slog.DiscardHandler)}
		defer f.close()
		if err := f.start(context.Background(), &errb); err != nil || f.arr != nil {
			t.Fatalf("serve's arrivals: %v, %v", f.arr, err)
		}
		return errb.String()
	}
	if got := attach(); !strings.Contains(got, "no server yet; run lifeboat up first") {
		t.Fatalf("before up: %s", got)
	}

	out, errs, code := lb(t, state, "up", file, "--ssh-from", "203.0.113.7", "--poll-interval", "50ms")
	if code != 0 {
		t.Fatalf("up: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "social.valley-cyclists.example.") || len(f.Servers()) != 1 {
		t.Fatalf("up printed no DNS records or made %d servers:\n%s", len(f.Servers()), out)
	}
	if got := attach(); !strings.Contains(got, "the server has no admin yet; run lifeboat up again") {
		t.Fatalf("after an up that could not wait: %s", got)
	}
	// run needs the server answering: against the fake it stops, clearly,
	// before any step of the escape.
	if _, errs, code := lb(t, state, "run", file, "--ssh-from", "203.0.113.7", "--poll-interval", "50ms"); code != 1 || !strings.Contains(errs, "the server is not ready") {
		t.Fatalf("run against the fake: exit %d: %s", code, errs)
	}
	if len(f.Servers()) != 1 {
		t.Fatal("serve or run changed the servers")
	}
	if g := f.Gone(); len(g) > 0 {
		t.Fatalf("up used what the API removed: %q", g)
	}
}
