package arrival_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/meshcheck"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// An account a member connected on their pledge page waits for them: the
// others arrive and their mesh is made, and nobody follows the waiting
// account, nor it anyone, nor does any list hold it, read back from both
// servers. Then one of the two waiting members arrives with it and the
// other takes a new account on the destination instead: the mesh of all
// five is complete both ways, and the account given up stays untouched.
func TestConnectedAccountWaitsForArrival(t *testing.T) {
	fr := newFedRoom(t, "wait", 3, 2)
	st := fr.open(t)
	defer st.Close()
	ctx := context.Background()
	// Members 3 and 4 connected their accounts on home as the pledge page
	// keeps them, and have not arrived.
	instead, arrives := fr.g.Members[3].Email, fr.g.Members[4].Email
	waiting := map[string]store.Account{}
	for _, email := range []string{instead, arrives} {
		a, err := st.Accounts().Get(ctx, fr.g.Name, email)
		if err != nil {
			t.Fatal(err)
		}
		a.Waiting = true
		if err := st.Accounts().Put(ctx, a); err != nil {
			t.Fatal(err)
		}
		waiting[email] = a
	}
	e := arrival.New(arrival.Config{Store: st, Group: fr.g, Server: fr.room.Server, Workers: 4, Client: direct(nil), Logins: logins(t)})
	if err := e.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	accs, err := st.Accounts().List(ctx, fr.g.Name)
	if err != nil {
		t.Fatal(err)
	}
	// A follow of a waiting account, or one in a list, is a stranger's.
	in := meshcheck.Accounts(accs)
	got, err := meshcheck.Check(ctx, fr.room.Server.URL, fr.g.Title, in, fedi.WithHTTPClient(gtstest.FederationHTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	if want := (meshcheck.Counts{Follows: 6, Lists: 3, Listed: 6}); len(in) != 3 || got != want {
		t.Fatalf("%d in the room, read back %+v; want 3 and %+v", len(in), got, want)
	}
	for _, a := range waiting {
		untouched(t, a)
	}
	if s, err := e.Stats(ctx); err != nil || s.Arrived != 3 || s.Remote != 0 || s.Follows != 6 {
		t.Errorf("stats %+v, %v; want 3 arrived, none remote, 6 follows", s, err)
	}
	if r, err := arrival.ReadRoom(ctx, st, fr.g, fr.room.Server.URL); err != nil || r.Arrived != 3 || r.Remote != 0 || len(r.Elsewhere) != 0 {
		t.Errorf("room %+v, %v; want 3 arrived, none elsewhere", r, err)
	}

	arrive(t, e, fr.g, 3)
	if err := e.Enter(ctx, arrives); err != nil {
		t.Fatal(err)
	}
	if err := e.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := st.Accounts().Get(ctx, fr.g.Name, instead)
	if err != nil || a.Server != fr.room.Server.URL || a.Acct != "" || a.Waiting || a.ID == waiting[instead].ID {
		t.Fatalf("%s took an account on the destination: %+v, %v", instead, a, err)
	}
	fr.addr[strings.ToLower(instead)] = a.Username + "@" + fr.room.Domain
	fr.check(t, st)
	wantStats(t, e, 5, 1)
	untouched(t, waiting[instead])
}

// untouched: a's account, read on its own server with its own token,
// follows nobody, has no followers and no follow request waiting, and
// has no list of the group.
func untouched(t *testing.T, a store.Account) {
	t.Helper()
	ctx := context.Background()
	c := direct(nil)(a.Server).WithToken(a.Token)
	following, err := c.Following(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	followers, err := c.Followers(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := c.FollowRequests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lists, err := c.Lists(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(following)+len(followers)+len(reqs)+len(lists) != 0 {
		t.Errorf("%s, not arrived: follows %d, followed by %d, %d requests waiting, %d lists; want none",
			a.Acct, len(following), len(followers), len(reqs), len(lists))
	}
}
