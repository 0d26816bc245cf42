package campaign

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// Who counts: by enrolment, confirmation and the lead's decision.
func TestAdmitted(t *testing.T) {
	confirmed := store.Join{ConfirmedAt: time.Now()}
	approved := store.Join{Decision: store.JoinApproved}
	declined := store.Join{ConfirmedAt: time.Now(), Decision: store.JoinDeclined}
	for _, tc := range []struct {
		mode string
		j    store.Join
		want bool
	}{
		{groups.EnrolClosed, approved, false},
		{"", confirmed, false},
		{groups.EnrolOpen, store.Join{}, false},
		{groups.EnrolOpen, confirmed, true},
		{groups.EnrolOpen, approved, true}, // no relay: the lead vouches
		{groups.EnrolOpen, declined, false},
		{groups.EnrolApproval, confirmed, false},
		{groups.EnrolApproval, approved, true},
		{groups.EnrolApproval, declined, false},
	} {
		if got := Admitted(&groups.Group{Enrolment: tc.mode}, tc.j); got != tc.want {
			t.Errorf("%q %+v: admitted %v, want %v", tc.mode, tc.j, got, tc.want)
		}
	}
}

// The roster adds the admitted joins after the file's members; the
// cascade, Enrolled and Confirmed follow it; a listed member cannot
// join again, nor be removed while listed.
func TestRosterAndEnrol(t *testing.T) {
	ctx := context.Background()
	st, g, _ := setup(t)
	g.Enrolment = groups.EnrolOpen
	now := time.Now()
	if err := Enrol(ctx, st, g, store.Join{Email: "BEN@example.org", Name: "Ben"}); !errors.Is(err, ErrJoined) {
		t.Fatalf("a listed member joining: %v", err)
	}
	for _, e := range []string{"eve@example.net", "fay@example.net", "gus@example.net"} {
		if err := Enrol(ctx, st, g, store.Join{Email: e, Name: e[:3], CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	if err := Enrol(ctx, st, g, store.Join{Email: "Eve@example.net"}); !errors.Is(err, ErrJoined) {
		t.Fatalf("joining twice: %v", err)
	}
	for _, e := range []string{"eve@example.net", "fay@example.net"} {
		if err := st.Joins().Confirm(ctx, g.Name, e, now); err != nil {
			t.Fatal(err)
		}
		pledgeAs(t, st, e, 0, true, false)
	}
	// Fay sent her follows with her join; declined, she keeps none.
	if err := st.Follows().Put(ctx, store.FollowImport{Group: g.Name, Email: "fay@example.net", Self: "x:fay",
		Format: "X archive", Edges: [][2]string{{"x:fay", "x:ben"}}}); err != nil {
		t.Fatal(err)
	}
	if err := Decide(ctx, st, g, "fay@example.net", false, now); err != nil {
		t.Fatal(err)
	}
	if imps, err := st.Follows().List(ctx, g.Name); err != nil || len(imps) != 0 {
		t.Fatalf("Fay's follows after she was declined: %+v, %v", imps, err)
	}
	r, err := Roster(ctx, st, g)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Members) != 5 || r.Members[4].Email != "eve@example.net" || len(g.Members) != 4 {
		t.Fatalf("roster %+v (file %d)", r.Members, len(g.Members))
	}
	s, err := Read(ctx, st, g)
	if err != nil {
		t.Fatal(err)
	}
	// Fay's confirmed pledge does not count: declined. Gus is enrolled,
	// not confirmed.
	if s.Outlook.Members != 5 || s.Outlook.Going != 1 || !s.Going["eve@example.net"] || s.Enrolled != 6 || s.Confirmed != 1 {
		t.Fatalf("status %+v", s)
	}
	if err := Remove(ctx, st, g, "ben@example.org"); !errors.As(err, new(*ListedError)) {
		t.Fatalf("removing a listed member: %v", err)
	}
	if err := st.Follows().Put(ctx, store.FollowImport{Group: g.Name, Email: "eve@example.net", Self: "x:eve",
		Format: "X archive", Edges: [][2]string{{"x:eve", "x:ben"}}}); err != nil {
		t.Fatal(err)
	}
	if err := Remove(ctx, st, g, "eve@example.net"); err != nil {
		t.Fatal(err)
	}
	if imps, err := st.Follows().List(ctx, g.Name); err != nil || len(imps) != 0 {
		t.Fatalf("Eve's follows after removal: %v, %v", imps, err)
	}
	if err := Remove(ctx, st, g, "eve@example.net"); !errors.Is(err, ErrNotJoined) {
		t.Fatalf("removing twice: %v", err)
	}
	g.Enrolment = groups.EnrolClosed
	if err := Enrol(ctx, st, g, store.Join{Email: "hal@example.net"}); !errors.Is(err, ErrEnrolmentClosed) {
		t.Fatalf("joining a closed group: %v", err)
	}
	if s, _ := Read(ctx, st, g); s.Outlook.Members != 4 || s.Enrolled != 4 {
		t.Fatalf("closed again: %+v", s)
	}
}
