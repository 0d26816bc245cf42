package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Flags that did nothing are gone: asking for them is a usage error.
func TestNoFlagsThatDoNothing(t *testing.T) {
	state := t.TempDir()
	file := "../../examples/river-birders.yaml"
	for _, args := range [][]string{
		{"pledges", "open", file, "--rule", "be kind"},
		{"pledges", "status", file, "--rule", "be kind"},
		{"pledges", "launch", file, "--rule", "be kind"},
		{"invites", "export", file, "--rule", "be kind"},
		{"pledges", "status", file, "--invite-ttl", "1h"},
		{"pledges", "status", file, "--base-url", "https://x.example"},
	} {
		if _, stderr, code := lb(t, state, args...); code != 2 || !strings.Contains(stderr, "unknown flag") {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
	if _, stderr, code := lb(t, state, "pledges", "status", file); code != 0 {
		t.Errorf("pledges status: exit %d: %s", code, stderr)
	}
}

// demo --stop stops the demo server that runs, whichever demo group it
// is for, not only the example group's.
func TestDemoStopStopsTheRunningDemo(t *testing.T) {
	state := t.TempDir()
	dir := filepath.Join(state, "groups", "demo-5", "local")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// a stand-in for the GoToSocial a generated demo group left running
	srv := exec.Command("sleep", "60")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { srv.Wait(); close(exited) }()
	defer srv.Process.Kill()
	if err := os.WriteFile(filepath.Join(dir, "gotosocial.pid"), []byte(strconv.Itoa(srv.Process.Pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := lb(t, state, "demo", "--stop")
	if code != 0 || !strings.Contains(out, "The demo server of demo-5 is stopped.") {
		t.Fatalf("demo --stop: exit %d, %q, %q", code, out, stderr)
	}
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the running demo server was not stopped")
	}
	if srv.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Errorf("stopped by %v, want SIGTERM", srv.ProcessState)
	}
	if _, err := os.Stat(filepath.Join(dir, "gotosocial.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file left: %v", err)
	}
	if out, _, code := lb(t, state, "demo", "--stop"); code != 0 || !strings.Contains(out, "No demo server is running") {
		t.Errorf("second stop: exit %d, %q", code, out)
	}
}

// The TUI's o key mails the pledge links through the same server as
// lifeboat pledges open, over the configured SMTP relay (a real one on
// loopback here), once per member however often it is pressed.
func TestTUIOpenPledgesMails(t *testing.T) {
	mb := configuredRelay(t)
	app := &App{Stdout: io.Discard, Stderr: io.Discard, StateDir: t.TempDir()}
	defer app.Close()
	file := "../../examples/river-birders.yaml"
	n, err := tuiOpenPledges(context.Background(), app, file, "https://lifeboat.example.org")
	if err != nil || n != 12 {
		t.Fatalf("sent %d: %v", n, err)
	}
	if got := len(mb.Messages()); got != 12 {
		t.Fatalf("the relay got %d mails, want 12", got)
	}
	m := mb.To("ada@example.org")
	if len(m) != 1 || !strings.Contains(m[0].Text, "https://lifeboat.example.org/") {
		t.Fatalf("ada's mail: %+v", m)
	}
	if n, err := tuiOpenPledges(context.Background(), app, file, "https://lifeboat.example.org"); err != nil || n != 0 || len(mb.Messages()) != 12 {
		t.Errorf("again: sent %d (%v), relay has %d", n, err, len(mb.Messages()))
	}
}
