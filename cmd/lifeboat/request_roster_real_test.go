package main

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/meshcheck"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
	"github.com/lifeboat-social/lifeboat/provision/existing/existingtest"
)

// TestJoinedPersonAdmittedRealGoToSocial: on a real GoToSocial v0.17.3 in
// approval mode, a person who joined from the join page after the admin
// accepted the group's request signs up with the proof the lead's
// amendment gives them; admin watch leaves them pending until the admin
// accepts the amendment, then approves them; they sign in and arrive
// into the mesh with a member the file lists, and the room counts them.
func TestJoinedPersonAdmittedRealGoToSocial(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv := startApprovalServer(t, dir)
	lead, admin := filepath.Join(dir, "lead"), filepath.Join(dir, "admin")
	file := rosterGroup(t, srv.URL)

	req := filepath.Join(dir, "request.json")
	if out, errs, code := lb(t, lead, "request", file, "--out", req); code != 0 || !strings.Contains(out, "(4 members)") {
		t.Fatalf("request: exit %d\n%s\n%s", code, out, errs)
	}
	answer := filepath.Join(dir, "answer.json")
	if out, errs, code := lb(t, admin, "admin", "review", req, "--accept", "--answer", answer); code != 0 {
		t.Fatalf("accept: exit %d\n%s\n%s", code, out, errs)
	}
	if out, errs, code := lb(t, lead, "request", "accepted", file, answer); code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errs)
	}

	// Quinn joins and the lead approves them: the accepted request lacks
	// them, so they have no proof yet, and the lead is told.
	joins(t, lead, "harbour-knitters", store.Join{Name: "Quinn Twist", Email: "quinn@example.org"})
	if out, errs, code := lb(t, lead, "members", "review", file, "--approve", "quinn@example.org"); code != 0 {
		t.Fatalf("members review: exit %d\n%s\n%s", code, out, errs)
	}
	proof := func(email string) (string, error) {
		st, err := store.Open(ctx, store.Config{Dir: lead})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		p, _, err := admission.MemberProof(ctx, st, "harbour-knitters", srv.URL, email)
		return p, err
	}
	if _, err := proof("quinn@example.org"); !errors.Is(err, admission.ErrNotMember) {
		t.Fatalf("Quinn's proof before the amendment: %v", err)
	}
	if n, note := admissionStatus(t, lead, file); n != 1 || !strings.Contains(note, "--amend") {
		t.Fatalf("status: %d %q", n, note)
	}
	amendment := filepath.Join(dir, "amendment.json")
	if out, errs, code := lb(t, lead, "request", file, "--amend", "--out", amendment); code != 0 || !strings.Contains(out, "1 members added, 0 removed") {
		t.Fatalf("amend: exit %d\n%s\n%s", code, out, errs)
	}

	// Quinn and Noor (listed in the file) sign up with their proofs and
	// confirm their email.
	password := map[string]string{"quinn@example.org": "quinn's long password 42", "noor@example.org": "noor's long password 42"}
	reg := existing.NewRegistrar(srv.URL)
	for _, m := range []existing.Member{{Username: "quinn", Email: "quinn@example.org"}, {Username: "noor", Email: "noor@example.org"}} {
		var err error
		if m.Proof, err = proof(m.Email); err != nil {
			t.Fatalf("%s's proof: %v", m.Email, err)
		}
		m.Password, m.GroupTitle = password[m.Email], "Harbour Knitters"
		if _, err := reg.SignUp(ctx, m); err != nil {
			t.Fatal(err)
		}
		existingtest.ConfirmEmail(t, filepath.Join(dir, "gts"), srv.URL, m.Email)
	}

	t.Setenv("LIFEBOAT_ADMIN_TOKEN", srv.AdminToken)
	c := fedi.New(srv.URL).WithToken(srv.AdminToken)
	approved := func(username string) bool {
		as, err := c.AdminAccounts(ctx, url.Values{"username": {username}, "origin": {"local"}})
		if err != nil || len(as) != 1 {
			t.Fatalf("%s: %v, %d accounts", username, err, len(as))
		}
		return as[0].Approved
	}
	// The admin has not accepted the amendment: Quinn waits, Noor is in.
	out, errs, code := lb(t, admin, "admin", "watch", "--server", srv.URL, "--once")
	if code != 0 || !strings.Contains(out, "leave @quinn") || approved("quinn") || !approved("noor") {
		t.Fatalf("watch before the amendment: exit %d\n%s\n%s", code, out, errs)
	}
	if out, errs, code := lb(t, admin, "admin", "review", amendment, "--accept", "--answer", filepath.Join(dir, "amend-answer.json")); code != 0 {
		t.Fatalf("review amendment: exit %d\n%s\n%s", code, out, errs)
	}
	out, errs, code = lb(t, admin, "admin", "watch", "--server", srv.URL, "--once")
	if code != 0 || !strings.Contains(out, "approve @quinn") || !approved("quinn") {
		t.Fatalf("watch after the amendment: exit %d\n%s\n%s", code, out, errs)
	}

	// Both sign in; the mesh holds Quinn as any member.
	g, probs := groups.Load(file)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	st, err := store.Open(ctx, store.Config{Dir: lead})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logins, err := arrival.OpenLogins(filepath.Join(dir, "logins.csv"))
	if err != nil {
		t.Fatal(err)
	}
	eng := arrival.New(arrival.Config{Store: st, Group: g, Server: &provision.Server{URL: srv.URL, Software: groups.SoftwareGoToSocial}, Logins: logins})
	for email, pw := range password {
		if err := logins.Keep(arrival.Login{Email: email, Password: pw, Server: srv.URL}); err != nil {
			t.Fatal(err)
		}
		if err := st.Accounts().Put(ctx, store.Account{Group: g.Name, Email: email, Server: srv.URL}); err != nil {
			t.Fatal(err)
		}
		if err := eng.SignIn(ctx, email); err != nil {
			t.Fatalf("sign in %s: %v", email, err)
		}
	}
	if err := eng.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	accs, err := st.Accounts().List(ctx, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	mm := meshcheck.Accounts(accs)
	if err := meshcheck.Verify(ctx, srv.URL, eng.ListTitle(), mm); err != nil || len(mm) != 2 {
		t.Fatalf("the mesh of %d: %v", len(mm), err)
	}
	s, err := eng.Stats(ctx)
	if err != nil || s.Members != 5 || s.Arrived != 2 || s.Follows != 2 {
		t.Fatalf("stats %+v, %v", s, err)
	}
	room, err := arrival.ReadRoom(ctx, st, g, srv.URL)
	if err != nil || room.Members != 5 || room.State["quinn@example.org"] != arrival.MemberArrived {
		t.Fatalf("room %+v, %v", room, err)
	}
}
