package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
)

// killGroupWhen starts cmd in its own process group and, once ready
// answers true (polled every 20 ms), kills the whole group with SIGKILL:
// the command and every child it started (Terraform and its provider),
// as a machine that loses power does. It reports whether the kill came
// before the command finished by itself.
func killGroupWhen(t *testing.T, cmd *exec.Cmd, ready func() bool) bool {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			t.Logf("the run ended before the kill point (%v):\n%s", err, out.String())
			return false
		case <-tick.C:
			if !ready() {
				continue
			}
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			err := <-done
			var ee *exec.ExitError
			return errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
		}
	}
}

// `lifeboat up` killed with SIGKILL mid-apply, Terraform and its provider
// with it, at four points of the apply (after the SSH key, the primary
// IP, the server's creation call, the firewall's attachment), then run
// again: the fake Hetzner API ends with exactly the resources of one
// clean run (one server, its primary IPs, one SSH key, one firewall), no
// orphan left by the killed run, and down leaves it empty.
func TestUpSurvivesKill9(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	tf, mirror := terraformTools(ctx, t)
	bin := lifeboatBin(t)
	group, _ := filepath.Abs("../../examples/new-hetzner.yaml")
	upArgs := []string{"up", group, "--ssh-from", "203.0.113.7", "--poll-interval", "50ms"}
	env := func(f *hcloudfake.Fake, state string) []string {
		return append(demoEnv(state), "HCLOUD_TOKEN="+f.Token, "HCLOUD_ENDPOINT="+f.URL(),
			"LIFEBOAT_TERRAFORM="+tf, "LIFEBOAT_HCLOUD_MIRROR="+mirror)
	}
	up := func(t *testing.T, f *hcloudfake.Fake, state string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, upArgs...)
		cmd.Env = env(f, state)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("lifeboat up: %v\n%s", err, out)
		}
	}

	// One clean run: what exactly one server's worth of resources is.
	clean := hcloudfake.New().Start()
	defer clean.Close()
	up(t, clean, t.TempDir())
	want := clean.Counts()
	if want["servers"] != 1 || want["primary_ips"] == 0 {
		t.Fatalf("a clean up made %v", want)
	}

	called := func(f *hcloudfake.Fake, call string) func() bool {
		return func() bool {
			for _, c := range f.Calls() {
				if strings.HasPrefix(c, call) {
					return true
				}
			}
			return false
		}
	}
	for _, point := range []string{"POST /ssh_keys", "POST /primary_ips", "POST /servers", "POST /firewalls"} {
		t.Run(strings.ReplaceAll(point, "/", "_"), func(t *testing.T) {
			f := hcloudfake.New().Start()
			defer f.Close()
			state := t.TempDir()
			cmd := exec.CommandContext(ctx, bin, upArgs...)
			cmd.Env = env(f, state)
			if !killGroupWhen(t, cmd, called(f, point)) {
				t.Fatalf("up was not killed at %s; calls: %v", point, f.Calls())
			}
			before := f.Counts()
			t.Logf("killed at %s: the cloud holds %v", point, before)
			up(t, f, state)
			if got := f.Counts(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("killed at %s (the fake then held %v), up again left %v; one clean run makes %v", point, before, got, want)
			}
			// A third run changes nothing.
			up(t, f, state)
			if got := f.Counts(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("a third up left %v", got)
			}
			down := exec.CommandContext(ctx, bin, "down", group, "--confirm", "valley-cyclists")
			down.Env = env(f, state)
			if out, err := down.CombinedOutput(); err != nil || !f.Empty() {
				t.Fatalf("down: %v, left %v\n%s", err, f.Counts(), out)
			}
		})
	}
}
