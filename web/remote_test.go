package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/pgtest"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// The room counts everyone: /made-it, the follow CSV and group.json count
// the members who kept their own accounts on other servers, say how many
// they are, and give each one's own address; on SQLite and on the shared
// PostgreSQL store.
func TestMadeItCountsRemoteMembers(t *testing.T) {
	st, err := store.Open(context.Background(), store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	testMadeItCountsRemote(t, st)
}

func TestMadeItCountsRemoteMembersPostgres(t *testing.T) {
	st, err := store.Open(context.Background(), store.Config{URL: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	testMadeItCountsRemote(t, st)
}

func testMadeItCountsRemote(t *testing.T, st store.Store) {
	ctx := context.Background()
	e := start(t, opts{st: st, noRun: true})
	g := e.srv.g
	now := time.Now()
	if err := st.Groups().SetState(ctx, g.Name, "gathering", "launched", now); err != nil {
		t.Fatal(err)
	}
	dest := e.arr.oauthURL
	// Ada and Ben took accounts on the destination; Chloe and Dev kept
	// theirs on home.example, Elif on another.example (not listed).
	for _, a := range []store.Account{
		{Email: "ada@example.org", Server: dest, ID: "1", Username: "ada", Token: "t"},
		{Email: "ben@example.org", Server: dest, ID: "2", Username: "ben", Token: "t"},
		{Email: "chloe@example.org", Server: "https://home.example", ID: "3", Username: "chloe", Acct: "chloe@home.example", Token: "t"},
		{Email: "dev@example.org", Server: "https://home.example", ID: "4", Username: "dev", Acct: "dev@home.example", Token: "t"},
		{Email: "elif@example.org", Server: "https://another.example", ID: "5", Username: "elif", Acct: "elif@another.example", Token: "t"},
	} {
		a.Group = g.Name
		if err := st.Accounts().Put(ctx, a); err != nil {
			t.Fatal(err)
		}
		p := store.Pledge{Group: g.Name, Email: a.Email, Confirmed: true, ConfirmedAt: now, ShowName: a.Email != "elif@example.org"}
		if err := st.Pledges().Put(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, false)
	code, page := b.get(e.url + "/made-it")
	want := fmt.Sprintf(`5 of 6 members have arrived on <a href="%s" rel="noopener noreferrer">%s</a>`, dest, hostOf(dest))
	if code != 200 || !strings.Contains(page, want) || !strings.Contains(page, `<span id="remote">3 of them from accounts on other servers</span>`) {
		t.Fatalf("made-it %d lacks %q and the 3 remote:\n%s", code, want, page)
	}
	if !strings.Contains(page, "Chloe — @chloe@home.example") {
		t.Errorf("made-it lists Chloe by another address:\n%s", page)
	}
	code, csvBody := b.get(e.url + "/made-it/follows.csv")
	wantCSV := "Account address,Show boosts,Notify on new posts,Languages\n" +
		"ada@" + hostOf(dest) + ",true,false,\nben@" + hostOf(dest) + ",true,false,\n" +
		"chloe@home.example,true,false,\ndev@home.example,true,false,\n"
	if code != 200 || csvBody != wantCSV {
		t.Fatalf("csv %d:\n%q\nwant\n%q", code, csvBody, wantCSV)
	}
	code, js := b.get(e.url + "/made-it/group.json")
	var sp struct {
		Server   string `json:"server"`
		Arrived  int    `json:"arrived"`
		Remote   int    `json:"remote_members"`
		Accounts []struct {
			Acct string `json:"acct"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(js), &sp); code != 200 || err != nil {
		t.Fatalf("json %d %v: %s", code, err, js)
	}
	if sp.Server != hostOf(dest) || sp.Arrived != 5 || sp.Remote != 3 || len(sp.Accounts) != 4 || sp.Accounts[2].Acct != "chloe@home.example" {
		t.Fatalf("group.json %+v; want the destination's host, 5 arrived, 3 remote, Chloe at home.example", sp)
	}
}

// remoteArrivals is the fake engine that, like the real one, keeps the
// member's token, and reports how many of the others are remote.
type remoteArrivals struct {
	*fakeArrivals
	remote int
}

func (f remoteArrivals) Complete(ctx context.Context, group, email, code, redirectURI string) (ArrivalResult, error) {
	res, err := f.fakeArrivals.Complete(ctx, group, email, code, redirectURI)
	if err != nil {
		return res, err
	}
	acc, err := f.st.Accounts().Get(ctx, group, email)
	if err != nil {
		return res, err
	}
	acc.Token = "token-of-" + email
	res.Remote = f.remote
	return res, f.st.Accounts().Put(ctx, acc)
}

// /arrive says how many of the group the new member follows live on
// other servers, and the room's progress counts them among the arrived.
func TestArrivedPageCountsRemoteMembers(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fake := newFakeArrivals(t, st)
	e := start(t, opts{st: st, arr: fake, tune: func(c *Config) { c.Arrivals = remoteArrivals{fakeArrivals: fake, remote: 2} }})
	g := e.srv.g
	now := time.Now()
	for i, email := range []string{"ada@example.org", "ben@example.org", "chloe@example.org"} {
		if err := st.Pledges().Put(ctx, store.Pledge{Group: g.Name, Email: email, Confirmed: true, ConfirmedAt: now}); err != nil {
			t.Fatal(err)
		}
		if email == "chloe@example.org" {
			continue
		}
		// Ada and Ben arrived from their own servers before the invites
		acc := store.Account{Group: g.Name, Email: email, Server: "https://home.example", ID: fmt.Sprint(i), Token: "t",
			Acct: strings.Split(email, "@")[0] + "@home.example"}
		if err := st.Accounts().Put(ctx, acc); err != nil {
			t.Fatal(err)
		}
	}
	// the mesh of the three is made
	var keys []string
	for _, a := range []string{"ada", "ben", "chloe"} {
		for _, b := range []string{"ada", "ben", "chloe"} {
			if a != b {
				keys = append(keys, "follow:"+a+"@example.org>"+b+"@example.org")
			}
		}
	}
	if err := st.Journal().Record(ctx, "arrive:"+g.Name+"@"+fake.oauthURL, keys); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	final := e.redeem("chloe@example.org", "chloe")
	for _, want := range []string{"3 follow you (2 of your group keep accounts on other servers, counted too)",
		"All 6 follows between the 3 members who have arrived (2 of them on other servers) are made."} {
		if !strings.Contains(final, want) {
			t.Errorf("arrived page lacks %q:\n%s", want, final)
		}
	}
}

// The landing page's count of who would go holds the members who keep
// their own accounts on other servers, and says how many they are.
func TestLandingCountsRemoteMembers(t *testing.T) {
	st, err := store.Open(context.Background(), store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	testLandingCountsRemote(t, st)
}

func TestLandingCountsRemoteMembersPostgres(t *testing.T) {
	st, err := store.Open(context.Background(), store.Config{URL: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	testLandingCountsRemote(t, st)
}

func testLandingCountsRemote(t *testing.T, st store.Store) {
	ctx := context.Background()
	e := start(t, opts{st: st, noRun: true, group: testGroup(6, 4)})
	g := e.srv.g
	now := time.Now()
	for _, a := range []store.Account{
		{Email: "ada@example.org", Server: e.arr.oauthURL, ID: "1", Username: "ada", Token: "t"},
		{Email: "ben@example.org", Server: "https://home.example", ID: "2", Acct: "ben@home.example", Token: "t"},
		{Email: "chloe@example.org", Server: "https://wren.example", ID: "3", Acct: "chloe@wren.example", Token: "t"},
		{Email: "dev@example.org", Server: "https://wren.example", ID: "4", Acct: "dev@wren.example", Token: "t"}, // no pledge
	} {
		a.Group = g.Name
		if err := st.Accounts().Put(ctx, a); err != nil {
			t.Fatal(err)
		}
		if a.Email == "dev@example.org" {
			continue
		}
		if err := st.Pledges().Put(ctx, store.Pledge{Group: g.Name, Email: a.Email, Confirmed: true, ConfirmedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	code, page := newBrowser(t, false).get(e.url + "/")
	if code != 200 || !strings.Contains(page, "3 of 4 needed would go now") ||
		!strings.Contains(page, `<p id="remote">2 of them keep accounts they already have on other servers, and count like everyone.</p>`) {
		t.Fatalf("landing %d lacks the 3 going, 2 of them remote:\n%s", code, page)
	}
}
