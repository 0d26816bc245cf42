package lead

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
	"github.com/lifeboat-social/lifeboat/provision/existing/existingtest"
)

// join records a person who joined g from the join page, decided by the
// lead as approve says.
func join(t *testing.T, st store.Store, g *groups.Group, name, email string, approve bool, at time.Time) {
	t.Helper()
	ctx := context.Background()
	if err := campaign.Enrol(ctx, st, g, store.Join{Name: name, Email: email, CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := campaign.Decide(ctx, st, g, email, approve, at); err != nil {
		t.Fatal(err)
	}
}

// The request carries the roster, not only the file's members: people
// who joined and were approved get proofs, a declined one does not.
// Someone approved after the admin accepted is a drift the lead is
// told about, and the amendment adds exactly them.
func TestRequestCarriesTheRoster(t *testing.T) {
	ctx := context.Background()
	d, st := newDesk(t)
	d.StateDir = t.TempDir()
	srv := existingtest.Mastodon(t, existingtest.Approval).URL
	g := *group
	g.Enrolment = groups.EnrolApproval
	now := time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC)
	if err := st.Groups().Put(ctx, store.Group{Name: g.Name, Title: g.Title}); err != nil {
		t.Fatal(err)
	}
	join(t, st, &g, "Dee", "Dee@example.org", true, now)
	join(t, st, &g, "Eve", "eve@example.org", false, now)

	win := admission.Window{From: now, Until: now.Add(7 * 24 * time.Hour)}
	a, err := d.Request(ctx, Ask{Group: &g, Server: srv, Window: win, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if a.Request.Size != 4 {
		t.Fatalf("request size %d, want the 3 file members and Dee", a.Request.Size)
	}
	if _, _, err := admission.MemberProof(ctx, st, g.Name, srv, "dee@example.org"); err != nil {
		t.Fatalf("Dee, who joined and was approved: %v", err)
	}
	if _, _, err := admission.MemberProof(ctx, st, g.Name, srv, "eve@example.org"); !errors.Is(err, admission.ErrNotMember) {
		t.Fatalf("Eve, declined: %v", err)
	}
	// Before the admin's answer there is nothing to amend and no drift.
	if dr, err := d.RequestDrift(ctx, &g); err != nil || len(dr.Missing) != 0 || DriftNote(dr, "g.yaml") != "" {
		t.Fatalf("drift before acceptance: %+v, %v", dr, err)
	}
	if _, _, err := d.Amend(ctx, &g, srv, now); !errors.Is(err, admission.ErrNotAccepted) {
		t.Fatalf("amend before acceptance: %v", err)
	}
	_, adminKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admission.ImportAnswer(ctx, st, g.Name, admission.NewAnswer(adminKey, a.Request.ID(), srv, g.Name, true, "", now)); err != nil {
		t.Fatal(err)
	}

	// Fay and Gus join and are approved after the acceptance; Hal asks
	// and is still pending.
	later := now.Add(time.Hour)
	join(t, st, &g, "Fay", "fay@example.org", true, later)
	join(t, st, &g, "Gus", "gus@example.org", true, later)
	if err := campaign.Enrol(ctx, st, &g, store.Join{Name: "Hal", Email: "hal@example.org", CreatedAt: later}); err != nil {
		t.Fatal(err)
	}
	dr, err := d.RequestDrift(ctx, &g)
	if err != nil || strings.Join(dr.Missing, ",") != "fay@example.org,gus@example.org" || dr.Gone != 0 {
		t.Fatalf("drift: %+v, %v", dr, err)
	}
	note := DriftNote(dr, "g.yaml")
	if note != "2 people joined since the admin accepted the request, and the server will not approve them; send an amendment: lifeboat request g.yaml --amend" {
		t.Fatalf("note: %q", note)
	}
	if _, _, err := admission.MemberProof(ctx, st, g.Name, srv, "fay@example.org"); !errors.Is(err, admission.ErrNotMember) {
		t.Fatalf("Fay before the amendment: %v", err)
	}

	if _, _, err := d.Amend(ctx, &g, "", later); !errors.Is(err, ErrNoServer) {
		t.Fatalf("amend with no server: %v", err)
	}
	am, req, err := d.Amend(ctx, &g, srv, later)
	if err != nil || req.ID() != a.Request.ID() || len(am.Add) != 2 || len(am.Remove) != 0 {
		t.Fatalf("amendment %+v of %v: %v", am, req, err)
	}
	for _, email := range []string{"fay@example.org", "GUS@example.org"} {
		if _, _, err := admission.MemberProof(ctx, st, g.Name, srv, email); err != nil {
			t.Fatalf("%s after the amendment: %v", email, err)
		}
	}
	if dr, err := d.RequestDrift(ctx, &g); err != nil || len(dr.Missing)+dr.Gone != 0 {
		t.Fatalf("drift after the amendment: %+v, %v", dr, err)
	}
	if _, _, err := d.Amend(ctx, &g, srv, later); !errors.Is(err, admission.ErrNoChange) {
		t.Fatalf("amend again: %v", err)
	}

	// Gus leaves: the drift names him as gone, and the next amendment
	// removes him.
	if err := campaign.Remove(ctx, st, &g, "gus@example.org"); err != nil {
		t.Fatal(err)
	}
	dr, err = d.RequestDrift(ctx, &g)
	if err != nil || len(dr.Missing) != 0 || dr.Gone != 1 || !strings.HasPrefix(DriftNote(dr, "g.yaml"), "1 person left the roster") {
		t.Fatalf("drift after Gus left: %+v, %v: %q", dr, err, DriftNote(dr, "g.yaml"))
	}
	am, _, err = d.Amend(ctx, &g, srv, later.Add(time.Hour))
	if err != nil || len(am.Add) != 0 || len(am.Remove) != 1 {
		t.Fatalf("removal: %+v, %v", am, err)
	}
}
