package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/mastodonfake"
	"github.com/lifeboat-social/lifeboat/internal/pgtest"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// Arrive makes fakeArrivals a HomeArrivals: it takes the member into the
// room from their own server (their connected account no longer waits),
// and records it, as the engine would.
func (f *fakeArrivals) Arrive(ctx context.Context, group, email string) (ArrivalResult, error) {
	if err := f.st.Accounts().Enter(ctx, group, email); err != nil {
		return ArrivalResult{}, err
	}
	acc, err := f.st.Accounts().Get(ctx, group, email)
	if err != nil {
		return ArrivalResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.complete[email]++
	return ArrivalResult{Server: acc.Server, Acct: acc.Acct, ListTitle: "River Birders", Following: 2, Followers: 2}, nil
}

var authorizeRE = regexp.MustCompile(`href="([^"]+)" id="authorize"`)

// homeMastodon is a member's own Mastodon server (the stand-in), locked
// down: sign-ups closed, and in limited federation mode (its API only
// for signed-in users), with an account for each of names.
func homeMastodon(t *testing.T, names ...string) (*mastodonfake.Server, map[string]string) {
	t.Helper()
	f := mastodonfake.Start(mastodonfake.Config{Title: "Elsewhere", Mode: mastodonfake.None, LimitedFederation: true})
	t.Cleanup(f.Close)
	ids := map[string]string{}
	for _, n := range names {
		id, err := f.CreateAccount(mastodonfake.AccountOptions{Username: n, Email: n + "@example.org", Password: "own password 42",
			Confirmed: true, Approved: true})
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = id
	}
	return f, ids
}

// localHomes lets members' servers be on this machine, over http.
func localHomes(c *Config) { c.Homes = HomesConfig{AllowPrivate: true, HTTP: true} }

// connect follows the connect page's link to the member's server, signs
// in and allows Lifeboat there (in the server's own browser profile),
// and brings the code back to Lifeboat in b.
func connect(t *testing.T, b *browser, page, email string) (int, string) {
	t.Helper()
	m := authorizeRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no link to the member's server:\n%s", page)
	}
	back, err := mastodonfake.NewBrowser().Authorize(context.Background(), html.UnescapeString(m[1]), email, "own password 42")
	if err != nil {
		t.Fatal(err)
	}
	return b.get(back)
}

// checkAccount: the member's row names their server, their id there and
// their address, and holds a token that acts for them.
func checkAccount(t *testing.T, st store.Store, f *mastodonfake.Server, email, user, id string) {
	t.Helper()
	a, err := st.Accounts().Get(context.Background(), "river-birders", email)
	if err != nil {
		t.Fatal(err)
	}
	domain := strings.TrimPrefix(f.URL, "http://")
	if a.Server != f.URL || a.ID != id || a.Username != user || a.Acct != user+"@"+domain || !a.Remote("https://room.example") {
		t.Fatalf("account %+v; want server %s, id %s", a, f.URL, id)
	}
	me, err := fedi.New(a.Server).WithToken(a.Token).VerifyCredentials(context.Background())
	if err != nil || me.ID != id {
		t.Fatalf("the token acts for %+v, %v", me, err)
	}
}

// wantWaiting: the member's connected account waits for their arrival,
// or (waiting false) has entered the room with them.
func wantWaiting(t *testing.T, st store.Store, email string, waiting bool) {
	t.Helper()
	a, err := st.Accounts().Get(context.Background(), "river-birders", email)
	if err != nil || a.Waiting != waiting {
		t.Fatalf("%s's account waits: %v (%v), want %v", email, a.Waiting, err, waiting)
	}
}

// TestHomeMastodon: members whose own account is on a Mastodon server
// connect it from the pledge page, the join page and the invite page;
// each row names the server, their id and address, with a working
// token; Lifeboat's app is registered there once. On SQLite and
// PostgreSQL.
func TestHomeMastodon(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			cfg := store.Config{Dir: t.TempDir()}
			if dialect == "postgres" {
				cfg.URL = pgtest.URL(t)
			}
			st, err := store.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			homeMastodonPaths(t, st)
		})
	}
}

func homeMastodonPaths(t *testing.T, st store.Store) {
	ctx := context.Background()
	f, ids := homeMastodon(t, "chloe", "dev", "wren")
	domain := strings.TrimPrefix(f.URL, "http://")
	g := testGroup(4, 2)
	g.Enrolment = groups.EnrolOpen
	e := start(t, opts{st: st, group: g, noRun: true, tune: localHomes})

	// Chloe, on her pledge page.
	link, err := e.srv.PledgeLink("chloe@example.org")
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, true)
	_, page := b.get(link)
	resp, page := b.post(link+"/home", url.Values{"csrf": {csrfOf(t, page)}, "address": {"@chloe@" + domain}})
	if resp.StatusCode != 200 || !strings.Contains(page, "Your account is on <strong>"+domain) {
		t.Fatalf("connect page %d:\n%s", resp.StatusCode, page)
	}
	code, page := connect(t, b, page, "chloe@example.org")
	if code != 200 || !strings.Contains(page, "Your account is connected") || !strings.Contains(page, "@chloe@"+domain) {
		t.Fatalf("pledge page after connecting %d:\n%s", code, page)
	}
	checkAccount(t, st, f, "chloe@example.org", "chloe", ids["chloe"])
	wantWaiting(t, st, "chloe@example.org", true)

	// Wren, a stranger, on the join page: her account waits until she
	// is in.
	b = newBrowser(t, true)
	_, page = b.get(e.url + "/join")
	resp, page = b.post(e.url+"/join", url.Values{"csrf": {csrfOf(t, page)}, "name": {"Wren Reed"}, "email": {"wren@example.org"},
		"fediverse": {"@wren@" + domain}, "keep": {"1"}})
	if resp.StatusCode != 200 || !strings.Contains(page, `id="authorize"`) {
		t.Fatalf("join %d:\n%s", resp.StatusCode, page)
	}
	code, page = connect(t, b, page, "wren@example.org")
	if code != 200 || !strings.Contains(page, `id="home-done"`) {
		t.Fatalf("join page after connecting %d:\n%s", code, page)
	}
	if _, err := st.Accounts().Get(ctx, g.Name, "wren@example.org"); err == nil {
		t.Fatal("the account of someone not let in yet is in the room")
	}
	if err := e.srv.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	confirm := e.mailLink("wren@example.org", "Confirm your email")
	_, page = b.get(confirm)
	if resp, _ := b.post(confirm, url.Values{"csrf": {csrfOf(t, page)}}); resp.StatusCode != 200 {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	if err := e.srv.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	checkAccount(t, st, f, "wren@example.org", "wren", ids["wren"])
	wantWaiting(t, st, "wren@example.org", true)

	// Dev, on his invite page after the launch.
	for _, m := range []string{"ada", "dev"} {
		st.Pledges().Put(ctx, store.Pledge{Group: g.Name, Email: m + "@example.org", Confirmed: true})
	}
	if err := e.srv.Launch(ctx, false); err != nil {
		t.Fatal(err)
	}
	b = newBrowser(t, true)
	_, page = b.get(e.mailLink("dev@example.org", "Your invite"))
	resp, page = b.post(e.url+"/arrive/home", url.Values{"csrf": {csrfOf(t, page)}, "address": {"dev@" + domain}})
	if resp.StatusCode != 200 {
		t.Fatalf("connect page %d:\n%s", resp.StatusCode, page)
	}
	code, page = connect(t, b, page, "dev@example.org")
	if code != 200 || !strings.Contains(page, `id="result"`) || !strings.Contains(page, "dev@"+domain) {
		t.Fatalf("after connecting from the invite %d:\n%s", code, page)
	}
	checkAccount(t, st, f, "dev@example.org", "dev", ids["dev"])
	wantWaiting(t, st, "dev@example.org", false)
	if e.arr.complete["dev@example.org"] != 1 || e.arr.created["dev@example.org"] != 0 {
		t.Fatalf("engine: %v arrivals, %v accounts made", e.arr.complete, e.arr.created)
	}
	// The invite page shows the arrival again, and does nothing twice.
	if _, page = b.get(e.url + "/arrive"); !strings.Contains(page, `id="result"`) || e.arr.complete["dev@example.org"] != 1 {
		t.Fatalf("again: %v\n%s", e.arr.complete, page)
	}
	// His pledge page offers no other account now.
	link, _ = e.srv.PledgeLink("dev@example.org")
	if _, page = b.get(link); strings.Contains(page, `id="address"`) {
		t.Fatalf("the pledge page of a member who arrived offers to connect an account:\n%s", page)
	}
	if _, err := st.HomeApps().Get(ctx, f.URL, e.url+"/home/callback"); err != nil {
		t.Fatalf("Lifeboat's app on the server: %v", err)
	}
}

// TestHomeUseConnected: a member who connected their account on the
// pledge page takes it into the room from the invite page with one
// button, without a new account.
func TestHomeUseConnected(t *testing.T) {
	ctx := context.Background()
	f, ids := homeMastodon(t, "ben")
	e := start(t, opts{group: testGroup(3, 2), noRun: true, tune: localHomes})
	link, _ := e.srv.PledgeLink("ben@example.org")
	b := newBrowser(t, true)
	_, page := b.get(link)
	_, page = b.post(link+"/home", url.Values{"csrf": {csrfOf(t, page)}, "address": {"ben@" + strings.TrimPrefix(f.URL, "http://")}})
	connect(t, b, page, "ben@example.org")
	for _, m := range []string{"ada", "ben"} {
		e.st.Pledges().Put(ctx, store.Pledge{Group: "river-birders", Email: m + "@example.org", Confirmed: true})
	}
	if err := e.srv.Launch(ctx, false); err != nil {
		t.Fatal(err)
	}
	_, page = b.get(e.mailLink("ben@example.org", "Your invite"))
	if !strings.Contains(page, `id="home-use"`) {
		t.Fatalf("invite page without the connected account:\n%s", page)
	}
	resp, page := b.post(e.url+"/arrive/home", url.Values{"csrf": {csrfOf(t, page)}, "action": {"use"}})
	if resp.StatusCode != 200 || !strings.Contains(page, `id="result"`) || e.arr.complete["ben@example.org"] != 1 {
		t.Fatalf("use %d: %v\n%s", resp.StatusCode, e.arr.complete, page)
	}
	checkAccount(t, e.st, f, "ben@example.org", "ben", ids["ben"])
}

// TestConnectedNotInRoom: Chloe connects her own account on her pledge
// page and does not pledge; Ada and Ben pledge and arrive. Chloe is
// connected from elsewhere (her page says so, and the campaign counts her
// among the members with accounts elsewhere, not among the pledged), but
// she is not in the room: not in its progress on the arrived page, nor on
// /made-it, its follow CSV or group.json.
func TestConnectedNotInRoom(t *testing.T) {
	ctx := context.Background()
	f, _ := homeMastodon(t, "chloe")
	domain := strings.TrimPrefix(f.URL, "http://")
	st, err := store.Open(ctx, store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fake := newFakeArrivals(t, st)
	e := start(t, opts{st: st, arr: fake, group: testGroup(4, 2), noRun: true, tune: func(c *Config) {
		localHomes(c)
		c.Arrivals = remoteArrivals{fakeArrivals: fake} // keeps each arrived member's token, as the engine does
	}})
	g := e.srv.g
	link, _ := e.srv.PledgeLink("chloe@example.org")
	b := newBrowser(t, true)
	_, page := b.get(link)
	_, page = b.post(link+"/home", url.Values{"csrf": {csrfOf(t, page)}, "address": {"chloe@" + domain}})
	if code, page := connect(t, b, page, "chloe@example.org"); code != 200 || !strings.Contains(page, "@chloe@"+domain) {
		t.Fatalf("pledge page after connecting %d:\n%s", code, page)
	}
	for _, m := range []string{"ada", "ben"} {
		st.Pledges().Put(ctx, store.Pledge{Group: g.Name, Email: m + "@example.org", Confirmed: true, ShowName: true})
	}
	if err := e.srv.Launch(ctx, false); err != nil {
		t.Fatal(err)
	}
	e.redeem("ada@example.org", "ada")
	// the engine made the mesh of the two who arrived
	if err := st.Journal().Record(ctx, "arrive:"+g.Name+"@"+fake.oauthURL,
		[]string{"follow:ada@example.org>ben@example.org", "follow:ben@example.org>ada@example.org"}); err != nil {
		t.Fatal(err)
	}
	page = e.redeem("ben@example.org", "ben")
	if want := "All 2 follows between the 2 members who have arrived are made."; !strings.Contains(page, want) {
		t.Errorf("arrived page lacks %q:\n%s", want, page)
	}

	status, err := e.srv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if el, err := campaign.ReadElsewhere(ctx, st, g, e.srv.destination(), status); err != nil || el != (campaign.Elsewhere{Members: 1}) {
		t.Errorf("elsewhere %+v, %v; want Chloe connected from elsewhere, neither pledged nor going", el, err)
	}
	if _, page = b.get(link); !strings.Contains(page, "@chloe@"+domain) {
		t.Errorf("Chloe's pledge page no longer shows her account connected:\n%s", page)
	}
	b = newBrowser(t, false)
	code, page := b.get(e.url + "/made-it")
	if want := "2 of 4 members have arrived on"; code != 200 || !strings.Contains(page, want) || strings.Contains(page, `id="remote"`) || strings.Contains(page, "chloe") {
		t.Errorf("made-it %d: want %q and no one from another server:\n%s", code, want, page)
	}
	code, csvBody := b.get(e.url + "/made-it/follows.csv")
	if code != 200 || strings.Contains(csvBody, "chloe") || strings.Count(csvBody, "\n") != 3 {
		t.Errorf("follows.csv %d, want Ada and Ben only:\n%s", code, csvBody)
	}
	code, js := b.get(e.url + "/made-it/group.json")
	var sp starter
	if err := json.Unmarshal([]byte(js), &sp); code != 200 || err != nil || sp.Arrived != 2 || sp.Remote != 0 || len(sp.Accounts) != 2 {
		t.Errorf("group.json %d (%v), want 2 arrived, none remote, 2 listed:\n%s", code, err, js)
	}
}

// TestHomeBadInput: an address of the wrong shape, an account the
// server does not have, a server that is down, one that is no Mastodon
// server, and one on a private address (refused by default) each get a
// clear message, with what the member typed kept, and nothing saved.
func TestHomeBadInput(t *testing.T) {
	f, _ := homeMastodon(t, "chloe")
	domain := strings.TrimPrefix(f.URL, "http://")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	site := httptest.NewServer(http.NotFoundHandler())
	defer site.Close()
	siteHost := strings.TrimPrefix(site.URL, "http://")

	e := start(t, opts{group: testGroup(4, 2), noRun: true, tune: localHomes})
	guarded := start(t, opts{group: testGroup(4, 2), noRun: true, tune: func(c *Config) { c.Homes = HomesConfig{HTTP: true} }})
	for _, c := range []struct {
		env     *env
		address string
		status  int
		say     string
	}{
		{e, "chloe at " + domain, 422, "A fediverse address has two parts"},
		{e, "@nobody@" + domain, 422, domain + " has no account @nobody@" + domain},
		{e, "@chloe@" + down, 502, down + " does not answer just now"},
		{e, "@chloe@" + siteHost, 422, siteHost + " does not answer as a Mastodon-compatible server"},
		{guarded, "@chloe@" + domain, 422, domain + " is not on the public internet"},
	} {
		link, _ := c.env.srv.PledgeLink("chloe@example.org")
		b := newBrowser(t, true)
		_, page := b.get(link)
		resp, page := b.post(link+"/home", url.Values{"csrf": {csrfOf(t, page)}, "address": {c.address}})
		if resp.StatusCode != c.status || !strings.Contains(html.UnescapeString(page), c.say) ||
			!strings.Contains(page, `value="`+html.EscapeString(c.address)+`"`) || !strings.Contains(page, `id="home-error"`) {
			t.Errorf("%s: %d, want %d saying %q with the address kept:\n%s", c.address, resp.StatusCode, c.status, c.say, page)
		}
		if _, err := c.env.st.Accounts().Get(context.Background(), "river-birders", "chloe@example.org"); err == nil {
			t.Errorf("%s: an account was saved", c.address)
		}
	}

	// On the join page, the join is not saved either, and every field
	// comes back.
	b := newBrowser(t, true)
	g := testGroup(4, 2)
	g.Enrolment = groups.EnrolOpen
	j := start(t, opts{group: g, noRun: true, tune: localHomes})
	_, page := b.get(j.url + "/join")
	resp, page := b.post(j.url+"/join", url.Values{"csrf": {csrfOf(t, page)}, "name": {"Wren Reed"}, "email": {"wren@example.org"},
		"bluesky": {"wren.bsky.social"}, "fediverse": {"@nobody@" + domain}, "keep": {"1"}})
	if resp.StatusCode != 422 || !strings.Contains(html.UnescapeString(page), "has no account @nobody@"+domain) ||
		!strings.Contains(page, `value="Wren Reed"`) || !strings.Contains(page, `value="wren.bsky.social"`) || !strings.Contains(page, `id="keep" name="keep" value="1" checked`) {
		t.Fatalf("join with an unknown account: %d\n%s", resp.StatusCode, page)
	}
	if _, err := j.st.Joins().Get(context.Background(), g.Name, "wren@example.org"); err == nil {
		t.Fatal("the join was saved")
	}
	// Keeping an account without giving its address.
	resp, page = b.post(j.url+"/join", url.Values{"csrf": {csrfOf(t, page)}, "name": {"Wren Reed"}, "email": {"wren@example.org"}, "keep": {"1"}})
	if resp.StatusCode != 422 || !strings.Contains(page, "Give the address of the account you keep") {
		t.Fatalf("keep without an address: %d\n%s", resp.StatusCode, page)
	}
}

// TestHomeState: the OAuth state binds the connection to the member and
// the browser that started it: it is refused in another browser, when
// changed to name another member, after 30 minutes, and when the member
// did not allow Lifeboat.
func TestHomeState(t *testing.T) {
	f, _ := homeMastodon(t, "chloe")
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := start(t, opts{group: testGroup(4, 2), noRun: true, tune: func(c *Config) { localHomes(c); c.Now = clock }})
	link, _ := e.srv.PledgeLink("chloe@example.org")
	b := newBrowser(t, true)
	_, page := b.get(link)
	_, page = b.post(link+"/home", url.Values{"csrf": {csrfOf(t, page)}, "address": {"chloe@" + strings.TrimPrefix(f.URL, "http://")}})
	m := authorizeRE.FindStringSubmatch(page)
	back, err := mastodonfake.NewBrowser().Authorize(context.Background(), html.UnescapeString(m[1]), "chloe@example.org", "own password 42")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(back)
	state := u.Query().Get("state")

	// In another browser (someone who got hold of the link).
	if code, page := newBrowser(t, true).get(back); code != 400 || !strings.Contains(page, "did not start here") {
		t.Errorf("another browser: %d\n%s", code, page)
	}
	// The state changed to name Ben, in Chloe's browser.
	v, sig, _ := strings.Cut(state, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(v)
	forged := base64.RawURLEncoding.EncodeToString(bytes.Replace(raw, []byte(`"m":"`), []byte(`"m":"x`), 1)) + "." + sig
	q := u.Query()
	q.Set("state", forged)
	if code, _ := b.get(e.url + "/home/callback?" + q.Encode()); code != 400 {
		t.Errorf("a forged state: %d", code)
	}
	// The member said no.
	q = url.Values{"state": {state}, "error": {"access_denied"}}
	if code, page := b.get(e.url + "/home/callback?" + q.Encode()); code != 400 || !strings.Contains(page, "Lifeboat was not allowed") {
		t.Errorf("refused: %d\n%s", code, page)
	}
	// Too late.
	mu.Lock()
	now = now.Add(31 * time.Minute)
	mu.Unlock()
	if code, _ := b.get(back); code != 400 {
		t.Errorf("after 31 minutes: %d", code)
	}
	if _, err := e.st.Accounts().Get(context.Background(), "river-birders", "chloe@example.org"); err == nil {
		t.Fatal("an account was saved")
	}
	// In time, in her browser, it connects.
	mu.Lock()
	now = now.Add(-31 * time.Minute)
	mu.Unlock()
	if code, page := b.get(back); code != 200 || !strings.Contains(page, "Your account is connected") {
		t.Fatalf("in time: %d\n%s", code, page)
	}
}

// TestHomeHostileServer: what a member's server says goes to the log
// through the sanitiser, and never onto the page.
func TestHomeHostileServer(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jrd+json")
		w.Write([]byte(`{"links":[{"rel":"self","type":"application/activity+json","href":"http://` + r.Host + `/users/x"}]}`))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		w.Write([]byte(`{"error":"\u001b[2J\u001b]0;pwned\u0007<script>alert(1)</script>\u202e"}`))
	})
	hostile := httptest.NewServer(mux)
	defer hostile.Close()
	var logs bytes.Buffer
	var logMu sync.Mutex
	e := start(t, opts{group: testGroup(4, 2), noRun: true, tune: func(c *Config) {
		localHomes(c)
		c.Log = slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
	}})
	link, _ := e.srv.PledgeLink("chloe@example.org")
	b := newBrowser(t, true)
	_, page := b.get(link)
	resp, page := b.post(link+"/home", url.Values{"csrf": {csrfOf(t, page)}, "address": {"chloe@" + strings.TrimPrefix(hostile.URL, "http://")}})
	if resp.StatusCode != 422 || strings.Contains(page, "<script>alert") || strings.Contains(page, "pwned") {
		t.Fatalf("page %d:\n%s", resp.StatusCode, page)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), "pwned") || strings.ContainsAny(logs.String(), "\x1b\x07\u202e") {
		t.Fatalf("log:\n%q", logs.String())
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// failingAccounts is a store whose account rows cannot be written.
type failingAccounts struct{ store.Store }

func (f failingAccounts) Accounts() store.Accounts { return failingPut{f.Store.Accounts()} }

type failingPut struct{ store.Accounts }

func (failingPut) Put(context.Context, store.Account) error { return errors.New("disk full") }

// TestHomeNotKept: when the account row cannot be written, the member is
// told something went wrong, not that their account is connected.
func TestHomeNotKept(t *testing.T) {
	f, _ := homeMastodon(t, "chloe")
	st, err := store.Open(context.Background(), store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := start(t, opts{st: failingAccounts{st}, group: testGroup(4, 2), noRun: true, tune: localHomes})
	link, _ := e.srv.PledgeLink("chloe@example.org")
	b := newBrowser(t, true)
	_, page := b.get(link)
	_, page = b.post(link+"/home", url.Values{"csrf": {csrfOf(t, page)}, "address": {"chloe@" + strings.TrimPrefix(f.URL, "http://")}})
	if code, page := connect(t, b, page, "chloe@example.org"); code != http.StatusInternalServerError || strings.Contains(page, "is connected") {
		t.Fatalf("%d:\n%s", code, page)
	}
}
