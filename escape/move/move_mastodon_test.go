package move_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/move"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/homes"
	"github.com/lifeboat-social/lifeboat/internal/mastodonfake"
	"github.com/lifeboat-social/lifeboat/internal/netguard"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// mastodonRoom is a group whose room is a Mastodon stand-in, with one
// arrived member (username ana2, email ana@example.org), and another
// stand-in where that member has an old account (ana) followed by ben
// and cat. The Mover reaches both over http, as their URLs say.
type mastodonRoom struct {
	dest, old *mastodonfake.Server
	st        store.Store
	mv        *move.Mover
	email     string
}

func newMastodonRoom(t *testing.T) *mastodonRoom {
	t.Helper()
	ctx := context.Background()
	r := &mastodonRoom{dest: mastodonfake.Start(mastodonfake.Config{Mode: mastodonfake.Open}),
		old: mastodonfake.Start(mastodonfake.Config{Mode: mastodonfake.Open}), email: "ana@example.org"}
	t.Cleanup(r.dest.Close)
	t.Cleanup(r.old.Close)
	account := func(s *mastodonfake.Server, name string) string {
		id, err := s.CreateAccount(mastodonfake.AccountOptions{Username: name, Email: name + "@example.org",
			Password: "password-" + name, Confirmed: true, Approved: true})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	for _, name := range []string{"ana", "ben", "cat"} {
		account(r.old, name)
	}
	for _, f := range []string{"ben", "cat"} {
		if err := r.old.Follow(f, "ana"); err != nil {
			t.Fatal(err)
		}
	}
	newID := account(r.dest, "ana2")
	account(r.dest, "other")

	g := &groups.Group{Version: 1, Name: "movers", Title: "Movers", ViableMass: 2,
		Lead:        groups.Person{Name: "Lead", Email: "lead@example.org"},
		Destination: groups.Destination{Type: groups.DestExisting, Server: r.dest.URL},
		Members:     []groups.Member{{Name: "Ana", Email: r.email}, {Name: "Bo", Email: "bo@example.org"}}}
	var err error
	if r.st, err = store.Open(ctx, store.Config{Dir: filepath.Join(t.TempDir(), "state")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.st.Close() })
	if err := escape.SaveGroup(ctx, r.st, g); err != nil {
		t.Fatal(err)
	}
	if err := r.st.Accounts().Put(ctx, store.Account{Group: g.Name, Email: r.email, Server: r.dest.URL, ID: newID,
		Username: "ana2", Token: r.dest.MintToken(newID, "read", "write", "follow"), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r.mv = move.New(move.Config{Store: r.st, Group: g.Name, Destination: r.dest.URL, HTTP: local, Scheme: "http"})
	return r
}

// local reaches servers on this machine, as serve --local-homes does.
var local = netguard.Client(netguard.Options{AllowPrivate: true})

func (r *mastodonRoom) domain(s *mastodonfake.Server) string { u, _ := url.Parse(s.URL); return u.Host }

// settings does what a guide tells the member: on a server's settings
// page, signed in as username, fill in the form.
func settings(t *testing.T, pageURL, username string, fields url.Values) {
	t.Helper()
	p, err := mastodonfake.NewBrowser().Settings(context.Background(), pageURL, username+"@example.org", "password-"+username, fields)
	if err != nil || p.Alert() != "" {
		t.Fatalf("%s: %v %q", pageURL, err, p.Alert())
	}
}

// TestMoveFromMastodonByHand: a member moves an old Mastodon account into
// a room on Mastodon, which has no API for either half. Lifeboat's guide
// names the pages and what to type; the member adds the alias and moves
// there; Lifeboat sees the old account's "moved" and records where the
// member came from.
func TestMoveFromMastodonByHand(t *testing.T) {
	ctx := context.Background()
	r := newMastodonRoom(t)
	oldAddr, newAddr := "ana@"+r.domain(r.old), "ana2@"+r.domain(r.dest)

	p, err := r.mv.Begin(ctx, r.email, oldAddr)
	if err != nil {
		t.Fatal(err)
	}
	if p.ByAPI() || p.Aliased || !p.AliasByHand || p.Software != "mastodon" || p.To != newAddr ||
		!slices.Equal(p.Followers, []string{"ben@" + r.domain(r.old), "cat@" + r.domain(r.old)}) {
		t.Fatalf("plan %+v", p)
	}
	g := p.Guide()
	want := move.Guide{SettingsURL: r.old.URL + "/settings/migration", Handle: "@" + newAddr,
		AliasURL: r.dest.URL + "/settings/aliases", Alias: "@" + oldAddr}
	if g != want {
		t.Fatalf("guide %+v\nwant  %+v", g, want)
	}
	if _, err := r.mv.MoveByAPI(ctx, r.email, "password-ana"); !errors.Is(err, move.ErrNoMoveAPI) {
		t.Fatalf("a move through Mastodon's API: %v", err)
	}

	settings(t, g.AliasURL, "ana2", url.Values{"account_alias[acct]": {g.Alias}})
	if st, err := r.mv.Check(ctx, r.email); err != nil || st.Moved {
		t.Fatalf("before the move: %v %+v", err, st)
	}
	settings(t, g.SettingsURL, "ana", url.Values{"account_migration[acct]": {g.Handle}, "account_migration[current_password]": {"password-ana"}})

	// The server's pass sees it, without the member's page.
	if err := r.mv.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if p, err := r.mv.Plan(ctx, r.email); err != nil || !p.Moved || p.MovedAt.IsZero() || p.Complete {
		t.Fatalf("after the move: %v %+v", err, p)
	}
	acc, err := r.st.Accounts().Get(ctx, "movers", r.email)
	if err != nil || acc.MovedFrom != oldAddr || acc.Username != "ana2" {
		t.Fatalf("the member's account: %v %+v", err, acc)
	}
	// Mastodon moved the followers' follows on its side; nothing here
	// delivers them (no federation between the stand-ins).
	if got := r.old.RemoteFollows(r.dest.URL + "/users/ana2"); !slices.Equal(got, []string{"ben", "cat"}) {
		t.Fatalf("follows asked of the new account: %v", got)
	}
	if pending, err := r.mv.Pending(ctx); err != nil || len(pending) != 1 || !pending[0].Moved {
		t.Fatalf("pending: %v %+v", err, pending)
	}
}

// TestMoveElsewhere: an old account that moved to some other account is
// not taken for a move into the room.
func TestMoveElsewhere(t *testing.T) {
	ctx := context.Background()
	r := newMastodonRoom(t)
	oldAddr := "ana@" + r.domain(r.old)
	if _, err := r.mv.Begin(ctx, r.email, oldAddr); err != nil {
		t.Fatal(err)
	}
	settings(t, r.dest.URL+"/settings/aliases", "other", url.Values{"account_alias[acct]": {oldAddr}})
	settings(t, r.old.URL+"/settings/migration", "ana", url.Values{
		"account_migration[acct]": {"other@" + r.domain(r.dest)}, "account_migration[current_password]": {"password-ana"}})
	if _, err := r.mv.Check(ctx, r.email); !errors.Is(err, move.ErrMovedElsewhere) {
		t.Fatalf("moved elsewhere: %v", err)
	}
	if acc, _ := r.st.Accounts().Get(ctx, "movers", r.email); acc.MovedFrom != "" {
		t.Fatalf("recorded a move that did not come here: %+v", acc)
	}
}

// TestBeginRefuses: a malformed address, a member who has not arrived,
// the new account itself, and a check before any move, each with its
// error and nothing recorded.
func TestBeginRefuses(t *testing.T) {
	ctx := context.Background()
	r := newMastodonRoom(t)
	for _, addr := range []string{"", "ana", "@ana", "ana@", "ana@host/path", "ana@exa mple.org", "a@b@c"} {
		if _, err := r.mv.Begin(ctx, r.email, addr); !errors.Is(err, move.ErrAddress) {
			t.Errorf("%q: %v", addr, err)
		}
	}
	if _, err := r.mv.Begin(ctx, "bo@example.org", "bo@"+r.domain(r.old)); !errors.Is(err, move.ErrNotArrived) {
		t.Errorf("a member without an account in the room: %v", err)
	}
	if _, err := r.mv.Begin(ctx, r.email, "ana2@"+r.domain(r.dest)); !errors.Is(err, move.ErrSameAccount) {
		t.Errorf("the new account itself: %v", err)
	}
	if _, err := r.mv.Check(ctx, "bo@example.org"); !errors.Is(err, move.ErrNotBegun) {
		t.Errorf("a check of no move: %v", err)
	}
	if pending, err := r.mv.Pending(ctx); err != nil || len(pending) != 0 {
		t.Errorf("pending: %v %+v", err, pending)
	}
}

// TestMoveOldDomainElsewhere: an old address whose domain is not its
// server's host (accounts @old.example on another host): Lifeboat finds
// the server through WebFinger at the domain and reads and guides the
// member to the server itself.
func TestMoveOldDomainElsewhere(t *testing.T) {
	ctx := context.Background()
	r := newMastodonRoom(t)
	// The domain's host answers WebFinger only, for the server elsewhere.
	var proxy *httputil.ReverseProxy
	domainHost := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/.well-known/webfinger" {
			http.NotFound(w, req)
			return
		}
		proxy.ServeHTTP(w, req)
	}))
	defer domainHost.Close()
	oldDomain := strings.TrimPrefix(domainHost.URL, "http://")
	split := mastodonfake.Start(mastodonfake.Config{Mode: mastodonfake.Open, Domain: oldDomain})
	defer split.Close()
	if _, err := split.CreateAccount(mastodonfake.AccountOptions{Username: "ana", Email: "ana@example.org", Confirmed: true, Approved: true}); err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(split.URL)
	proxy = httputil.NewSingleHostReverseProxy(target)
	mv := r.mv
	p, err := mv.Begin(ctx, r.email, "ana@"+oldDomain)
	if err != nil {
		t.Fatal(err)
	}
	if p.FromServer != split.URL || p.FromURI != split.URL+"/users/ana" || p.Guide().SettingsURL != split.URL+"/settings/migration" {
		t.Fatalf("plan %+v", p)
	}
}

// TestBeginAnotherOldAccount: a member who starts over with another old
// account gets a fresh plan, and the token kept for the first account
// is dropped.
func TestBeginAnotherOldAccount(t *testing.T) {
	ctx := context.Background()
	r := newMastodonRoom(t)
	if _, err := r.mv.Begin(ctx, r.email, "ana@"+r.domain(r.old)); err != nil {
		t.Fatal(err)
	}
	if err := r.mv.KeepToken(ctx, r.email, "a token for ana"); err != nil {
		t.Fatal(err)
	}
	if held, err := r.mv.HoldsToken(ctx, r.email); err != nil || !held {
		t.Fatalf("kept: %v %v", held, err)
	}
	p, err := r.mv.Begin(ctx, r.email, "ben@"+r.domain(r.old))
	if err != nil || p.From != "ben@"+r.domain(r.old) || len(p.Followers) != 0 {
		t.Fatalf("another old account: %v %+v", err, p)
	}
	if held, err := r.mv.HoldsToken(ctx, r.email); err != nil || held {
		t.Fatalf("the first account's token is still kept: %v %v", held, err)
	}
}

// TestMoveRefusesPrivateServers: the old address is what a member typed,
// so its server is reached as members' own servers are: a server on a
// loopback or private address is refused before any request reaches it,
// unless the Mover is allowed there (serve --local-homes); nothing of
// the move is begun.
func TestMoveRefusesPrivateServers(t *testing.T) {
	ctx := context.Background()
	r := newMastodonRoom(t)
	var asked atomic.Int32
	probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		asked.Add(1)
		http.NotFound(w, req)
	}))
	defer probe.Close()
	guarded := move.New(move.Config{Store: r.st, Group: "movers", Destination: r.dest.URL, Scheme: "http"})
	_, err := guarded.Begin(ctx, r.email, "ana@"+strings.TrimPrefix(probe.URL, "http://"))
	if !errors.Is(err, homes.ErrForbidden) || !strings.Contains(err.Error(), "old account") {
		t.Fatalf("a move from a server on loopback: %v, want homes.ErrForbidden", err)
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("the server on loopback was asked %d times", n)
	}
	if _, err := guarded.Plan(ctx, r.email); !errors.Is(err, move.ErrNotBegun) {
		t.Errorf("a refused move was journaled: %v", err)
	}
	if _, err := r.mv.Begin(ctx, r.email, "ana@"+r.domain(r.old)); err != nil {
		t.Fatalf("allowed on this machine: %v", err)
	}
}
