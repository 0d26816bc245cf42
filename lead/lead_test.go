package lead

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

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
	ctx := context.Background()
	d, st := newDesk(t)
	if err := escape.SaveGroup(ctx, st, group); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, inv := range []store.Invite{
		{Group: group.Name, Email: "ada@example.org", TokenHash: "a", SentAt: now, RedeemedAt: now},
		{Group: group.Name, Email: "ben@example.org", TokenHash: "b", SentAt: now},
		{Group: group.Name, Email: "cy@example.org", TokenHash: "c"},
	} {
		if err := st.Invites().Put(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	server := "http://127.0.0.1:9"
	for _, a := range []store.Account{
		{Group: group.Name, Email: "ada@example.org", Server: server, ID: "1", Token: "t"},
		{Group: group.Name, Email: "ben@example.org", Server: server}, // written before the sign-up
	} {
		if err := st.Accounts().Put(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	run := "arrive:" + group.Name + "@" + server
	if err := st.Journal().Record(ctx, run, []string{"follow:ada@example.org>cy@example.org", "list:ada@example.org"}); err != nil {
		t.Fatal(err)
	}
	r, err := d.Arrivals(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if r.Invites != 3 || r.Sent != 2 || r.Redeemed != 1 || r.Accounts != 1 || r.Follows != 1 || r.Lists != 1 {
		t.Errorf("counts %+v", r)
	}
	want := map[string]string{"ada@example.org": arrival.MemberArrived, "ben@example.org": arrival.MemberJoining, "cy@example.org": arrival.MemberInvited}
	for e, st := range want {
		if r.State[e] != st {
			t.Errorf("%s is %q, want %q", e, r.State[e], st)
		}
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
