package arrival_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
)

// The room counts everyone, read back from two federating GoToSocial
// servers: two members on the destination, two who kept their accounts
// on the other server. After the mesh, each one's place is read from the
// server their account lives on and counts all three others, saying how
// many of them are remote; the room (as the lead's screen and the arrival
// page read it) counts four arrived, two remote, with their addresses,
// and the destination's journal of the whole mesh.
func TestRoomCountsMembersOnBothServers(t *testing.T) {
	fr := newFedRoom(t, "cnt", 2, 2)
	st := fr.open(t)
	defer st.Close()
	ctx := context.Background()
	e := fr.engine(st, direct(nil), nil)
	if err := e.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	fr.check(t, st)
	for i, want := range []arrival.Counts{
		{Following: 3, Followers: 3, Remote: 2}, // on the destination: both remote members are others
		{Following: 3, Followers: 3, Remote: 2},
		{Following: 3, Followers: 3, Remote: 1}, // remote: the other remote member
		{Following: 3, Followers: 3, Remote: 1},
	} {
		email := fr.g.Members[i].Email
		if c, err := e.MemberCounts(ctx, email); err != nil || c != want {
			t.Errorf("%s: %+v, %v; want %+v", email, c, err, want)
		}
	}
	r, err := arrival.ReadRoom(ctx, st, fr.g, fr.room.Server.URL)
	if err != nil {
		t.Fatal(err)
	}
	if r.Arrived != 4 || r.Remote != 2 || r.Accounts != 2 || r.FollowsTotal != 12 || r.Follows != 12 || r.Lists != 4 {
		t.Errorf("room %+v; want 4 arrived, 2 remote, 2 accounts made on the destination, the 12 follows and 4 lists done", r)
	}
	for _, m := range fr.g.Members[2:] {
		email := strings.ToLower(m.Email)
		if r.Elsewhere[email] != fr.addr[email] {
			t.Errorf("%s shown as %q, want %q", email, r.Elsewhere[email], fr.addr[email])
		}
	}
	if want := "All 12 follows between the 4 members who have arrived (2 of them on other servers) are made."; r.Progress(time.Now()) != want {
		t.Errorf("progress %q, want %q", r.Progress(time.Now()), want)
	}
}
