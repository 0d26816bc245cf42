package main

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/meshcheck"
	"github.com/lifeboat-social/lifeboat/provision/destination"
	"github.com/lifeboat-social/lifeboat/provision/fednet"
)

// TestDemoRemoteMembers: the demo of 8 with 3 remote members makes 5
// accounts on the room and 3 on the second server, and the mesh across
// both is exact, read back here from both servers with each member's own
// token; a second run changes nothing; --stop stops both servers.
func TestDemoRemoteMembers(t *testing.T) {
	t.Parallel()
	bin := lifeboatBin(t)
	state := t.TempDir()
	args := []string{"--members", "8", "--remote-members", "3"}
	stop := func() string {
		cmd := exec.Command(bin, append([]string{"demo", "--stop"}, args...)...)
		cmd.Env = demoEnv(state)
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	t.Cleanup(func() { stop() })
	serverLogsOnFailure(t, state, "demo-8-remote-3")

	rep := runDemo(t, bin, state, args...)
	if rep.AccountsCreated != 5 || rep.RemoteMembers != 3 || rep.FollowsSeeded != 56 || rep.ListsCreated != 8 ||
		rep.ListEntries != 56 || rep.Members != 8 {
		t.Errorf("report = %+v; want 5 accounts + 3 remote members, 56 follows, 8 lists", rep)
	}
	if rep.Server != "https://"+fednet.Room {
		t.Errorf("the room is %s, want https://%s", rep.Server, fednet.Room)
	}
	checkRemoteDemo(t, state, "demo-8-remote-3", 5, 3)

	again := runDemo(t, bin, state, args...)
	again.DurationS, rep.DurationS = 0, 0
	if again != rep {
		t.Errorf("second run reports %+v, first %+v", again, rep)
	}

	out := stop()
	for _, want := range []string{"The demo server of demo-8-remote-3 is stopped.", "The remote members' server of demo-8-remote-3 is stopped."} {
		if !strings.Contains(out, want) {
			t.Errorf("demo --stop said %q, without %q", out, want)
		}
	}
	for _, dir := range []string{destination.LocalDir(state, "demo-8-remote-3"), destination.RemoteDir(state, "demo-8-remote-3")} {
		if _, err := os.Stat(filepath.Join(dir, "gotosocial.pid")); err == nil {
			t.Errorf("%s still has a running server", dir)
		}
	}
}

// serverLogsOnFailure prints, when the test fails, what both servers of
// the demo logged (warnings and errors: GoToSocial logs at warn), before
// the state directory goes: federation that fails under load is told
// apart by the servers' own words (e.g. "network race during …
// handshake").
func serverLogsOnFailure(t *testing.T, state, group string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, dir := range []string{destination.LocalDir(state, group), destination.RemoteDir(state, group)} {
			b, err := os.ReadFile(filepath.Join(dir, "gotosocial.log"))
			if len(b) > 16<<10 {
				b = b[len(b)-16<<10:]
			}
			t.Logf("%s/gotosocial.log (%v), its end:\n%s", dir, err, b)
		}
	})
}

// checkRemoteDemo reads both servers of a demo with remote members: the
// store's account rows say where each member lives, each server holds
// exactly its members (and its admin), the mesh is exact across both, and
// no follow request waits anywhere.
func checkRemoteDemo(t *testing.T, state, group string, onRoom, onHome int) {
	t.Helper()
	ctx := context.Background()
	n, err := fednet.Open(destination.NetDir(state, group))
	if err != nil {
		t.Fatal(err)
	}
	hc := fedi.WithHTTPClient(n.HTTPClient())
	accs := storedAccounts(t, state, group)
	room, home := "https://"+fednet.Room, "https://"+fednet.Home
	where := map[string]int{}
	for _, a := range accs {
		where[a.Server]++
		if a.Server == home && a.Acct != a.Username+"@"+fednet.Home {
			t.Errorf("%s lives on home with address %q", a.Email, a.Acct)
		}
		if reqs, err := fedi.New(a.Server, hc).WithToken(a.Token).FollowRequests(ctx); err != nil || len(reqs) > 0 {
			t.Errorf("%s has %d follow requests waiting (%v)", a.Email, len(reqs), err)
		}
	}
	if where[room] != onRoom || where[home] != onHome || len(accs) != onRoom+onHome {
		t.Fatalf("accounts by server %v; want %d on the room and %d on home", where, onRoom, onHome)
	}
	counts, err := meshcheck.Check(ctx, room, "Demo group of 8", meshcheck.Accounts(accs), hc)
	if err != nil {
		t.Error(err)
	}
	all := onRoom + onHome
	if want := (meshcheck.Counts{Follows: all * (all - 1), Lists: all, Listed: all * (all - 1)}); counts != want {
		t.Errorf("read back %+v, want %+v", counts, want)
	}
	for _, s := range []struct {
		url, dir string
		members  int
	}{{room, destination.LocalDir(state, group), onRoom}, {home, destination.RemoteDir(state, group), onHome}} {
		local, err := fedi.New(s.url, hc).WithToken(localAdminToken(t, s.dir)).AdminAccounts(ctx, url.Values{"origin": {"local"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(local) != s.members+1 {
			t.Errorf("%s has %d local accounts, want %d members + the admin", s.url, len(local), s.members)
		}
	}
}

// TestDemoRemoteMembersSurvivesKill9: runs of the lifeboat binary killed
// while the remote members join their server (before the first has an
// account row, and after), and while the mesh is seeded across the two
// servers (follows sent and not yet arrived by federation), leave a state
// the next run finishes exactly: no account made twice on either server,
// no follow or list doubled, no follow request left waiting.
func TestDemoRemoteMembersSurvivesKill9(t *testing.T) {
	t.Parallel()
	bin := lifeboatBin(t)
	state := t.TempDir()
	args := []string{"--members", "8", "--remote-members", "3"}
	t.Cleanup(func() {
		cmd := exec.Command(bin, append([]string{"demo", "--stop"}, args...)...)
		cmd.Env = demoEnv(state)
		cmd.Run()
	})
	serverLogsOnFailure(t, state, "demo-8-remote-3")
	killed := 0
	for _, marker := range []string{"remote members join: 0 of 3", "remote members join: 1 of 3"} {
		if killAt(t, bin, state, marker, 200*time.Millisecond, args...) {
			killed++
		}
	}
	if killed == 0 {
		t.Fatal("no run was killed while the remote members joined")
	}
	// The accounts are there now: these runs go straight to the mesh.
	seeding := 0
	for _, delay := range []time.Duration{0, 700 * time.Millisecond, 2 * time.Second} {
		if killAt(t, bin, state, "Seed follows", delay, args...) {
			seeding++
		}
	}
	if seeding == 0 {
		t.Fatal("no run was killed while the mesh was seeded")
	}
	rep := runDemo(t, bin, state, args...)
	if rep.AccountsCreated != 5 || rep.RemoteMembers != 3 || rep.FollowsSeeded != 56 || rep.ListsCreated != 8 {
		t.Errorf("report after the kills = %+v", rep)
	}
	checkRemoteDemo(t, state, "demo-8-remote-3", 5, 3)
}
