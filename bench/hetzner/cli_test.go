package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
	"github.com/lifeboat-social/lifeboat/internal/tools"
)

// TestCLIEndToEnd runs the built lifeboat binary's plan, up and down
// against the fake API with the real Terraform and provider: the commands
// a lead types, their exit codes and their output.
func TestCLIEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	in := tools.New()
	tf, err := in.Terraform(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mirror, err := in.HcloudMirror(ctx)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	bin := filepath.Join(work, "lifeboat")
	build := exec.Command("go", "build", "-o", bin, "./cmd/lifeboat")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	group, _ := filepath.Abs("../../examples/new-hetzner.yaml")

	f := hcloudfake.New().Start()
	defer f.Close()
	state := filepath.Join(work, "state")
	baseEnv := env(f, state, tf, mirror)
	const poll = "50ms" // the provider's poll interval; the lead's default is 500ms
	run := func(wantCode int, stdin string, extraEnv []string, args ...string) (string, string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(append([]string{}, baseEnv...), extraEnv...)
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != wantCode {
			t.Fatalf("lifeboat %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, wantCode, stdout.String(), stderr.String())
		}
		if strings.Contains(stdout.String()+stderr.String(), f.Token) {
			t.Fatalf("lifeboat %s printed the token", strings.Join(args, " "))
		}
		return stdout.String(), stderr.String()
	}

	// Bad input: exit 2, nothing created.
	run(2, "", []string{"HCLOUD_TOKEN="}, "up", group, "--ssh-from", "203.0.113.7")
	run(2, "", []string{"HCLOUD_TOKEN=" + strings.Repeat("y", 64)}, "up", group, "--ssh-from", "203.0.113.7")
	tokenFile := filepath.Join(work, "token")
	os.WriteFile(tokenFile, []byte(f.Token), 0o644)
	_, stderr := run(2, "", []string{"HCLOUD_TOKEN=", "HCLOUD_TOKEN_FILE=" + tokenFile}, "plan", group)
	if !strings.Contains(stderr, "chmod 600") {
		t.Fatalf("loose token file: %s", stderr)
	}
	run(2, "", nil, "up", group) // no --ssh-from
	run(2, "", nil, "up", "../../examples/river-birders.yaml", "--ssh-from", "203.0.113.7")
	// A type Hetzner no longer sells: exit 2, and the message names the
	// types the location recommends, with their monthly prices.
	old := filepath.Join(work, "old-type.yaml")
	b, _ := os.ReadFile(group)
	os.WriteFile(old, []byte(strings.Replace(string(b), "server_type: "+hcloudfake.CurrentType, "server_type: "+hcloudfake.DeprecatedType, 1)), 0o644)
	_, stderr = run(2, "", nil, "plan", old, "--ssh-from", "203.0.113.7")
	if !strings.Contains(stderr, "cx22 is deprecated in fsn1 and can no longer be ordered there") ||
		!strings.Contains(stderr, "recommended in fsn1") || !strings.Contains(stderr, "cx23 (2 vCPU, 4 GB RAM, 40 GB disk) 4.15 EUR/month") {
		t.Fatalf("plan with a deprecated type:\n%s", stderr)
	}
	if !f.Empty() {
		t.Fatal("bad input created resources")
	}

	// plan --json, with the token from a 0600 file.
	os.Chmod(tokenFile, 0o600)
	out, _ := run(0, "", []string{"HCLOUD_TOKEN=", "HCLOUD_TOKEN_FILE=" + tokenFile}, "plan", group, "--ssh-from", "203.0.113.7", "--json", "--poll-interval", poll)
	if strings.Contains(out, "datacenter") {
		t.Fatalf("plan --json names a datacenter:\n%s", out)
	}
	var plan struct {
		Location  string `json:"location"`
		Resources []struct{ Address, Action string }
		Cost      struct {
			Monthly   float64 `json:"monthly"`
			PerMember float64 `json:"per_member"`
		} `json:"cost"`
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, out)
	}
	// cx23 in fsn1 4.15, backups 0.83, IPv4 0.60: 5.58 for 4 members.
	if len(plan.Resources) != 5 || plan.Location != "fsn1" || plan.Cost.Monthly != 5.58 || plan.Cost.PerMember != 1.4 {
		t.Fatalf("plan = %+v", plan)
	}

	// up: stops after apply against the fake and prints the DNS records.
	out, stderr = run(0, "", nil, "up", group, "--ssh-from", "203.0.113.7", "--poll-interval", poll)
	if !strings.Contains(out, "IN A     198.51.") || !strings.Contains(out, "IN AAAA  2001:db8:") || !strings.Contains(stderr, "fake API") {
		t.Fatalf("up output:\n%s\n%s", out, stderr)
	}
	// up again, --json: the same server.
	out, _ = run(0, "", nil, "up", group, "--ssh-from", "203.0.113.7", "--json", "--poll-interval", poll)
	var res struct {
		ServerID string `json:"server_id"`
		DNS      []struct{ Type, Value string }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.DNS) != 2 {
		t.Fatalf("up --json: %v\n%s", err, out)
	}
	if n := len(f.Servers()); n != 1 || res.ServerID == "" {
		t.Fatalf("%d servers after two ups", n)
	}

	// down: a wrong name destroys nothing (exit 2); the right one does.
	run(2, "valley-cyclist\n", nil, "down", group)
	if f.Empty() {
		t.Fatal("unconfirmed down destroyed")
	}
	out, _ = run(0, "valley-cyclists\n", nil, "down", group)
	if !strings.Contains(out, "Destroyed") || !f.Empty() {
		t.Fatalf("down: %s, left %v", out, f.Counts())
	}
	out, _ = run(0, "", nil, "down", group, "--confirm", "valley-cyclists")
	if !strings.Contains(out, "Nothing to destroy") {
		t.Fatalf("second down: %s", out)
	}
	// No datacenters endpoint and no datacenter property, from pre-flight,
	// the module or the provider, in plan, up or down.
	if g := f.Gone(); len(g) > 0 {
		t.Fatalf("used what the API removed: %q", g)
	}
}
