package move_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/escape/move"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/netguard"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

func TestMain(m *testing.M) { gtstest.Main(m) }

var runs atomic.Int32

// TestMoveFromAnotherServer: a member of a group that arrived on room
// (the destination) has an old account on home with followers there and
// on room. Lifeboat names the old account as an alias of the new one,
// moves it through home's API with the member's password, and accepts
// the followers' requests: read back from both servers, every old
// follower follows the new account and no longer the old one, the
// member's account records where it came from, and the group's mesh
// holds.
func TestMoveFromAnotherServer(t *testing.T) {
	room, home := gtstest.Federation(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n := runs.Add(1) // -count=N shares the servers: new people each run
	hc := gtstest.FederationHTTPClient()
	client := func(u string) *fedi.Client { return fedi.New(u, fedi.WithHTTPClient(hc)) }

	// The group arrives on room, three members meshed.
	g := &groups.Group{Version: 1, Name: fmt.Sprintf("movers%d", n), Title: "Movers", ViableMass: 2,
		Lead: groups.Person{Name: "Lead", Email: "lead@example.org"}, Destination: groups.Destination{Type: groups.DestLocal}}
	for i := range 3 {
		g.Members = append(g.Members, groups.Member{Name: fmt.Sprint("M", i),
			Email: fmt.Sprintf("mover%d-%d@example.org", n, i), Username: fmt.Sprintf("mover%d_%d", n, i)})
	}
	st, err := store.Open(ctx, store.Config{Dir: filepath.Join(t.TempDir(), "state")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := escape.SaveGroup(ctx, st, g); err != nil {
		t.Fatal(err)
	}
	logins, err := arrival.OpenLogins(filepath.Join(t.TempDir(), "logins.csv"))
	if err != nil {
		t.Fatal(err)
	}
	e := arrival.New(arrival.Config{Store: st, Group: g, Server: room.Server, Logins: logins, Client: client})
	for _, m := range g.Members {
		if err := e.Join(ctx, m.Email, "", ""); err != nil {
			t.Fatal(err)
		}
		if err := e.SignIn(ctx, m.Email); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	mover := g.Members[0]
	newAcc, err := st.Accounts().Get(ctx, g.Name, mover.Email)
	if err != nil {
		t.Fatal(err)
	}
	newAddr := mover.Username + "@" + room.Domain

	// The member's old account on home, followed by two people there and
	// one on room.
	oldName := fmt.Sprintf("old%d", n)
	oldAddr := oldName + "@" + home.Domain
	oldID, oldTok := home.Account(t, oldName)
	old := home.Client().WithToken(oldTok)
	type follower struct {
		c         *fedi.Client
		id, token string
		addr      string // as the new account's server lists it, and as move lists it
	}
	var followers []follower
	for _, who := range []struct {
		f    *gtstest.Fed
		name string
	}{{home, fmt.Sprintf("fan%d_a", n)}, {home, fmt.Sprintf("fan%d_b", n)}, {room, fmt.Sprintf("fan%d_c", n)}} {
		id, tok := who.f.Account(t, who.name)
		c := who.f.Client().WithToken(tok)
		target := oldID
		if who.f == room {
			a, err := c.ResolveAccount(ctx, oldAddr)
			if err != nil {
				t.Fatal(err)
			}
			target = a.ID
		}
		if _, err := c.Follow(ctx, target); err != nil {
			t.Fatal(err)
		}
		followers = append(followers, follower{c, id, tok, who.name + "@" + who.f.Domain})
	}
	// The old account is locked, as GoToSocial's accounts are: it accepts.
	gtstest.AcceptFollowers(ctx, t, old, oldID, 3)
	// Room learns of the acceptance through federation too: until it
	// has, its follower's follow is only a request there, and a Move
	// would find no follower on room to redirect.
	gtstest.WaitFor(ctx, t, "room to show its follower following the old account", func() bool {
		following, err := followers[2].c.Following(ctx, followers[2].id)
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(following, func(a fedi.Account) bool { return a.Acct == oldAddr })
	})

	mv := move.New(move.Config{Store: st, Group: g.Name, Destination: room.Server.URL, Client: client,
		HTTP: netguard.Client(netguard.Options{AllowPrivate: true, Transport: hc.Transport.(*http.Transport)})})
	plan, err := mv.Begin(ctx, mover.Email, "@"+oldAddr)
	if err != nil {
		t.Fatal(err)
	}
	// GoToSocial shows accounts only to a token: no followers noted yet.
	if !plan.ByAPI() || !plan.Aliased || len(plan.Followers) != 0 {
		t.Fatalf("plan before the member authorised Lifeboat on home: %+v", plan)
	}
	if _, err := mv.MoveByAPI(ctx, mover.Email, home.Password(oldName)); !errors.Is(err, move.ErrNoToken) {
		t.Fatalf("a move before Lifeboat has the old account's token: %v", err)
	}
	// The member authorises Lifeboat on home, as a browser would.
	// A token of another account on home never moves that account.
	if err := mv.KeepToken(ctx, mover.Email, followers[0].token); err != nil {
		t.Fatal(err)
	}
	if _, err := mv.MoveByAPI(ctx, mover.Email, home.Password(oldName)); !errors.Is(err, move.ErrWrongAccount) {
		t.Fatalf("a move with another account's token: %v", err)
	}
	authorizeOnHome(ctx, t, mv, home, mover.Email, oldName)
	plan, err = mv.Plan(ctx, mover.Email)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{followers[0].addr, followers[1].addr, followers[2].addr}
	slices.Sort(want)
	if !plan.ByAPI() || !plan.Aliased || plan.To != newAddr || plan.From != oldAddr || !slices.Equal(plan.Followers, want) {
		t.Fatalf("plan %+v", plan)
	}
	if _, err := mv.MoveByAPI(ctx, mover.Email, "not the password"); !errors.Is(err, move.ErrPassword) {
		t.Fatalf("a wrong password: %v", err)
	}
	if _, err := mv.MoveByAPI(ctx, mover.Email, home.Password(oldName)); err != nil {
		t.Fatal(err)
	}

	// Federation moves the followers over minutes; each Check accepts the
	// requests that have come.
	var status move.Status
	gtstest.WaitFor(ctx, t, "the old followers to follow the new account", func() bool {
		status, err = mv.Check(ctx, mover.Email)
		if err != nil {
			t.Fatal(err)
		}
		return status.Moved && status.Arrived == 3
	})

	if !status.Complete {
		t.Errorf("status %+v: want complete", status)
	}

	// Read back from both servers.
	got, err := st.Accounts().Get(ctx, g.Name, mover.Email)
	if err != nil || got.MovedFrom != oldAddr || got.ID != newAcc.ID {
		t.Fatalf("the member's account: %v %+v", err, got)
	}
	newFollowers, err := room.Client().WithToken(newAcc.Token).Followers(ctx, newAcc.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range followers {
		if !slices.ContainsFunc(newFollowers, func(a fedi.Account) bool { return full(a.Acct, room.Domain) == f.addr }) {
			t.Errorf("room lists the new account's followers without %s", f.addr)
		}
		var target string
		if slices.Contains([]string{followers[0].addr, followers[1].addr}, f.addr) {
			target = newAddr // on home, the new account is remote
		} else {
			target = mover.Username
		}
		gtstest.WaitFor(ctx, t, f.addr+"'s server to show the follow of the new account", func() bool {
			following, err := f.c.Following(ctx, f.id)
			if err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(following, func(a fedi.Account) bool { return a.Acct == oldAddr || a.Acct == oldName }) {
				return false
			}
			return slices.ContainsFunc(following, func(a fedi.Account) bool { return a.Acct == target })
		})
	}
	moved, err := home.Client().WithToken(oldTok).AccountMoving(ctx, oldID)
	if err != nil || moved.Moved == nil || moved.Moved.Acct != newAddr {
		t.Fatalf("home shows the old account moved: %v %+v", err, moved.Moved)
	}

	// The group's mesh holds: a seed finds nothing to do, and every member
	// follows and is followed by the two others.
	if err := e.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range g.Members {
		c, err := e.MemberCounts(ctx, m.Email)
		if err != nil || c.Following != 2 || c.Followers != 2 {
			t.Errorf("%s in the mesh: %v %+v", m.Username, err, c)
		}
	}

	// Home refuses a second move so soon, in its own words.
	var refused *move.Refused
	if _, err := mv.MoveByAPI(ctx, mover.Email, home.Password(oldName)); !errors.As(err, &refused) ||
		!errors.Is(err, move.ErrRefused) || !strings.Contains(refused.Reason, "5 minutes") {
		t.Fatalf("a second move at once: %v", err)
	}

	// A second pass changes nothing.
	again, err := mv.Check(ctx, mover.Email)
	if err != nil || !again.Moved || again.Accepted != 0 || again.Arrived != 3 {
		t.Fatalf("again: %v %+v", err, again)
	}
}

// full is acct as a full address; home is the listing server's domain.
func full(acct, home string) string {
	if !strings.Contains(acct, "@") {
		return acct + "@" + home
	}
	return acct
}

// authorizeOnHome is the member authorising Lifeboat on their old server
// in a browser: Lifeboat's authorize URL, home's sign-in form, the
// authorize form, and the redirect back with the code, which Lifeboat
// trades for the token.
func authorizeOnHome(ctx context.Context, t *testing.T, mv *move.Mover, home *gtstest.Fed, email, username string) {
	t.Helper()
	const callback = "https://lifeboat.example/move/callback"
	authURL, err := mv.AuthorizeURL(ctx, email, callback, "state-1")
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	hc := gtstest.FederationHTTPClient()
	browser := &http.Client{Transport: hc.Transport, Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != home.Domain {
			return http.ErrUseLastResponse // back to Lifeboat: read the code
		}
		return nil
	}}
	step := func(method, u string, form url.Values) *http.Response {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequestWithContext(ctx, method, u, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := step(http.MethodGet, authURL, nil)
	if !strings.HasSuffix(resp.Request.URL.Path, "/auth/sign_in") {
		t.Fatalf("authorize: at %s (%s), want the sign-in form", resp.Request.URL, resp.Status)
	}
	resp = step(http.MethodPost, home.Server.URL+"/auth/sign_in", url.Values{"username": {username + "@example.org"}, "password": {home.Password(username)}})
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/oauth/authorize" {
		t.Fatalf("sign in: at %s (%s), want the authorize form", resp.Request.URL, resp.Status)
	}
	resp = step(http.MethodPost, home.Server.URL+"/oauth/authorize", url.Values{})
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), callback) || loc.Query().Get("state") != "state-1" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: back to %q (%s)", resp.Header.Get("Location"), resp.Status)
	}
	if err := mv.Authorized(ctx, email, loc.Query().Get("code"), callback); err != nil {
		t.Fatal(err)
	}
}

// TestMoveRefusedWithoutAlias: a move the old server refuses for want of
// the alias is tried again only in the minute after Lifeboat set the
// alias (the old server may not see it yet); later the refusal comes at
// once, in the server's own words. Here the member took the alias off
// the new account before confirming, a minute and more after Begin.
func TestMoveRefusedWithoutAlias(t *testing.T) {
	room, home := gtstest.Federation(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	n := runs.Add(1)
	hc := gtstest.FederationHTTPClient()
	st, err := store.Open(ctx, store.Config{Dir: filepath.Join(t.TempDir(), "state")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	group, email := fmt.Sprintf("unaliased%d", n), fmt.Sprintf("unaliased%d@example.org", n)
	newName, oldName := fmt.Sprintf("unaliased%d", n), fmt.Sprintf("unaliasedold%d", n)
	g := &groups.Group{Version: 1, Name: group, Title: "Unaliased", ViableMass: 1,
		Lead: groups.Person{Name: "Lead", Email: "lead@example.org"}, Destination: groups.Destination{Type: groups.DestLocal},
		Members: []groups.Member{{Name: "U", Email: email, Username: newName}}}
	if err := escape.SaveGroup(ctx, st, g); err != nil {
		t.Fatal(err)
	}
	newID, newTok := room.Account(t, newName)
	if err := st.Accounts().Put(ctx, store.Account{Group: group, Email: email, Server: room.Server.URL, ID: newID,
		Username: newName, Token: newTok, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	home.Account(t, oldName)
	later := time.Now()
	mv := move.New(move.Config{Store: st, Group: group, Destination: room.Server.URL,
		Client: func(u string) *fedi.Client { return fedi.New(u, fedi.WithHTTPClient(hc)) },
		HTTP:   netguard.Client(netguard.Options{AllowPrivate: true, Transport: hc.Transport.(*http.Transport)}),
		Now:    func() time.Time { return later }})
	plan, err := mv.Begin(ctx, email, oldName+"@"+home.Domain)
	if err != nil || !plan.Aliased || !plan.AliasedAt.Equal(later) {
		t.Fatalf("begin: %+v, %v", plan, err)
	}
	authorizeOnHome(ctx, t, mv, home, email, oldName)
	if _, err := room.Client().WithToken(newTok).Alias(ctx, []string{}); err != nil {
		t.Fatal(err)
	}
	later = later.Add(2 * time.Minute)
	began := time.Now()
	var refused *move.Refused
	if _, err := mv.MoveByAPI(ctx, email, home.Password(oldName)); !errors.As(err, &refused) || !strings.Contains(refused.Reason, "alsoKnownAs") {
		t.Fatalf("a move to an account without the alias: %v", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("the refusal came after %s: tried again long after the alias was set", d)
	}
	if p, err := mv.Plan(ctx, email); err != nil || p.Requested || p.Moved {
		t.Fatalf("the move after the refusal: %+v, %v", p, err)
	}
}
