package campaign

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/invite"
	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
)

// An existing server without the admin's acceptance refuses the launch,
// by hand too, naming the missing step; once the acceptance is recorded
// on the lead's side, the same launch goes through.
func TestLaunchWaitsForAcceptance(t *testing.T) {
	st, g, key := setup(t)
	ctx := context.Background()
	g.Destination = groups.Destination{Type: groups.DestExisting, Server: "https://social.example"}
	for _, m := range g.Members[:3] {
		pledgeAs(t, st, m.Email, 0, true, false)
	}
	ready := ExistingReady(st, g, "river.yaml")
	for _, byHand := range []bool{false, true} {
		_, err := Launch(ctx, st, g, byHand, time.Now(), ready)
		var nr *NotReadyError
		if !errors.As(err, &nr) || !errors.Is(err, ErrNotReady) ||
			!strings.Contains(nr.Missing, "admin has not accepted the group's admission request") ||
			!strings.Contains(nr.Missing, "lifeboat request river.yaml") {
			t.Fatalf("launch (by hand %v) without a request: %v", byHand, err)
		}
	}

	// A request, but no decision yet: still waiting.
	req, err := admission.New(admission.Draft{Server: g.Destination.Server, Group: admission.Group{Name: g.Name, Title: g.Title},
		Lead: admission.Contact{Name: "Ada", Email: "ada@example.org"}, Emails: []string{"ada@example.org", "ben@example.org"},
		Window: admission.Window{From: time.Now(), Until: time.Now().Add(30 * 24 * time.Hour)}}, key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := admission.SaveRequest(ctx, st.Journal(), req); err != nil {
		t.Fatal(err)
	}
	if _, err := Launch(ctx, st, g, false, time.Now(), ready); !errors.Is(err, ErrNotReady) {
		t.Fatalf("launch with an undecided request: %v", err)
	}
	// The admin's signed answer, imported on the lead's side
	// (lifeboat request accepted). Rejected: still waiting.
	_, adminKey, _ := ed25519.GenerateKey(nil)
	answer := func(accepted bool, message string) {
		t.Helper()
		a := admission.NewAnswer(adminKey, req.ID(), req.Server, g.Name, accepted, message, time.Now())
		if _, err := admission.ImportAnswer(ctx, st, g.Name, a); err != nil {
			t.Fatal(err)
		}
	}
	answer(false, "")
	if _, err := Launch(ctx, st, g, false, time.Now(), ready); !errors.Is(err, ErrNotReady) {
		t.Fatalf("launch after a rejection: %v", err)
	}
	answer(true, "welcome")
	s, err := Launch(ctx, st, g, false, time.Now(), ready)
	if err != nil || s.State != pledge.StateLaunched {
		t.Fatalf("launch after acceptance: %s, %v", s.State, err)
	}
}

// A readiness check that cannot be made is an error, not a launch.
func TestLaunchReadinessError(t *testing.T) {
	st, g, _ := setup(t)
	for _, m := range g.Members[:3] {
		pledgeAs(t, st, m.Email, 0, true, false)
	}
	boom := errors.New("store away")
	_, err := Launch(context.Background(), st, g, false, time.Now(), provision.ReadyFunc(func(context.Context) (bool, string, error) { return false, "", boom }))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if s, _ := Read(context.Background(), st, g); s.State != pledge.StateGathering {
		t.Fatalf("state %s", s.State)
	}
}

// Reissue gives a member a fresh link that works and stops the old one;
// without a member it renews only the expired, unused invites; a used
// invite is not reissued.
func TestReissue(t *testing.T) {
	st, g, key := setup(t)
	ctx := context.Background()
	for _, m := range g.Members[:3] {
		pledgeAs(t, st, m.Email, 0, true, false)
	}
	launched := time.Now().Add(-time.Hour)
	if _, err := Launch(ctx, st, g, false, launched, nil); err != nil {
		t.Fatal(err)
	}
	ttl := 24 * time.Hour
	first, err := Invites(ctx, st, g, key, ttl, launched)
	if err != nil || len(first) != 3 {
		t.Fatalf("invites: %v, %v", first, err)
	}
	pub := key.Public().(ed25519.PublicKey)
	now := time.Now()
	fresh, err := Reissue(ctx, st, g, key, ttl, now, "BEN@example.org")
	if err != nil || len(fresh) != 1 || fresh[0].Email != "ben@example.org" || !fresh[0].Reissued || fresh[0].Token == first[1].Token {
		t.Fatalf("reissue ben: %+v, %v", fresh, err)
	}
	if _, err := invite.Check(ctx, st.Invites(), pub, first[1].Token, now.Add(time.Second)); !errors.Is(err, invite.ErrUnknown) {
		t.Errorf("ben's old link: %v, want ErrUnknown", err)
	}
	if _, err := invite.Check(ctx, st.Invites(), pub, fresh[0].Token, now.Add(time.Second)); err != nil {
		t.Errorf("ben's fresh link: %v", err)
	}
	cur, _ := Invites(ctx, st, g, key, ttl, now)
	if cur[1].Token != fresh[0].Token || cur[0].Token != first[0].Token || cur[0].Reissued {
		t.Errorf("current invites after reissue: %+v", cur)
	}

	// Ada redeems hers; a day later the others' first invites have expired.
	if _, err := invite.Redeem(ctx, st.Invites(), pub, first[0].Token, now); err != nil {
		t.Fatal(err)
	}
	if _, err := Reissue(ctx, st, g, key, ttl, now, "ada@example.org"); !errors.Is(err, ErrNoInvite) {
		t.Errorf("reissue a used invite: %v", err)
	}
	if _, err := Reissue(ctx, st, g, key, ttl, now, "dev@example.org"); !errors.Is(err, ErrNoInvite) {
		t.Errorf("reissue for a member not going: %v", err)
	}
	later := launched.Add(ttl + time.Minute)
	renewed, err := Reissue(ctx, st, g, key, ttl, later, "")
	if err != nil || len(renewed) != 1 || renewed[0].Email != "cleo@example.org" {
		t.Fatalf("reissue the expired: %+v, %v", renewed, err)
	}
	if _, err := invite.Check(ctx, st.Invites(), pub, renewed[0].Token, later); err != nil {
		t.Errorf("cleo's renewed link: %v", err)
	}
}

// A reissue in the same second as the first invite still makes a fresh
// link (the token derives from the expiry) and stops the first.
func TestReissueSameSecond(t *testing.T) {
	st, g, key := setup(t)
	ctx := context.Background()
	for _, m := range g.Members[:3] {
		pledgeAs(t, st, m.Email, 0, true, false)
	}
	now := time.Now().Truncate(time.Second)
	if _, err := Launch(ctx, st, g, false, now, nil); err != nil {
		t.Fatal(err)
	}
	first, err := Invites(ctx, st, g, key, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := Reissue(ctx, st, g, key, time.Hour, now, "ada@example.org")
	if err != nil || len(fresh) != 1 || fresh[0].Token == first[0].Token {
		t.Fatalf("reissue in the launch's second: %+v, %v", fresh, err)
	}
	pub := key.Public().(ed25519.PublicKey)
	if _, err := invite.Check(ctx, st.Invites(), pub, first[0].Token, now); !errors.Is(err, invite.ErrUnknown) {
		t.Errorf("first link: %v, want ErrUnknown", err)
	}
}
