package tui

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
	"github.com/lifeboat-social/lifeboat/provision/existing/existingtest"
)

// Tests of the admin screen (admission requests, decisions, the watcher)
// and of the destination screen's existing servers (scouting), against
// httptest servers answering Mastodon 4.3's JSON (existingtest), with the
// store in a temporary directory.

// label makes a test server's address stable in golden screens: its
// random port is shown as a five-letter name (ports are five digits, so
// the layout does not move).
func label(t *testing.T, rawURL, name string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || len(name) != 5 {
		t.Fatalf("label %q as %q", rawURL, name)
	}
	replace(t, ":"+u.Port(), ":"+name)
}

// replacements are made in golden screens: what changes from run to run.
var replacements [][2]string

func replace(t *testing.T, old, new string) {
	replacements = append(replacements, [2]string{old, new})
	t.Cleanup(func() {
		for i, r := range replacements {
			if r[0] == old {
				replacements = append(replacements[:i], replacements[i+1:]...)
				return
			}
		}
	})
}

// mastodon starts an existingtest fixture server labelled name.
func mastodon(t *testing.T, kind, name string) string {
	t.Helper()
	u := existingtest.Mastodon(t, kind).URL
	label(t, u, name)
	return u
}

// groupKey is the group's signing key, the same every run so the
// fingerprint on screen is too.
func groupKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed([]byte("lifeboat tui test group key 32by"))
}

var members = []string{"mara@example.org", "noor@example.org", "otto@example.org", "priya@example.org"}

// newRequest makes Harbour Knitters' signed request to server, accepting
// the server's current rules, written to ~/request.json; its random id is
// shown as REQUEST-ID-16HEX in golden screens.
func newRequest(t *testing.T, f *fixture, server string) (*admission.Request, string) {
	t.Helper()
	r, err := existing.ScoutURL(context.Background(), server, nil)
	if err != nil {
		t.Fatal(err)
	}
	req, err := admission.New(admission.Draft{
		Server:  server,
		Group:   admission.Group{Name: "harbour-knitters", Title: "Harbour Knitters"},
		Lead:    admission.Contact{Name: "Mara Stitch", Email: "mara@example.org"},
		Emails:  members,
		Window:  admission.Window{From: fixedNow.Add(-time.Hour), Until: fixedNow.Add(7 * 24 * time.Hour)},
		Rules:   r.Rules,
		Message: "Four knitters from the harbour town; we post patterns and photos.",
	}, groupKey(), fixedNow.Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	replace(t, req.ID(), "REQUEST-ID-16HEX")
	file := filepath.Join(f.dir, "request.json")
	if err := os.WriteFile(file, req.Encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	return req, file
}

func TestAdminRequestShown(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		srv := mastodon(t, existingtest.Approval, "APPRV")
		newRequest(t, f, srv)
		m := play(t, size, New(context.Background(), f.d, f.file), waitFor("Jamal"), press("6"), waitFor("No admission requests"),
			press("o"), waitFor("Open an admission request"), press("~/request.json<enter>"), waitFor("the group accepted all 4"))
		screenGolden(t, m)
	})
}

// TestAdminAcceptRecordsDecision accepts in the TUI and reads the
// decision back with admission.DecisionFor, as lifeboat admin watch does.
func TestAdminAcceptRecordsDecision(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		srv := mastodon(t, existingtest.Approval, "APPRV")
		req, _ := newRequest(t, f, srv)
		m := play(t, size, New(context.Background(), f.d, f.file), waitFor("Jamal"), press("6"), waitFor("No admission requests"),
			press("o"), waitFor("Open an admission request"), press("~/request.json<enter>"), waitFor("the group accepted all 4"),
			press("a"), waitFor("Message to the group"), press("Welcome, knitters!<enter>"), waitFor("y/n"),
			// The status line comes a message after the decision's own
			// text ("Accepted. Members …"): waiting for it waits for both
			// (WaitFor consumes what it has read).
			press("y"), waitFor("accepted Harbour Knitters: recorded"))
		screenGolden(t, m)

		d, err := admission.DecisionFor(context.Background(), f.st.Journal(), req.ID())
		if err != nil {
			t.Fatal(err)
		}
		if !d.Accepted || d.Message != "Welcome, knitters!" || !d.At.Equal(fixedNow) || d.Request.ID() != req.ID() ||
			d.Request.Fingerprint() != admission.Fingerprint(groupKey().Public().(ed25519.PublicKey)) {
			t.Fatalf("decision %+v", d)
		}
		shown := m.(Model).scr[adminScreen].(*admin).dec
		if shown == nil || shown.Accepted != d.Accepted || shown.Message != d.Message || !shown.At.Equal(d.At) {
			t.Fatalf("the screen shows %+v, the store has %+v", shown, d)
		}
		// the watcher sees it as the command's would
		ds, err := admission.Decisions(context.Background(), f.st.Journal())
		if err != nil || len(ds) != 1 || !ds[0].Accepted || !admission.SameServer(ds[0].Request.Server, srv) {
			t.Fatalf("decisions %v: %+v", err, ds)
		}
	})
}

// TestAdminRejectAndInvalid rejects a request picked from the store, and
// refuses to decide on a tampered one.
func TestAdminRejectAndInvalid(t *testing.T) {
	f := newFixture(t)
	srv := mastodon(t, existingtest.Approval, "APPRV")
	req, file := newRequest(t, f, srv)
	if err := admission.Decide(context.Background(), f.st.Journal(), req, true, "", fixedNow.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	play(t, sizes[0], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("6"), waitFor("Harbour Knitters"),
		press("<enter>"), waitFor("accepted on"), press("r"), waitFor("Message to the group"),
		press("<enter>"), waitFor("Reject Harbour Knitters (4 members)"), press("y"), waitFor("Rejected. The watcher"))
	d, err := admission.DecisionFor(context.Background(), f.st.Journal(), req.ID())
	if err != nil || d.Accepted {
		t.Fatalf("decision %+v, %v", d, err)
	}

	doc, _ := os.ReadFile(file)
	bad := filepath.Join(f.dir, "tampered.json")
	os.WriteFile(bad, []byte(strings.Replace(string(doc), `"title": "Harbour Knitters"`, `"title": "Harbour Kn1tters"`, 1)), 0o644)
	m := play(t, sizes[0], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("6"), waitFor("Harbour Knitters"),
		press("o"), waitFor("Open an admission request"), press("~/tampered.json<enter>"), waitFor("INVALID: admission: signature does not verify"),
		press("a"))
	if v := m.View(); strings.Contains(v, "Message to the group") || !strings.Contains(v, "it cannot be accepted") {
		t.Fatalf("a tampered request could be decided on:\n%s", v)
	}
}

// adminServer is a Mastodon-shaped server with the admin API: two
// pending sign-ups, noor's with her member proof and a visitor's without
// one; approvals are recorded. Everything else is the approval fixture.
type adminServer struct {
	*httptest.Server
	token string

	mu       sync.Mutex
	approved []string
	setProof func(string)
	// later are sign-ups that arrive after the watcher started.
	later []signUp
}

type signUp struct{ id, user, email, reason string }

func newAdminServer(t *testing.T, name string) *adminServer {
	t.Helper()
	s := &adminServer{token: "admin-token-of-the-test"}
	var proof string
	mux := http.NewServeMux()
	fixture := existingtest.Handler(existingtest.Approval)
	accounts := func() []map[string]any {
		s.mu.Lock()
		defer s.mu.Unlock()
		var out []map[string]any
		for _, a := range append([]signUp{
			{"1", "noor", "noor@example.org", admission.Reason("Harbour Knitters", proof)},
			{"2", "visitor", "visitor@example.org", "I would love to join"},
		}, s.later...) {
			out = append(out, map[string]any{"id": a.id, "username": a.user, "email": a.email, "invite_request": a.reason,
				"approved": slices.Contains(s.approved, a.id), "confirmed": true, "domain": nil,
				"created_at": fixedNow.Add(-10 * time.Minute).Format(time.RFC3339),
				"account":    map[string]any{"id": a.id, "username": a.user, "acct": a.user}})
		}
		return out
	}
	auth := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") != "Bearer "+s.token {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"The access token is invalid"}`))
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		return true
	}
	mux.HandleFunc("GET /api/v2/admin/accounts", func(w http.ResponseWriter, r *http.Request) {
		if auth(w, r) {
			var pending []map[string]any
			for _, a := range accounts() {
				if !a["approved"].(bool) {
					pending = append(pending, a)
				}
			}
			json.NewEncoder(w).Encode(pending)
		}
	})
	one := func(w http.ResponseWriter, id string) map[string]any {
		for _, a := range accounts() {
			if a["id"] == id {
				return a
			}
		}
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"Record not found"}`))
		return nil
	}
	mux.HandleFunc("GET /api/v1/admin/accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
		if auth(w, r) {
			if a := one(w, r.PathValue("id")); a != nil {
				json.NewEncoder(w).Encode(a)
			}
		}
	})
	mux.HandleFunc("POST /api/v1/admin/accounts/{id}/approve", func(w http.ResponseWriter, r *http.Request) {
		if !auth(w, r) {
			return
		}
		a := one(w, r.PathValue("id"))
		if a == nil {
			return
		}
		s.mu.Lock()
		s.approved = append(s.approved, r.PathValue("id"))
		s.mu.Unlock()
		a["approved"] = true
		json.NewEncoder(w).Encode(a)
	})
	mux.Handle("/", fixture)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	label(t, s.URL, name)
	// noor's proof names the request the test makes: issued lazily
	s.setProof = func(p string) { s.mu.Lock(); proof = p; s.mu.Unlock() }
	return s
}

// adminWatchFixture is a store with Harbour Knitters' request to an admin
// server accepted, and the token reader lifeboat admin watch uses (the
// environment; the file case is the command's).
func adminWatchFixture(t *testing.T) (*fixture, *adminServer, *admission.Request) {
	t.Helper()
	f := newFixture(t)
	srv := newAdminServer(t, "ADMIN")
	req, _ := newRequest(t, f, srv.URL)
	p, err := admission.IssueProof(req, groupKey(), "noor@example.org", admission.Window{})
	if err != nil {
		t.Fatal(err)
	}
	srv.setProof(p)
	if err := admission.Decide(context.Background(), f.st.Journal(), req, true, "", fixedNow.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	f.d.AdminToken = func(file string) (string, error) {
		if file != "" {
			return "", errors.New("token files are read by the command in these tests")
		}
		if tok := os.Getenv("LIFEBOAT_ADMIN_TOKEN"); tok != "" {
			return tok, nil
		}
		return "", errors.New("no admin token: set $LIFEBOAT_ADMIN_TOKEN or give --token-file (mode 0600)")
	}
	f.d.WatchInterval = time.Hour
	return f, srv, req
}

func TestAdminWatchLog(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f, srv, _ := adminWatchFixture(t)
		t.Setenv("LIFEBOAT_ADMIN_TOKEN", srv.token)
		m := play(t, size, New(context.Background(), f.d, f.file), waitFor("Jamal"), press("6"), waitFor("Harbour Knitters"),
			press("w"), waitFor("Press u"), press("u"), waitFor("Your server"),
			press(srv.URL+"<enter><enter><enter>"), waitFor("leave @visitor"))
		screenGolden(t, m)
		srv.mu.Lock()
		defer srv.mu.Unlock()
		if len(srv.approved) != 0 {
			t.Fatalf("a dry run approved %v", srv.approved)
		}
		if strings.Contains(m.View(), srv.token) {
			t.Fatal("the token is on screen")
		}
	})
}

// TestAdminWatchApproves runs the watcher for real after the
// confirmation: exactly the member with a proof is approved.
func TestAdminWatchApproves(t *testing.T) {
	f, srv, _ := adminWatchFixture(t)
	t.Setenv("LIFEBOAT_ADMIN_TOKEN", srv.token)
	m := play(t, sizes[1], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("6"), waitFor("Harbour Knitters"),
		press("w"), waitFor("Press u"), press("u"), waitFor("Your server"),
		press(srv.URL+"<enter><enter><down><enter>"), waitFor("for real? y/n"), press("y"), waitFor("leave @visitor"))
	v := m.View()
	if !strings.Contains(v, "approve @noor (1) group harbour-knitters") || strings.Contains(v, "[dry run]") {
		t.Fatalf("log:\n%s", v)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if strings.Join(srv.approved, ",") != "1" {
		t.Fatalf("approved %v, want noor (1) only", srv.approved)
	}
}

// TestAdminWatchPollsAgain: a member who signs up while the watcher runs
// is approved on a later poll, and nobody is approved twice.
func TestAdminWatchPollsAgain(t *testing.T) {
	f, srv, req := adminWatchFixture(t)
	f.d.WatchInterval = 50 * time.Millisecond
	priya, err := admission.IssueProof(req, groupKey(), "priya@example.org", admission.Window{})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("LIFEBOAT_ADMIN_TOKEN", srv.token)
	m := play(t, sizes[1], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("6"), waitFor("Harbour Knitters"),
		press("w"), waitFor("Press u"), press("u"), waitFor("Your server"),
		press(srv.URL+"<enter><enter><down><enter>"), waitFor("for real? y/n"), press("y"), waitFor("approve @noor"),
		meanwhile(func() {
			srv.mu.Lock()
			srv.later = append(srv.later, signUp{"3", "priya", "priya@example.org", admission.Reason("Harbour Knitters", priya)})
			srv.mu.Unlock()
		}), waitFor("approve @priya (3)"))
	if v := m.View(); strings.Count(v, "approve @noor") != 1 {
		t.Fatalf("log:\n%s", v)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if strings.Join(srv.approved, ",") != "1,3" {
		t.Fatalf("approved %v, want noor (1) then priya (3), once each", srv.approved)
	}
}

// TestAdminWatchNoToken says what is missing instead of starting.
func TestAdminWatchNoToken(t *testing.T) {
	f, srv, _ := adminWatchFixture(t)
	t.Setenv("LIFEBOAT_ADMIN_TOKEN", "")
	m := play(t, sizes[0], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("6"), waitFor("Harbour Knitters"),
		press("w"), waitFor("Press u"), press("u"), waitFor("Your server"),
		press(srv.URL+"<enter><enter><enter>"), waitFor("What to do"))
	v := m.View()
	for _, want := range []string{"Missing: no admin token", "LIFEBOAT_ADMIN_TOKEN", "chmod 600", "stopped"} {
		if !strings.Contains(v, want) {
			t.Errorf("screen lacks %q:\n%s", want, v)
		}
	}

	// without the hook (not from the command line) it names the command
	f.d.AdminToken = nil
	m = play(t, sizes[0], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("6"), waitFor("Harbour Knitters"),
		press("w"), waitFor("Press u"), press("u"), waitFor("Your server"),
		press(srv.URL+"<enter><enter><enter>"), waitFor("read by the command line"))
	if v := m.View(); !strings.Contains(v, "run lifeboat admin") || strings.Contains(v, "What to do") {
		t.Errorf("screen:\n%s", v)
	}
}

func TestDestinationScouted(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		open := mastodon(t, existingtest.Open, "OPENS")
		approval := mastodon(t, existingtest.Approval, "APPRV")
		m := play(t, size, New(context.Background(), f.d, f.file), waitFor("Jamal"), press("3"), waitFor("Local"),
			press("<down>s"), waitFor("Scout existing servers"), press(approval+" "+open+"<enter>"), waitFor("Scouted for 12"),
			press("<right>"))
		screenGolden(t, m)
	})
}

// TestDestinationChooseScouted picks the second scouted server and saves
// it in the group file, keeping the file's comments; a server that does
// not answer is one line.
func TestDestinationChooseScouted(t *testing.T) {
	f := newFixture(t)
	open := mastodon(t, existingtest.Open, "OPENS")
	approval := mastodon(t, existingtest.Approval, "APPRV")
	dead := existingtest.DeadURL(t)
	m := play(t, sizes[1], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("3"), waitFor("Local"),
		press("<down>s"), waitFor("Scout existing servers"), press(open+", "+dead+" "+approval+"<enter>"), waitFor("Scouted for 12"),
		press("<right><enter>"), waitFor("destination: existing"))
	if v := m.View(); !strings.Contains(v, "does not answer") {
		t.Errorf("no line for the dead server:\n%s", v)
	}
	g, probs := groups.Load(f.file)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	// ranked for 12 members: the open server (12840 active) before the
	// approval one (830)
	want := groups.Destination{Type: groups.DestExisting, Server: approval}
	if g.Destination != want {
		t.Errorf("destination %+v, want %+v", g.Destination, want)
	}
	data, _ := os.ReadFile(f.file)
	if !strings.Contains(string(data), "# launch once 8 members have pledged") {
		t.Errorf("comments lost:\n%s", data)
	}
}

// TestAdminFromHome opens the admin screen without a group file (a
// server's admin has none): the requests the store holds are listed.
func TestAdminFromHome(t *testing.T) {
	eachSize(t, func(t *testing.T, size [2]int) {
		f := newFixture(t)
		srv := mastodon(t, existingtest.Approval, "APPRV")
		req, _ := newRequest(t, f, srv)
		if err := admission.Decide(context.Background(), f.st.Journal(), req, true, "", fixedNow.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		m := play(t, size, New(context.Background(), f.d, ""), waitFor("No groups yet"), press("A"), waitFor("Harbour Knitters"))
		screenGolden(t, m)
	})
}
