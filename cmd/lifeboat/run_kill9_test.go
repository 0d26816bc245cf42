package main

import (
	"database/sql"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
)

// The escape's run (lifeboat demo is lifeboat run for the local
// destination: the same engine and journal) is killed with SIGKILL
// while it seeds the mesh, at three points read from GoToSocial's own
// database: once 10, 25 and 45 of the 56 follows of eight members exist.
// Run once more, it ends with exactly 8·7 follows, both ways for every
// pair, no request left waiting, one list each: read back from the
// server.
func TestRunSeedingKill9(t *testing.T) {
	t.Parallel()
	bin, state := lifeboatBin(t), t.TempDir()
	const n = 8
	args := []string{"demo", "--members", "8", "--workers", "2"}
	t.Cleanup(func() {
		cmd := exec.Command(bin, "demo", "--members", "8", "--stop")
		cmd.Env = demoEnv(state)
		cmd.Run()
	})
	// The server's database, read as the mesh grows (GoToSocial runs it
	// in WAL mode: a reader does not stop it).
	var db *sql.DB
	follows := func() int {
		if db == nil {
			path := filepath.Join(state, "groups", "demo-8", "local", "gts.db")
			var err error
			if db, err = sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)"); err != nil {
				return 0
			}
		}
		var c int
		if err := db.QueryRow("SELECT count(*) FROM follows").Scan(&c); err != nil {
			return 0 // not made yet
		}
		return c
	}
	defer func() {
		if db != nil {
			db.Close()
		}
	}()
	for _, at := range []int{10, 25, 45} {
		cmd := exec.Command(bin, args...)
		cmd.Env = demoEnv(state)
		if !killGroupWhen(t, cmd, func() bool { return follows() >= at }) {
			t.Fatalf("the run was not killed at %d follows", at)
		}
		got := follows()
		t.Logf("killed at %d follows on the server", got)
		if got >= n*(n-1) {
			t.Fatalf("every follow was made before the kill at %d: the test proves nothing", at)
		}
	}
	rep := runDemo(t, bin, state, "--members", "8", "--workers", "2")
	if rep.AccountsCreated != n || rep.FollowsSeeded != n*(n-1) || rep.ListsCreated != n || rep.Welcomes != 1 {
		t.Errorf("report after the kills = %+v", rep)
	}
	if got := follows(); got != n*(n-1) {
		t.Errorf("the server holds %d follows, want %d", got, n*(n-1))
	}
	verifyServer(t, state, "demo-8", fmt.Sprintf("Demo group of %d", n), rep.Server, n)
}
