package arrival_test

import (
	"context"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/mastodonfake"
	"github.com/lifeboat-social/lifeboat/internal/meshcheck"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// A person who joined from the join page and arrived is in the room as
// any member: in the mesh (follows and lists both ways) and in the
// counts. One still waiting for the lead's approval is not counted.
func TestJoinedPersonArrivesIntoTheMesh(t *testing.T) {
	ctx := context.Background()
	clk := &simClock{t: time.Date(2026, 12, 3, 14, 5, 0, 0, time.UTC)}
	f, g, st, _ := mastodonRoom(t, 3, 400, clk)
	g.Enrolment = groups.EnrolApproval
	for _, j := range []store.Join{{Name: "Jo", Email: "jo@example.org"}, {Name: "Kim", Email: "kim@example.org"}} {
		j.CreatedAt = clk.Now()
		if err := campaign.Enrol(ctx, st, g, j); err != nil {
			t.Fatal(err)
		}
	}
	if err := campaign.Decide(ctx, st, g, "jo@example.org", true, clk.Now()); err != nil {
		t.Fatal(err)
	}
	id, err := f.CreateAccount(mastodonfake.AccountOptions{Username: "jo", Email: "jo@example.org", Confirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	jo := store.Account{Group: g.Name, Email: "jo@example.org", Server: f.URL, ID: id, Username: "jo",
		Token: f.MintToken(id, arrival.MemberScopes...), CreatedAt: clk.Now()}
	if err := st.Accounts().Put(ctx, jo); err != nil {
		t.Fatal(err)
	}

	e := mastodonEngine(st, g, f, clk, 2)
	if err := e.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	accs, err := st.Accounts().List(ctx, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	mm := meshcheck.Accounts(accs)
	if len(mm) != 4 {
		t.Fatalf("%d accounts, want 4", len(mm))
	}
	if err := meshcheck.Verify(ctx, f.URL, e.ListTitle(), mm); err != nil {
		t.Fatalf("the mesh with Jo: %v", err)
	}
	s, err := e.Stats(ctx)
	if err != nil || s.Members != 4 || s.Arrived != 4 || s.Follows != 12 || s.Lists != 4 {
		t.Fatalf("stats %+v, %v; want 4 members (3 listed, Jo joined), all arrived", s, err)
	}
	room, err := arrival.ReadRoom(ctx, st, g, f.URL)
	if err != nil || room.Members != 4 || room.Arrived != 4 || room.State["jo@example.org"] != arrival.MemberArrived || room.FollowsTotal != 12 {
		t.Fatalf("room %+v, %v", room, err)
	}
}
