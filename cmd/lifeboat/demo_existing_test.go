package main

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
)

// TestDemoExistingServer: `lifeboat demo --destination existing --json`
// ends with exact counts on a real GoToSocial in approval mode, reads the
// same from the server, leaves it running in approval mode, and runs
// again without doing anything twice; --stop stops it.
func TestDemoExistingServer(t *testing.T) {
	bin, state := lifeboatBin(t), t.TempDir()
	const n = 3
	run := func() map[string]any {
		t.Helper()
		cmd := exec.Command(bin, "demo", "--destination", "existing", "--members", "3", "--json")
		cmd.Env = demoEnv(state)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("demo: %v\n%s", err, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		var rep map[string]any
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
			t.Fatalf("last line: %v\n%s", err, out)
		}
		return rep
	}
	t.Cleanup(func() {
		cmd := exec.Command(bin, "demo", "--destination", "existing", "--members", "3", "--stop")
		cmd.Env = demoEnv(state)
		cmd.Run()
	})
	for i := range 2 {
		rep := run()
		if rep["destination"] != "existing" || rep["members"] != float64(n) || rep["accounts_created"] != float64(n) ||
			rep["lists_created"] != float64(n) || rep["follows_seeded"] != float64(n*(n-1)) {
			t.Fatalf("run %d: %v", i+1, rep)
		}
		url, _ := rep["server"].(string)
		// The server runs on, in approval mode, and holds the members and
		// its admin only.
		adminToken := localAdminToken(t, filepath.Join(state, "groups", "demo-existing-3", "their-server"))
		all, err := fedi.New(url).WithToken(adminToken).AdminAccounts(context.Background(), map[string][]string{"origin": {"local"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != n+1 {
			t.Fatalf("run %d: the server has %d local accounts, want %d members + the admin", i+1, len(all), n)
		}
		in, err := fedi.New(url).InstanceV2(context.Background())
		if err != nil || !in.Registrations.ApprovalRequired {
			t.Fatalf("run %d: the server's registrations %+v, %v", i+1, in.Registrations, err)
		}
	}
}

// TestDemoExistingTooMany: GoToSocial v0.17.3 approves 10 sign-ups a
// day, its admin's among them: a larger demo is refused up front.
func TestDemoExistingTooMany(t *testing.T) {
	cmd := exec.Command(lifeboatBin(t), "demo", "--destination", "existing", "--members", "10")
	cmd.Env = demoEnv(t.TempDir())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "at most 10 sign-ups a day") {
		t.Fatalf("%v:\n%s", err, out)
	}
}
