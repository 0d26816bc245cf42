package lead

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/pgtest"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newDesk(t *testing.T) (*Desk, store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Dir: filepath.Join(t.TempDir(), "state")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &Desk{Store: st}, st
}

var group = &groups.Group{Version: 1, Name: "river-birders", Title: "River Birders", ViableMass: 2,
	Lead: groups.Person{Name: "Ada", Email: "ada@example.org"},
	Members: []groups.Member{{Name: "Ada", Email: "ada@example.org"}, {Name: "Ben", Email: "Ben@example.org"},
		{Name: "Cy", Email: "cy@example.org"}}}

// A group the store does not know yet has an empty standing, not an
// error; once remembered it is listed with its file, and remembering
// again keeps its state.
func TestDeskGroupsAndPledges(t *testing.T) {
	ctx := context.Background()
	d, st := newDesk(t)
	s, err := d.Pledges(ctx, group)
	if err != nil || s.State != "" || s.Outlook.Members != 3 || s.Outlook.Pledged != 0 {
		t.Fatalf("unknown group: %+v %v", s, err)
	}
	if err := d.Remember(ctx, group, "/g/river.yaml"); err != nil {
		t.Fatal(err)
	}
	if err := st.Groups().SetState(ctx, group.Name, "gathering", "launched", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := d.Remember(ctx, group, "/g/moved.yaml"); err != nil {
		t.Fatal(err)
	}
	gs, err := d.Groups(ctx)
	if err != nil || len(gs) != 1 || gs[0] != (Group{Name: "river-birders", Title: "River Birders", State: "launched", File: "/g/moved.yaml"}) {
		t.Fatalf("groups %+v %v", gs, err)
	}
	for _, p := range []store.Pledge{
		{Group: group.Name, Email: "ada@example.org", Confirmed: true},
		{Group: group.Name, Email: "ben@example.org", Withdrawn: true},
		{Group: group.Name, Email: "gone@example.org", Confirmed: true},
	} {
		if err := st.Pledges().Put(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	s, err = d.Pledges(ctx, group)
	if err != nil || s.Outlook.Pledged != 1 || s.Withdrawn != 1 || s.State != "launched" {
		t.Errorf("standing %+v %v", s, err)
	}
	if dec, err := d.Decision(ctx, "no-such-request"); dec != nil || err != nil {
		t.Errorf("decision of an unknown request: %v %v", dec, err)
	}
}

// The arrivals answer reads invites, accounts and the arrival engine's
// journal, each member by lower-case email.
func TestDeskArrivals(t *testing.T) {
	d, st := newDesk(t)
	d.StateDir = t.TempDir()
	testDeskArrivals(t, d, st)
}

// The room counts everyone wherever their account lives, from the
// shared PostgreSQL store too.
func TestDeskArrivalsPostgres(t *testing.T) {
	st, err := store.Open(context.Background(), store.Config{URL: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	testDeskArrivals(t, &Desk{Store: st, StateDir: t.TempDir()}, st)
}

// testDeskArrivals: Ada took an account on the destination, Ben is
// signing up there, Cy keeps his own account on another server and Di
// moved hers in. The room counts Ada, Cy and Di as arrived, Cy as remote
// (with his address), Di as moved, and reads the mesh's journal of the
// destination, not of Cy's server.
func testDeskArrivals(t *testing.T, d *Desk, st store.Store) {
	ctx := context.Background()
	server := "http://127.0.0.1:9"
	g := *group
	g.Destination = groups.Destination{Type: groups.DestExisting, Server: server + "/"}
	g.Members = append(slices.Clone(g.Members), groups.Member{Name: "Di", Email: "di@example.org"})
	if err := escape.SaveGroup(ctx, st, &g); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, inv := range []store.Invite{
		{Group: g.Name, Email: "ada@example.org", TokenHash: "a", SentAt: now, RedeemedAt: now},
		{Group: g.Name, Email: "ben@example.org", TokenHash: "b", SentAt: now},
		{Group: g.Name, Email: "cy@example.org", TokenHash: "c"},
	} {
		if err := st.Invites().Put(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	home := "https://home.example"
	for _, a := range []store.Account{
		{Group: g.Name, Email: "ada@example.org", Server: server, ID: "1", Token: "t"},
		{Group: g.Name, Email: "ben@example.org", Server: server}, // written before the sign-up
		{Group: g.Name, Email: "cy@example.org", Server: home, ID: "77", Token: "t", Username: "cy", Acct: "cy@home.example"},
		{Group: g.Name, Email: "di@example.org", Server: server, ID: "4", Token: "t", Username: "di", Acct: "di@127.0.0.1:9", MovedFrom: "di@old.example"},
	} {
		if err := st.Accounts().Put(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	run := "arrive:" + g.Name + "@" + server
	if err := st.Journal().Record(ctx, run, []string{"follow:ada@example.org>cy@example.org", "list:ada@example.org"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Journal().Record(ctx, "arrive:"+g.Name+"@"+home, []string{"list:cy@example.org", "list:x", "list:y"}); err != nil {
		t.Fatal(err)
	}
	r, err := d.Arrivals(ctx, &g)
	if err != nil {
		t.Fatal(err)
	}
	if r.Invites != 3 || r.Sent != 2 || r.Redeemed != 1 || r.Accounts != 2 || r.Follows != 1 || r.Lists != 1 {
		t.Errorf("counts %+v", r)
	}
	if r.Arrived != 3 || r.Remote != 1 || r.Moved != 1 || r.FollowsTotal != 6 || len(r.Elsewhere) != 1 || r.Elsewhere["cy@example.org"] != "cy@home.example" {
		t.Errorf("arrived %d, remote %d, moved %d, follows total %d, elsewhere %v; want 3, 1, 1, 6 and Cy's address",
			r.Arrived, r.Remote, r.Moved, r.FollowsTotal, r.Elsewhere)
	}
	if w := r.Where(); w != "1 of the 3 arrived keeps their own account on another server; 1 moved an old account in." {
		t.Errorf("where: %q", w)
	}
	want := map[string]string{"ada@example.org": arrival.MemberArrived, "ben@example.org": arrival.MemberJoining,
		"cy@example.org": arrival.MemberArrived, "di@example.org": arrival.MemberArrived}
	for e, st := range want {
		if r.State[e] != st {
			t.Errorf("%s is %q, want %q", e, r.State[e], st)
		}
	}
}

// A local destination's address is the one its last start left in the
// state directory; before any start no account lives on it, so every
// account counts as remote.
func TestDeskArrivalsLocalNeverStarted(t *testing.T) {
	ctx := context.Background()
	_, st := newDesk(t)
	d := &Desk{Store: st, StateDir: t.TempDir()}
	if err := escape.SaveGroup(ctx, st, group); err != nil {
		t.Fatal(err)
	}
	if err := st.Accounts().Put(ctx, store.Account{Group: group.Name, Email: "cy@example.org", Server: "https://home.example", ID: "7", Token: "t", Acct: "cy@home.example"}); err != nil {
		t.Fatal(err)
	}
	r, err := d.Arrivals(ctx, group)
	if err != nil || r.Arrived != 1 || r.Remote != 1 || r.Accounts != 0 {
		t.Fatalf("room %+v, %v; want Cy arrived and remote, no account made", r, err)
	}
	if _, err := (&Desk{Store: st}).Arrivals(ctx, group); err == nil {
		t.Fatal("a local destination with no state directory was counted against a guess")
	}
}

// Joins lists the people who joined from the join page, not the file's
// members, with how many wait for the lead; an unknown group has none.
func TestDeskJoins(t *testing.T) {
	ctx := context.Background()
	d, st := newDesk(t)
	g := *group
	g.Enrolment = groups.EnrolApproval
	if j, err := d.Joins(ctx, &g); err != nil || len(j.People) != 0 || j.Waiting != 0 {
		t.Fatalf("unknown group: %+v %v", j, err)
	}
	if err := d.Remember(ctx, &g, "/g/river.yaml"); err != nil {
		t.Fatal(err)
	}
	for _, j := range []store.Join{
		{Group: g.Name, Name: "Dee", Email: "dee@example.net", X: "dee", Fediverse: "@dee@birds.example"},
		{Group: g.Name, Name: "Eve", Email: "eve@example.net"},
	} {
		if err := st.Joins().Add(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Joins().Decide(ctx, g.Name, "eve@example.net", store.JoinDeclined, time.Now()); err != nil {
		t.Fatal(err)
	}
	j, err := d.Joins(ctx, &g)
	if err != nil || len(j.People) != 2 || j.Waiting != 1 {
		t.Fatalf("joins %+v %v, want Dee waiting and Eve declined", j, err)
	}
	if !Waiting(j.People[0]) || Waiting(j.People[1]) || j.People[0].Email != "dee@example.net" {
		t.Errorf("waiting: %+v", j.People)
	}
	if h := Handles(j.People[0]); h != "x:dee fedi:@dee@birds.example" {
		t.Errorf("handles %q", h)
	}
	if h := Handles(j.People[1]); h != "" {
		t.Errorf("no handles given, got %q", h)
	}
}
