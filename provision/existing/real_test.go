package existing_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
	"github.com/lifeboat-social/lifeboat/provision/existing/existingtest"
	"github.com/lifeboat-social/lifeboat/provision/local"
)

// The real server of these tests is a GoToSocial v0.17.3 on loopback that
// requires a sign-up reason (so it keeps the proof), started once. Every
// API sign-up on GoToSocial waits for an admin's approval: it is an
// approval-mode server as long as the tests, not local.CreateAccount, sign
// members up.
var (
	gtsOnce sync.Once
	gtsDir  string
	gts     *local.Local
	gtsSrv  *provision.Server
	gtsErr  error
)

func realServer(t *testing.T) (*local.Local, *provision.Server) {
	t.Helper()
	gtsOnce.Do(func() {
		if gtsDir, gtsErr = os.MkdirTemp("", "lifeboat-existing-gts-"); gtsErr != nil {
			return
		}
		gts = local.New(local.Config{Dir: gtsDir, Title: "Approval test server", ReasonRequired: true})
		gtsSrv, gtsErr = gts.Start(context.Background(), progress.Discard)
	})
	if gtsErr != nil {
		t.Fatalf("start GoToSocial: %v", gtsErr)
	}
	return gts, gtsSrv
}

func TestMain(m *testing.M) {
	code := m.Run()
	if gts != nil {
		if err := gts.Stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "stop GoToSocial:", err)
		}
	}
	if gtsDir != "" {
		os.RemoveAll(gtsDir)
	}
	os.Exit(code)
}

func TestScoutRealGoToSocial(t *testing.T) {
	_, srv := realServer(t)
	r, err := existing.ScoutURL(context.Background(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	// GoToSocial built from module source reports no version, and its
	// v2 instance never says that a reason is required.
	if r.Software != "gotosocial" || r.Registrations != existing.Approval || strings.Join(r.Languages, ",") != "en" ||
		r.MaxCharacters != 5000 || r.ActiveUsers != 0 || r.TotalUsers < 1 || len(r.Rules) != 0 {
		t.Fatalf("report %+v", r)
	}
	f := existing.Judge(r, 40)
	if !strings.Contains(strings.Join(f.Notes, "\n"), "admission request") {
		t.Fatalf("fit notes %q", f.Notes)
	}
	d := existing.New(existing.Config{URL: srv.URL})
	s, err := d.Start(context.Background(), progress.Discard)
	if err != nil || s.URL != srv.URL || s.Software != "gotosocial" || s.AdminToken != "" || s.Accounts != nil {
		t.Fatalf("Start = %+v, %v", s, err)
	}
}

// TestAdmissionRealGoToSocial is the whole admission on the real server:
// the lead makes a request, the admin accepts it (and rejects another
// group's), members and impostors sign up through the API with reasons,
// and the watcher with the admin's token approves exactly the members.
func TestAdmissionRealGoToSocial(t *testing.T) {
	ctx := context.Background()
	_, srv := realServer(t)
	lead := openStore(t)
	admin := openStore(t)

	// The lead's side: the group's key is made by the store.
	for _, name := range []string{"real-group", "rejected-group"} {
		if err := lead.Groups().Put(ctx, store.Group{Name: name, Title: name, State: "gathering"}); err != nil {
			t.Fatal(err)
		}
	}
	key := groupKey(t, lead, "real-group")
	rkey := groupKey(t, lead, "rejected-group")
	now := time.Now()
	window := admission.Window{From: now.Add(-time.Hour), Until: now.Add(time.Hour)}
	req, err := admission.New(admission.Draft{
		Server: srv.URL, Group: admission.Group{Name: "real-group", Title: "Real group"},
		Lead:   admission.Contact{Name: "Ada", Email: "ada@lead.example"},
		Emails: []string{"alice@real.example", "bob@real.example", "dave@real.example", "erin@real.example"},
		Window: window, Rules: []string{"Be kind"},
	}, key, now)
	if err != nil {
		t.Fatal(err)
	}
	rreq, err := admission.New(admission.Draft{
		Server: srv.URL, Group: admission.Group{Name: "rejected-group", Title: "Rejected"},
		Emails: []string{"carol@real.example"}, Window: window,
	}, rkey, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*admission.Request{req, rreq} {
		if err := admission.SaveRequest(ctx, lead.Journal(), r); err != nil {
			t.Fatal(err)
		}
	}

	// The admin's side: the documents travel as files or tokens.
	for _, d := range []struct {
		r  *admission.Request
		ok bool
	}{{req, true}, {rreq, false}} {
		got, err := admission.Decode([]byte(d.r.Token()))
		if err != nil {
			t.Fatal(err)
		}
		if err := admission.Decide(ctx, admin.Journal(), got, d.ok, "", now); err != nil {
			t.Fatal(err)
		}
	}

	proof := func(group, email string) string {
		p, _, err := admission.MemberProof(ctx, lead, group, srv.URL, email)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	alice := proof("real-group", "alice@real.example")
	// A forger signs the body of a real proof (naming the group's
	// request, for dave) with a key of their own.
	forgerKey := ed25519.NewKeyFromSeed(make([]byte, 32))
	dave, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(proof("real-group", "dave@real.example"), admission.ProofPrefix))
	if err != nil {
		t.Fatal(err)
	}
	body := dave[:len(dave)-ed25519.SignatureSize]
	forged := admission.ProofPrefix + base64.RawURLEncoding.EncodeToString(
		append(body, ed25519.Sign(forgerKey, append([]byte("lifeboat-member-proof\x00"), body...))...))
	expired, err := admission.IssueProof(req, key, "erin@real.example", admission.Window{Until: now.Add(-30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}

	reg := existing.NewRegistrar(srv.URL)
	signUps := []struct{ username, email, proof string }{
		{"alice", "alice@real.example", alice},
		{"mallory", "mallory@real.example", alice},                                     // a copied proof with another email
		{"forger", "dave@real.example", forged},                                        // a forged signature
		{"late", "erin@real.example", expired},                                         // an expired window
		{"alice_again", "ALICE@real.example", alice},                                   // the same member again (GoToSocial compares emails with case)
		{"carol", "carol@real.example", proof("rejected-group", "carol@real.example")}, // a rejected group
		{"stranger", "stranger@real.example", ""},                                      // no proof at all
		{"bob", "bob@real.example", proof("real-group", "bob@real.example")},
	}
	var aliceDone time.Time
	for _, s := range signUps {
		if s.username == "alice_again" {
			// GoToSocial gives created_at to the second and accounts
			// random ids, so two sign-ups in one second have no order the
			// watcher can read. The test says alice came first: make
			// alice_again's second a later one.
			time.Sleep(time.Until(aliceDone.Truncate(time.Second).Add(time.Second)))
		}
		m := existing.Member{Username: s.username, Email: s.email, Password: "correct horse battery staple 1", GroupTitle: "Real group", Proof: s.proof}
		if s.proof == "" {
			m.Proof = "(no proof: I just like the look of this server)"
		}
		if _, err := reg.SignUp(ctx, m); err != nil {
			t.Fatalf("sign up %s: %v", s.username, err)
		}
		if s.username == "alice" {
			aliceDone = time.Now()
		}
	}
	// Everyone confirms their email: the watcher approves only confirmed
	// accounts.
	for _, s := range signUps {
		existingtest.ConfirmEmail(t, gtsDir, srv.URL, s.email)
	}
	adminClient := fedi.New(srv.URL).WithToken(srv.AdminToken)
	if err := admission.CheckScopes(ctx, adminClient); err != nil {
		t.Fatalf("the real admin token fails the scope check: %v", err)
	}
	w := &admission.Watcher{API: adminClient, Journal: admin.Journal(), Server: srv.URL}
	dry := *w
	dry.DryRun = true
	if _, err := dry.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := approved(t, adminClient, signUps); got != "" {
		t.Fatalf("a dry run approved %s", got)
	}
	vs, err := w.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := approved(t, adminClient, signUps); got != "alice bob" {
		t.Fatalf("approved %q, want alice bob; verdicts:\n%s", got, verdicts(vs))
	}
	why := map[string]string{}
	for _, v := range vs {
		why[v.Username] = v.Why
	}
	for user, want := range map[string]error{
		"mallory": admission.ErrOtherEmail, "forger": admission.ErrForged, "late": admission.ErrOutsideWindow,
		"alice_again": admission.ErrReplayed, "carol": admission.ErrRejected, "stranger": admission.ErrNoProof,
	} {
		if why[user] != want.Error() {
			t.Errorf("%s: %q, want %q", user, why[user], want)
		}
	}
	// Polling again changes nothing.
	if _, err := w.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := approved(t, adminClient, signUps); got != "alice bob" {
		t.Fatalf("second poll: approved %q", got)
	}
}

func TestScopesRealNonAdmin(t *testing.T) {
	ctx := context.Background()
	_, srv := realServer(t)
	if _, err := srv.Accounts.CreateAccount(ctx, "plainuser", "plain@real.example", "plain user password 123"); err != nil {
		t.Fatal(err)
	}
	c := fedi.New(srv.URL)
	app, err := c.RegisterApp(ctx, "scope test", "", []string{"read", "write", "admin:read", "admin:write"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.SignInAndAuthorize(ctx, app, "plain@real.example", "plain user password 123")
	if err != nil {
		t.Fatal(err)
	}
	err = admission.CheckScopes(ctx, c.WithToken(tok))
	var se *admission.ScopeError
	if !errors.As(err, &se) || se.Scope != admission.ScopeRead || !strings.Contains(err.Error(), "admin:read:accounts") {
		t.Fatalf("CheckScopes with a non-admin token = %v", err)
	}
	t.Logf("non-admin token: %v", err)
}

func groupKey(t *testing.T, st store.Store, name string) ed25519.PrivateKey {
	t.Helper()
	g, err := st.Groups().Get(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.PrivateKey(g.SigningKey)
}

// approved lists, in sign-up order, who among signUps the server shows as
// approved.
func approved(t *testing.T, c *fedi.Client, signUps []struct{ username, email, proof string }) string {
	t.Helper()
	var out []string
	for _, s := range signUps {
		as, err := c.AdminAccounts(context.Background(), url.Values{"username": {s.username}, "origin": {"local"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(as) != 1 {
			t.Fatalf("%s: %d accounts", s.username, len(as))
		}
		if as[0].Approved {
			out = append(out, s.username)
		}
	}
	return strings.Join(out, " ")
}

func verdicts(vs []admission.Verdict) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString(v.String() + "\n")
	}
	return b.String()
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
