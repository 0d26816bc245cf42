package arrival_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/meshcheck"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// halfMakeFollow puts GoToSocial into the state a follow request cut off
// mid-flight leaves behind: the request is in the database, but the
// server's cache says there is none. The follower first asks for the
// relationship (the server caches "no request"), then the request row is
// written into the database behind the server's back — exactly what a
// request whose insert lands but whose handling is cut short leaves.
func halfMakeFollow(t *testing.T, dbPath, serverURL string, from, to store.Account) {
	t.Helper()
	ctx := context.Background()
	c := fedi.New(serverURL).WithToken(from.Token)
	if rel, err := c.Relationship(ctx, to.ID); err != nil || rel.Following || rel.Requested {
		t.Fatalf("before: %+v, %v; want no follow and no request", rel, err)
	}
	db, err := sql.Open("sqlite", dbPath+"?_pragma=busy_timeout(20000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	id := ulid()
	_, err = db.ExecContext(ctx, `INSERT INTO follow_requests (id, created_at, updated_at, uri, account_id, target_account_id, show_reblogs, notify)
		SELECT ?, created_at, created_at, uri || '/follow/' || ?, id, ?, 1, 0 FROM accounts WHERE id = ?`, id, id, to.ID, from.ID)
	if err != nil {
		t.Fatalf("write the follow request: %v", err)
	}
	// The state is the one seen after kill -9: every follow answers 500
	// (the server logs "already exists"), and the target cannot accept
	// the request it holds.
	_, err = c.Follow(ctx, to.ID)
	if !fedi.IsStatus(err, 500) {
		t.Fatalf("following after the half-made request: %v; want the server's 500 \"already exists\"", err)
	}
	_, aerr := fedi.New(serverURL).WithToken(to.Token).AuthorizeFollowRequest(ctx, from.ID)
	if !fedi.IsStatus(aerr, 404) {
		t.Fatalf("accepting the half-made request: %v; want 404", aerr)
	}
	t.Logf("reproduced: %v; %v", err, aerr)
}

// ulid makes a GoToSocial-shaped id (26 characters of Crockford base32).
func ulid() string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := make([]byte, 26)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	b[0], b[1] = '0', '1'
	return string(b)
}

func gtsDB(t *testing.T) string {
	dest, _ := gtstest.Server(t)
	return filepath.Join(filepath.Dir(dest.ConfigPath()), "gts.db")
}

// A follow request left half made in GoToSocial (in its database, not in
// its cache) makes every retry of that follow answer 500. Seed clears it
// through the API alone — the target lists its follow requests and
// accepts — and the whole mesh ends exact.
func TestSeedClearsHalfMadeFollow(t *testing.T) {
	defer arrival.QuickRetries()()
	_, srv := gtstest.Server(t)
	g := group("half", 4)
	st := openStore(t, g)
	e := arrival.New(arrival.Config{Store: st, Group: g, Server: srv, Workers: 4, Logins: logins(t)})
	arrive(t, e, g, 0, 1, 2, 3)
	ctx := context.Background()
	a, _ := st.Accounts().Get(ctx, g.Name, g.Members[1].Email)
	b, _ := st.Accounts().Get(ctx, g.Name, g.Members[2].Email)
	halfMakeFollow(t, gtsDB(t), srv.URL, a, b)

	if err := e.Seed(ctx); err != nil {
		t.Fatalf("seed over a half-made follow: %v", err)
	}
	verifyMesh(t, st, e, g, srv.URL, 4)
	reqs, err := fedi.New(srv.URL).WithToken(b.Token).FollowRequests(ctx)
	if err != nil || len(reqs) != 0 {
		t.Errorf("%s still has follow requests %v (%v)", b.Email, reqs, err)
	}
}

// A member whose every request is refused (here: a token the server no
// longer knows) does not stop the room: everyone else's mesh is made and
// exact, Seed names the stuck follows and list, and once the member can
// act again the next Seed finishes the mesh.
func TestSeedIsolatesAStuckMember(t *testing.T) {
	defer arrival.QuickRetries()()
	_, srv := gtstest.Server(t)
	g := group("iso", 5)
	st := openStore(t, g)
	e := arrival.New(arrival.Config{Store: st, Group: g, Server: srv, Workers: 4, Logins: logins(t)})
	arrive(t, e, g, 0, 1, 2, 3, 4)
	ctx := context.Background()
	bad, _ := st.Accounts().Get(ctx, g.Name, g.Members[3].Email)
	token := bad.Token
	bad.Token = "revoked-" + token[:8]
	if err := st.Accounts().Put(ctx, bad); err != nil {
		t.Fatal(err)
	}

	err := e.Seed(ctx)
	var se *arrival.StuckError
	if !errors.Is(err, arrival.ErrStuck) || !errors.As(err, &se) {
		t.Fatalf("seed = %v; want a StuckError", err)
	}
	// Its 4 follows, the 4 follows of it (it cannot accept them), its list.
	follows, lists := 0, 0
	for _, s := range se.Stuck {
		switch {
		case s.Step == arrival.StepFollows && (s.From == bad.Email) != (s.To == bad.Email):
			follows++
		case s.Step == arrival.StepLists && s.From == bad.Email && s.To == "":
			lists++
		default:
			t.Errorf("stuck piece not about %s: %v", bad.Email, s)
		}
		if !fedi.IsStatus(s.Err, 401) {
			t.Errorf("%v: want the server's 401", s)
		}
	}
	if follows != 8 || lists != 1 {
		t.Errorf("stuck: %d follows and %d lists, want 8 and 1:\n%v", follows, lists, err)
	}
	var others []meshcheck.Member
	accs, _ := st.Accounts().List(ctx, g.Name)
	for _, a := range accs {
		if a.Email != bad.Email {
			others = append(others, meshcheck.Member{Email: a.Email, ID: a.ID, Token: a.Token})
		}
	}
	if err := meshcheck.Verify(ctx, srv.URL, e.ListTitle(), others); err != nil {
		t.Errorf("the rest of the room is not exact: %v", err)
	}

	bad.Token = token
	if err := st.Accounts().Put(ctx, bad); err != nil {
		t.Fatal(err)
	}
	if err := e.Seed(ctx); err != nil {
		t.Fatalf("the next seed: %v", err)
	}
	verifyMesh(t, st, e, g, srv.URL, 5)
	s, _ := e.Stats(ctx)
	if s.Follows != 20 || s.Lists != 5 || s.Listed != 20 {
		t.Errorf("stats %+v", s)
	}
}

// An acceptance cut short can store the follow and leave the request it
// answers: the follower follows, and the target still sees the request
// waiting. A Seed that meets the pair again (here: over a journal that
// lost it) accepts it once more, and nothing is left waiting.
func TestSeedClearsRequestBesideFollow(t *testing.T) {
	srv, g, st1, kept := seededRoom(t, "beside")
	ctx := context.Background()
	a, _ := st1.Accounts().Get(ctx, g.Name, g.Members[0].Email)
	b, _ := st1.Accounts().Get(ctx, g.Name, g.Members[1].Email)
	db, err := sql.Open("sqlite", gtsDB(t)+"?_pragma=busy_timeout(20000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	id := ulid()
	if _, err := db.ExecContext(ctx, `INSERT INTO follow_requests (id, created_at, updated_at, uri, account_id, target_account_id, show_reblogs, notify)
		SELECT ?, created_at, created_at, uri || '/follow/' || ?, id, ?, 1, 0 FROM accounts WHERE id = ?`, id, id, b.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	bc := fedi.New(srv.URL).WithToken(b.Token)
	if reqs, err := bc.FollowRequests(ctx); err != nil || len(reqs) != 1 {
		t.Fatalf("before: %d requests waiting (%v), want the one left behind", len(reqs), err)
	}

	// The accounts (with their tokens) in a store whose journal lost them.
	st2 := openStore(t, g)
	accs, _ := st1.Accounts().List(ctx, g.Name)
	for _, acc := range accs {
		if err := st2.Accounts().Put(ctx, acc); err != nil {
			t.Fatal(err)
		}
	}
	e2 := arrival.New(arrival.Config{Store: st2, Group: g, Server: srv, Logins: kept})
	if err := e2.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	verifyMesh(t, st2, e2, g, srv.URL, 3)
	if reqs, err := bc.FollowRequests(ctx); err != nil || len(reqs) != 0 {
		t.Errorf("after: %d requests waiting (%v), want none", len(reqs), err)
	}
}
