package web

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/move"
	"github.com/lifeboat-social/lifeboat/internal/mastodonfake"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// TestMovePageByHand: an arrived member moves an old Mastodon account
// into a room on Mastodon, where neither half has an API. The move page
// takes the old address, refuses a malformed one, shows the two steps
// with the pages and what to type; the member does them on the servers'
// own pages (the stand-ins'), and the move page sees the move and says
// so; the member's account records where it came from.
func TestMovePageByHand(t *testing.T) {
	ctx := context.Background()
	dest := mastodonfake.Start(mastodonfake.Config{Mode: mastodonfake.Open})
	defer dest.Close()
	old := mastodonfake.Start(mastodonfake.Config{Mode: mastodonfake.Open})
	defer old.Close()
	mk := func(s *mastodonfake.Server, name string) string {
		id, err := s.CreateAccount(mastodonfake.AccountOptions{Username: name, Email: name + "@example.org",
			Password: "password-" + name, Confirmed: true, Approved: true})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	for _, n := range []string{"oldada", "fan1", "fan2"} {
		mk(old, n)
	}
	for _, f := range []string{"fan1", "fan2"} {
		if err := old.Follow(f, "oldada"); err != nil {
			t.Fatal(err)
		}
	}
	newID := mk(dest, "ada")
	hostOfURL := func(u string) string { p, _ := url.Parse(u); return p.Host }
	oldAddr, newAddr := "oldada@"+hostOfURL(old.URL), "ada@"+hostOfURL(dest.URL)

	st, err := store.Open(ctx, store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hc := HomesConfig{AllowPrivate: true, HTTP: true}
	mv := move.New(move.Config{Store: st, Group: "river-birders", Destination: dest.URL, HTTP: hc.Client(), Scheme: hc.Scheme()})
	e := start(t, opts{st: st, noRun: true, tune: func(c *Config) { c.Moves = mv }})

	// Before arriving, the page sends the member to their step.
	b := newBrowser(t, true)
	if code, page := b.get(e.url + "/move"); code != http.StatusForbidden || !strings.Contains(page, "Open your invite link first") {
		t.Fatalf("move page without an invite: %d", code)
	}
	pledgeConfirmed(t, st, "river-birders", time.Now(), "ada@example.org", "ben@example.org", "chloe@example.org")
	e.tick(1)
	// The invite says, beside "I already have an account", that an old
	// account can be moved in once the member has arrived.
	if code, page := b.get(e.mailLink("ada@example.org", "Your invite")); code != 200 ||
		!regexp.MustCompile(`id="move-later">[^<]*<a href="/move">move it into the room</a>, and your followers come with it`).MatchString(page) {
		t.Fatalf("the invite page says nothing of moving an old account (%d):\n%s", code, page)
	}
	arrived := e.redeemIn(b, "ada@example.org", "ada")
	if !strings.Contains(arrived, `href="/move"`) {
		t.Fatalf("the arrived page offers no move:\n%s", arrived)
	}
	// The arrival made ada's account on the room's server.
	if err := st.Accounts().Put(ctx, store.Account{Group: "river-birders", Email: "ada@example.org", Server: dest.URL, ID: newID,
		Username: "ada", Token: dest.MintToken(newID, "read", "write", "follow"), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	code, page := b.get(e.url + "/move")
	if code != 200 || !strings.Contains(page, `name="address"`) || !strings.Contains(page, "Your posts stay where they are") {
		t.Fatalf("move page %d:\n%s", code, page)
	}
	resp, page := b.post(e.url+"/move", url.Values{"csrf": {csrfOf(t, page)}, "action": {"begin"}, "address": {"oldada"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Give your old address as name@server") {
		t.Fatalf("a malformed address: %d\n%s", resp.StatusCode, page)
	}
	resp, page = b.post(e.url+"/move", url.Values{"csrf": {csrfOf(t, page)}, "action": {"begin"}, "address": {"@" + oldAddr}})
	if resp.StatusCode != 200 || !strings.Contains(page, `id="from">`+oldAddr) || !strings.Contains(page, `http-equiv="refresh"`) {
		t.Fatalf("after the address: %d\n%s", resp.StatusCode, page)
	}
	pick := func(id string) string {
		t.Helper()
		m := regexp.MustCompile(`(?:href="([^"]+)" rel="noopener noreferrer" id="` + id + `"|id="` + id + `">([^<]+)<)`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no %s on the page:\n%s", id, page)
		}
		return html.UnescapeString(m[1] + m[2])
	}
	aliasPage, alias, settingsPage, handle := pick("alias-page"), pick("alias"), pick("settings-page"), pick("handle")
	if aliasPage != dest.URL+"/settings/aliases" || alias != "@"+oldAddr || settingsPage != old.URL+"/settings/migration" || handle != "@"+newAddr {
		t.Fatalf("guide: %s %s %s %s", aliasPage, alias, settingsPage, handle)
	}

	// The member does as the page says, on the servers' own pages.
	do := func(pageURL, user string, fields url.Values) {
		t.Helper()
		p, err := mastodonfake.NewBrowser().Settings(ctx, pageURL, user+"@example.org", "password-"+user, fields)
		if err != nil || p.Alert() != "" {
			t.Fatalf("%s: %v %q", pageURL, err, p.Alert())
		}
	}
	do(aliasPage, "ada", url.Values{"account_alias[acct]": {alias}})
	do(settingsPage, "oldada", url.Values{"account_migration[acct]": {handle}, "account_migration[current_password]": {"password-oldada"}})

	code, page = b.get(e.url + "/move")
	if code != 200 || !strings.Contains(page, `id="moved"`) || !strings.Contains(page, "0 of the 2 people who followed it follow you here now") {
		t.Fatalf("after the move %d:\n%s", code, page)
	}
	acc, err := st.Accounts().Get(ctx, "river-birders", "ada@example.org")
	if err != nil || acc.MovedFrom != oldAddr {
		t.Fatalf("ada's account: %v %+v", err, acc)
	}
}

// TestMovePageSteps: the move page's steps through an old server's API,
// as rendered: allow Lifeboat there, then the password (never over a
// page that reloads itself), then the move under way, then the
// followers coming over.
func TestMovePageSteps(t *testing.T) {
	e := start(t, opts{noRun: true})
	p := move.Plan{From: "ana@old.example", FromServer: "https://old.example", Software: "gotosocial",
		To: "ana@room.example", ToServer: "https://room.example", Aliased: true,
		Followers: []string{"a@old.example", "b@else.example", "c@room.example"}}
	for _, c := range []struct {
		name   string
		v      moveView
		want   []string
		absent []string
	}{
		{"not authorised", moveView{Begun: true, Plan: p},
			[]string{`href="/move/authorize" id="authorize-old"`, `id="aliased"`}, []string{`name="password"`, `id="alias-page"`}},
		{"authorised", moveView{Begun: true, Plan: p, Authorised: true},
			[]string{`name="password" type="password"`, `autocomplete="current-password"`, `value="move"`}, []string{`id="authorize-old"`, `http-equiv="refresh"`}},
		{"requested", moveView{Begun: true, Plan: func() move.Plan { q := p; q.Requested = true; return q }(), Authorised: true},
			[]string{`id="requested"`}, []string{`name="password"`}},
		{"moved", moveView{Begun: true, Plan: p, Authorised: true, Status: move.Status{Plan: func() move.Plan { q := p; q.Moved = true; return q }(), Arrived: 2}},
			[]string{`id="moved"`, "2 of the 3 people who followed it follow you here now; the others"}, []string{`name="password"`, `id="requested"`}},
	} {
		w := httptest.NewRecorder()
		e.srv.render(w, httptest.NewRequest(http.MethodGet, "/move", nil), http.StatusOK, "move", "Move your account here", c.v)
		page := w.Body.String()
		for _, s := range c.want {
			if !strings.Contains(page, s) {
				t.Errorf("%s: no %s in\n%s", c.name, s, page)
			}
		}
		for _, s := range c.absent {
			if strings.Contains(page, s) {
				t.Errorf("%s: %s in\n%s", c.name, s, page)
			}
		}
	}
}

// TestInviteWithoutMoves: where the room offers no move page (a local
// destination, which no other server reaches), the invite does not
// mention moving an account in.
func TestInviteWithoutMoves(t *testing.T) {
	e := start(t, opts{noRun: true})
	pledgeConfirmed(t, e.st, "river-birders", time.Now(), "ada@example.org", "ben@example.org", "chloe@example.org")
	e.tick(1)
	code, page := newBrowser(t, true).get(e.mailLink("ada@example.org", "Your invite"))
	if code != 200 || !strings.Contains(page, `name="username"`) {
		t.Fatalf("invite page %d:\n%s", code, page)
	}
	if strings.Contains(page, "move-later") || strings.Contains(page, "/move") {
		t.Fatalf("the invite offers a move the room does not have:\n%s", page)
	}
}

// TestMovePageRefusesPrivateServer: the old address is typed by the
// member, so serve reaches its server as it reaches members' own servers
// (HomesConfig): without --local-homes a server on loopback is refused
// before any request reaches it, and the page says why in the words of
// "I already have an account".
func TestMovePageRefusesPrivateServer(t *testing.T) {
	ctx := context.Background()
	dest := mastodonfake.Start(mastodonfake.Config{Mode: mastodonfake.Open})
	defer dest.Close()
	newID, err := dest.CreateAccount(mastodonfake.AccountOptions{Username: "ada", Email: "ada@example.org", Confirmed: true, Approved: true})
	if err != nil {
		t.Fatal(err)
	}
	var asked atomic.Int32
	probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.NotFound(w, r)
	}))
	defer probe.Close()
	st, err := store.Open(ctx, store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	public := HomesConfig{HTTP: true} // serve without --local-homes, over http to reach the stand-ins
	mv := move.New(move.Config{Store: st, Group: "river-birders", Destination: dest.URL, HTTP: public.Client(), Scheme: public.Scheme()})
	e := start(t, opts{st: st, noRun: true, tune: func(c *Config) { c.Moves = mv }})
	b := newBrowser(t, true)
	pledgeConfirmed(t, st, "river-birders", time.Now(), "ada@example.org", "ben@example.org", "chloe@example.org")
	e.tick(1)
	e.redeemIn(b, "ada@example.org", "ada")
	if err := st.Accounts().Put(ctx, store.Account{Group: "river-birders", Email: "ada@example.org", Server: dest.URL, ID: newID,
		Username: "ada", Token: dest.MintToken(newID, "read", "write", "follow"), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_, page := b.get(e.url + "/move")
	host := strings.TrimPrefix(probe.URL, "http://")
	resp, page := b.post(e.url+"/move", url.Values{"csrf": {csrfOf(t, page)}, "action": {"begin"}, "address": {"ada@" + host}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, host+" is not on the public internet") {
		t.Fatalf("a move from a server on loopback: %d\n%s", resp.StatusCode, page)
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("the server on loopback was asked %d times", n)
	}
	if _, err := mv.Plan(ctx, "ada@example.org"); !errors.Is(err, move.ErrNotBegun) {
		t.Errorf("a refused move was begun: %v", err)
	}
}
