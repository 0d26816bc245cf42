package arrival_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/meshcheck"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
)

func TestMain(m *testing.M) { gtstest.Main(m) }

func group(name string, n int) *groups.Group {
	g := &groups.Group{Version: 1, Name: name, Title: "Group " + name, ViableMass: 2,
		Lead:        groups.Person{Name: "Lead", Email: name + "0@example.org"},
		Destination: groups.Destination{Type: groups.DestLocal}}
	for i := 0; i < n; i++ {
		g.Members = append(g.Members, groups.Member{Name: fmt.Sprint("M", i),
			Email: fmt.Sprintf("%s%d@example.org", name, i), Username: fmt.Sprintf("%s%d", name, i)})
	}
	return g
}

func openStore(t *testing.T, g *groups.Group) store.Store {
	st, err := store.Open(context.Background(), store.Config{Dir: filepath.Join(t.TempDir(), "state")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := escape.SaveGroup(context.Background(), st, g); err != nil {
		t.Fatal(err)
	}
	return st
}

// logins is a logins file of the test's own.
func logins(t *testing.T) arrival.Logins {
	l, err := arrival.OpenLogins(filepath.Join(t.TempDir(), "logins.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// seededRoom is a room of three on the shared server, arrived and seeded
// by an engine over its own store; kept holds the passwords made.
func seededRoom(t *testing.T, name string) (*provision.Server, *groups.Group, store.Store, arrival.Logins) {
	t.Helper()
	_, srv := gtstest.Server(t)
	g := group(name, 3)
	st := openStore(t, g)
	kept := logins(t)
	e := arrival.New(arrival.Config{Store: st, Group: g, Server: srv, Logins: kept})
	arrive(t, e, g, 0, 1, 2)
	if err := e.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	return srv, g, st, kept
}

func arrive(t *testing.T, e *arrival.Engine, g *groups.Group, members ...int) {
	t.Helper()
	ctx := context.Background()
	for _, i := range members {
		if err := e.Join(ctx, g.Members[i].Email, "", ""); err != nil {
			t.Fatal(err)
		}
		if err := e.SignIn(ctx, g.Members[i].Email); err != nil {
			t.Fatal(err)
		}
	}
}

// verifyMesh reads the server, not the store: every arrived member follows
// exactly the other arrived members and has exactly one list of the group
// holding them.
func verifyMesh(t *testing.T, st store.Store, e *arrival.Engine, g *groups.Group, url string, n int) {
	t.Helper()
	accs, err := st.Accounts().List(context.Background(), g.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(accs) != n {
		t.Fatalf("%d accounts in the store, want %d", len(accs), n)
	}
	var ms []meshcheck.Member
	for _, a := range accs {
		ms = append(ms, meshcheck.Member{Email: a.Email, ID: a.ID, Token: a.Token})
	}
	if err := meshcheck.Verify(context.Background(), url, e.ListTitle(), ms); err != nil {
		t.Fatal(err)
	}
}

func TestMeshGrowsIncrementallyAndRerunChangesNothing(t *testing.T) {
	_, srv := gtstest.Server(t)
	g := group("inc", 5)
	st := openStore(t, g)
	e := arrival.New(arrival.Config{Store: st, Group: g, Server: srv, Workers: 4, Logins: logins(t)})
	ctx := context.Background()

	arrive(t, e, g, 0, 1)
	if err := e.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	verifyMesh(t, st, e, g, srv.URL, 2)

	arrive(t, e, g, 2, 3, 4)
	if err := e.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	verifyMesh(t, st, e, g, srv.URL, 5)
	s, err := e.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Follows != 20 || s.Lists != 5 || s.Listed != 20 || s.Welcomes != 1 {
		t.Errorf("stats = %+v, want 20 follows, 5 lists, 20 entries, 1 welcome", s)
	}
	// Each member's place in the mesh, read back right after seeding.
	for _, m := range g.Members {
		c, err := e.MemberCounts(ctx, m.Email)
		if err != nil || c != (arrival.Counts{Following: 4, Followers: 4}) {
			t.Errorf("%s: %+v, %v; want 4 and 4", m.Email, c, err)
		}
	}
	if _, err := e.MemberCounts(ctx, "nobody@example.org"); err == nil {
		t.Error("counts for someone who has not arrived")
	}

	// Run everything again: nothing new on the server.
	arrive(t, e, g, 0, 1, 2, 3, 4)
	if err := e.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	verifyMesh(t, st, e, g, srv.URL, 5)
	lead, _ := st.Accounts().Get(ctx, g.Name, g.Lead.Email)
	sts, err := fedi.New(srv.URL).WithToken(lead.Token).AccountStatuses(ctx, lead.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 {
		t.Errorf("the lead has %d posts, want exactly 1 welcome", len(sts))
	}
}

// A fresh engine over a store that lost its journal (as after a crash
// between acting and recording) reconciles with the server instead of
// making anything twice.
func TestJournalLossMakesNoDuplicates(t *testing.T) {
	srv, g, st1, kept := seededRoom(t, "loss")
	ctx := context.Background()
	accs, _ := st1.Accounts().List(ctx, g.Name)

	// A second store knows the accounts (and the logins file their
	// passwords) but nothing of the journal.
	st2 := openStore(t, g)
	for _, a := range accs {
		a.ID, a.Token = "", ""
		if err := st2.Accounts().Put(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	e2 := arrival.New(arrival.Config{Store: st2, Group: g, Server: srv, Logins: kept})
	arrive(t, e2, g, 0, 1, 2)
	if err := e2.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	verifyMesh(t, st2, e2, g, srv.URL, 3)
	lead, _ := st2.Accounts().Get(ctx, g.Name, g.Lead.Email)
	sts, _ := fedi.New(srv.URL).WithToken(lead.Token).AccountStatuses(ctx, lead.ID)
	// The welcome has no "started" mark in the new journal, so this is
	// the one place a lost journal could repeat an effect; it must not.
	if len(sts) != 1 {
		var ids []string
		for _, s := range sts {
			ids = append(ids, s.ID)
		}
		sort.Strings(ids)
		t.Errorf("the lead has %d posts %v, want 1", len(sts), ids)
	}
}

// TestTakenUsernameSecondChoice: a member whose first choice is taken on
// the real server gets their second choice (an earlier version reused the
// first name on every retry).
func TestTakenUsernameSecondChoice(t *testing.T) {
	_, srv := gtstest.Server(t)
	g := group(fmt.Sprintf("taken%d", time.Now().UnixNano()%1e6), 2) // the server outlives -count runs
	st := openStore(t, g)
	e := arrival.New(arrival.Config{Store: st, Group: g, Server: srv, Logins: logins(t)})
	ctx := context.Background()
	arrive(t, e, g, 0)
	first := g.Members[0].Username
	err := e.Join(ctx, g.Members[1].Email, first, "first choice password")
	if !errors.Is(err, provision.ErrUsernameTaken) {
		t.Fatalf("taking %s: %v, want ErrUsernameTaken", first, err)
	}
	second := g.Members[1].Username + "_2"
	if err := e.Join(ctx, g.Members[1].Email, second, "second choice password"); err != nil {
		t.Fatalf("second choice: %v", err)
	}
	acc, err := st.Accounts().Get(ctx, g.Name, g.Members[1].Email)
	if err != nil || acc.Username != second || acc.ID == "" {
		t.Fatalf("account %s id=%q, %v", acc.Username, acc.ID, err)
	}
	// The server has the second choice, and it signs in with the second password.
	c := fedi.New(srv.URL)
	app, err := c.RegisterApp(ctx, "taken test", fedi.OOB, []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.SignInAndAuthorize(ctx, app, g.Members[1].Email, "second choice password")
	if err != nil {
		t.Fatal(err)
	}
	me, err := c.WithToken(tok).VerifyCredentials(ctx)
	if err != nil || me.Username != second {
		t.Fatalf("signed in as %q, %v", me.Username, err)
	}
}
