package store

import (
	"reflect"
	"testing"
	"time"
)

func TestJoins(t *testing.T) {
	each(t, func(t *testing.T, _ Config, s Store) {
		j := s.Joins()
		wantErr(t, j.Add(ctx, Join{Group: "uk", Email: "a@example.org"}), ErrNotFound)
		must(t, s.Groups().Put(ctx, Group{Name: "uk"}))
		must(t, s.Groups().Put(ctx, Group{Name: "de"}))

		in := Join{Group: "uk", Email: "Ann@Example.org", Name: "Ann", X: "@ann", Bluesky: "ann.bsky.social",
			Instagram: "ann.b", Fediverse: "@ann@social.example", CreatedAt: t0}
		must(t, j.Add(ctx, in))
		// The same email again, in any case, changes nothing.
		wantErr(t, j.Add(ctx, Join{Group: "uk", Email: "ANN@example.org", Name: "Other"}), ErrDuplicate)
		got, err := j.Get(ctx, "uk", "ann@example.ORG")
		must(t, err)
		want := in
		want.Email, want.CreatedAt = "ann@example.org", t0UTC
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("get: %+v\nwant %+v", got, want)
		}
		if got.Confirmed() {
			t.Fatal("a new join reads as confirmed")
		}
		_, err = j.Get(ctx, "de", "ann@example.org")
		wantErr(t, err, ErrNotFound)

		// Confirm keeps the first time; Decide writes the decision.
		must(t, j.Confirm(ctx, "uk", "ann@example.org", t0))
		must(t, j.Confirm(ctx, "uk", "ann@example.org", t0.Add(time.Hour)))
		must(t, j.Decide(ctx, "uk", "ann@example.org", JoinDeclined, t0.Add(2*time.Hour)))
		got, _ = j.Get(ctx, "uk", "ann@example.org")
		if !got.ConfirmedAt.Equal(t0UTC) || got.Decision != JoinDeclined || !got.DecidedAt.Equal(t0UTC.Add(2*time.Hour)) {
			t.Fatalf("after confirm and decide: %+v", got)
		}
		wantErr(t, j.Confirm(ctx, "uk", "nobody@example.org", t0), ErrNotFound)
		wantErr(t, j.Decide(ctx, "uk", "nobody@example.org", JoinApproved, t0), ErrNotFound)

		must(t, j.Add(ctx, Join{Group: "uk", Email: "bo@example.org", Name: "Bo", CreatedAt: t0.Add(time.Minute)}))
		must(t, j.Add(ctx, Join{Group: "de", Email: "ann@example.org", Name: "Ann"}))
		list, err := j.List(ctx, "uk")
		must(t, err)
		if len(list) != 2 || list[0].Email != "ann@example.org" || list[1].Email != "bo@example.org" {
			t.Fatalf("list, in joining order: %+v", list)
		}

		// Forget takes the join, the pledge and unused invites; a used
		// invite stays (the account exists), and so does the other group.
		must(t, s.Pledges().Put(ctx, Pledge{Group: "uk", Email: "bo@example.org", Confirmed: true}))
		must(t, s.Invites().Put(ctx, Invite{Group: "uk", Email: "bo@example.org", TokenHash: "h1"}))
		must(t, s.Invites().Put(ctx, Invite{Group: "uk", Email: "bo@example.org", TokenHash: "h2"}))
		must(t, s.Invites().Redeem(ctx, "h2", t0))
		must(t, j.Forget(ctx, "uk", "BO@example.org"))
		_, err = j.Get(ctx, "uk", "bo@example.org")
		wantErr(t, err, ErrNotFound)
		_, err = s.Pledges().Get(ctx, "uk", "bo@example.org")
		wantErr(t, err, ErrNotFound)
		_, err = s.Invites().GetByHash(ctx, "h1")
		wantErr(t, err, ErrNotFound)
		if _, err := s.Invites().GetByHash(ctx, "h2"); err != nil {
			t.Fatalf("a redeemed invite was forgotten: %v", err)
		}
		wantErr(t, j.Forget(ctx, "uk", "bo@example.org"), ErrNotFound)
		if _, err := j.Get(ctx, "de", "ann@example.org"); err != nil {
			t.Fatalf("forgetting in uk touched de: %v", err)
		}
		// An account connected from the person's own server goes with
		// them; one they arrived with (a redeemed invite) stays.
		must(t, j.Add(ctx, Join{Group: "uk", Email: "di@example.org", Name: "Di"}))
		must(t, s.Accounts().Put(ctx, Account{Group: "uk", Email: "di@example.org", Server: "https://own.example", ID: "7", Token: "t", Acct: "di@own.example"}))
		must(t, s.Accounts().Put(ctx, Account{Group: "uk", Email: "bo@example.org", Server: "https://room.example", ID: "8", Token: "t"}))
		must(t, j.Forget(ctx, "uk", "di@example.org"))
		_, err = s.Accounts().Get(ctx, "uk", "di@example.org")
		wantErr(t, err, ErrNotFound)
		wantErr(t, j.Forget(ctx, "uk", "bo@example.org"), ErrNotFound)
		if _, err := s.Accounts().Get(ctx, "uk", "bo@example.org"); err != nil {
			t.Fatalf("the account of a person who arrived was forgotten: %v", err)
		}
		// A pledge alone (a member the file no longer lists) is forgotten too.
		must(t, s.Pledges().Put(ctx, Pledge{Group: "uk", Email: "cy@example.org"}))
		must(t, j.Forget(ctx, "uk", "cy@example.org"))
	})
}
