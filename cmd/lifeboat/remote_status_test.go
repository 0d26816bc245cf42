package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/lead"
	"github.com/lifeboat-social/lifeboat/provision/destination"
	"github.com/lifeboat-social/lifeboat/provision/fednet"
)

// pledges status counts the members who keep their own accounts on other
// servers: how many there are, pledged and going, in --json as
// remote_members, remote_pledged and remote_going, and in a line of text.
// A member whose account is on the destination is not remote.
func TestPledgesStatusCountsRemoteMembers(t *testing.T) {
	state := t.TempDir()
	const file = "../../examples/existing-server.yaml" // destination https://social.example
	if st := statusJSON(t, state, file); st.RemoteMembers != 0 {
		t.Fatalf("fresh state: %d remote", st.RemoteMembers)
	}
	pledge(t, state, "harbour-knitters", "mara@example.org", "noor@example.org", "otto@example.org")
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []store.Account{
		{Email: "noor@example.org", Server: "https://home.example", ID: "1", Token: "t", Acct: "noor@home.example"},
		{Email: "otto@example.org", Server: "https://social.example", ID: "2", Token: "t", Username: "otto"},
		{Email: "priya@example.org", Server: "https://elsewhere.example", ID: "3", Token: "t", Acct: "priya@elsewhere.example"},
	} {
		a.Group = "harbour-knitters"
		if err := s.Accounts().Put(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	st := statusJSON(t, state, file)
	if st.RemoteMembers != 2 || st.RemotePledged != 1 || st.RemoteGoing != 1 || st.Pledged != 3 || st.Going != 3 {
		t.Fatalf("remote %d, pledged %d, going %d of %d pledged, %d going; want 2 remote (Noor and Priya), Noor pledged and going",
			st.RemoteMembers, st.RemotePledged, st.RemoteGoing, st.Pledged, st.Going)
	}
	out, errs, code := lb(t, state, "pledges", "status", file)
	if code != 0 || !strings.Contains(out, "2 members keep their own accounts on other servers (1 pledged, 1 going)") {
		t.Fatalf("status text, exit %d:\n%s%s", code, out, errs)
	}
}

// After the demo with remote members (two federating GoToSocial servers),
// the lead's answers count everyone where they live: the arrivals screen's
// room (through the lead's desk, the destination's address read from the
// state directory) has four arrived, two of them remote with their
// addresses on the second server, and the whole mesh; the campaign's
// standing has both remote members pledged and going.
func TestDemoRemoteMembersCountedByTheLead(t *testing.T) {
	t.Parallel()
	bin := lifeboatBin(t)
	state := t.TempDir()
	args := []string{"--members", "4", "--remote-members", "2"}
	t.Cleanup(func() {
		cmd := exec.Command(bin, append([]string{"demo", "--stop"}, args...)...)
		cmd.Env = demoEnv(state)
		cmd.Run()
	})
	if rep := runDemo(t, bin, state, args...); rep.RemoteMembers != 2 || rep.AccountsCreated != 2 {
		t.Fatalf("demo report %+v; want 2 accounts and 2 remote members", rep)
	}
	g := generatedGroup(4)
	remoteGroup(g, 2)
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := (&lead.Desk{Store: st, StateDir: state}).Arrivals(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if r.Arrived != 4 || r.Remote != 2 || r.Accounts != 2 || r.Follows != 12 || r.Lists != 4 || len(r.Elsewhere) != 2 {
		t.Errorf("room %+v; want 4 arrived, 2 remote, 2 accounts made on the room, 12 follows and 4 lists", r)
	}
	for email, addr := range r.Elsewhere {
		if !strings.HasSuffix(addr, "@"+fednet.Home) {
			t.Errorf("%s shown at %q, not on %s", email, addr, fednet.Home)
		}
	}
	dest, err := destination.URL(state, g)
	if err != nil || dest != "https://"+fednet.Room {
		t.Fatalf("destination %q, %v; want https://%s", dest, err, fednet.Room)
	}
	s, err := campaign.Read(ctx, st, g)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := campaign.ReadElsewhere(ctx, st, g, dest, s); err != nil || e != (campaign.Elsewhere{Members: 2, Pledged: 2, Going: 2}) {
		t.Errorf("elsewhere %+v, %v; want both remote members pledged and going", e, err)
	}
}
