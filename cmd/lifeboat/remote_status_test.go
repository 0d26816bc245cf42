package main

import (
	"context"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/internal/store"
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
