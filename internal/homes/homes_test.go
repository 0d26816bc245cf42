package homes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/mastodonfake"
	"github.com/lifeboat-social/lifeboat/internal/netguard"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

var ctx = context.Background()

func TestParseAddress(t *testing.T) {
	for in, want := range map[string]string{
		"@ana@other.social":       "ana@other.social",
		"ana@Other.Social":        "ana@other.social",
		" acct:ana_b@a.b.example": "ana_b@a.b.example",
		"@ana@127.0.0.1:3000":     "ana@127.0.0.1:3000",
		"@Ana.B@x.example":        "Ana.B@x.example",
	} {
		a, err := ParseAddress(in)
		if err != nil || a.String() != want {
			t.Errorf("ParseAddress(%q) = %v, %v; want %s", in, a, err, want)
		}
	}
	for _, in := range []string{"", "ana", "@ana", "ana@", "@other.social", "ana@other", "a b@x.example", "ana@x.example/path",
		"ana@x.example?q", "ana@user@x.example", "ana@-x.example", "https://x.example/@ana", strings.Repeat("a", 400) + "@x.example",
		"ana@x.example\nb", "ana@[::1]:80"} {
		if _, err := ParseAddress(in); !errors.Is(err, ErrAddress) {
			t.Errorf("ParseAddress(%q): %v, want ErrAddress", in, err)
		}
	}
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(ctx, store.Config{Dir: filepath.Join(t.TempDir(), "state")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// local is Homes for servers on this machine, as tests and the demo run.
func local(st store.Store) *Homes {
	return New(Config{Apps: st.HomeApps(), Scheme: "http", Scopes: []string{"read", "write", "follow"},
		HTTP: netguard.Client(netguard.Options{AllowPrivate: true})})
}

func mastodon(t *testing.T) *mastodonfake.Server { return mastodonWith(t, mastodonfake.Config{}) }

// mastodonWith is a Mastodon with sign-ups closed, and an account for
// ana.
func mastodonWith(t *testing.T, cfg mastodonfake.Config) *mastodonfake.Server {
	t.Helper()
	cfg.Title, cfg.Mode = "Others", mastodonfake.None
	f := mastodonfake.Start(cfg)
	t.Cleanup(f.Close)
	if _, err := f.CreateAccount(mastodonfake.AccountOptions{Username: "ana", Email: "ana@example.org", Password: "correct horse 42",
		Confirmed: true, Approved: true}); err != nil {
		t.Fatal(err)
	}
	return f
}

func addr(t *testing.T, s string) Address {
	t.Helper()
	a, err := ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestConnectMastodon: an address on a Mastodon server with sign-ups
// closed, and on one locked down (limited federation mode: the API only
// for signed-in users), is found, Lifeboat's app is registered there
// once for every member, and the member's authorisation gives a token
// that acts for their account.
func TestConnectMastodon(t *testing.T) {
	for _, limited := range []bool{false, true} {
		t.Run(fmt.Sprint("limited=", limited), func(t *testing.T) {
			connectMastodon(t, mastodonWith(t, mastodonfake.Config{LimitedFederation: limited}))
		})
	}
}

func connectMastodon(t *testing.T, f *mastodonfake.Server) {
	st := openStore(t)
	h := local(st)
	domain := strings.TrimPrefix(f.URL, "http://")
	home, err := h.Discover(ctx, addr(t, "@ana@"+domain))
	if err != nil {
		t.Fatal(err)
	}
	if home.Server != f.URL || home.Address.User != "ana" {
		t.Fatalf("home %+v, want server %s", home, f.URL)
	}
	const cb = "http://lifeboat.test/home/callback"
	// Members of one server connecting at once share one app.
	urls := make([]string, 4)
	var wg sync.WaitGroup
	for i := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := local(st).AuthorizeURL(ctx, home.Server, cb, "state-1")
			if err != nil {
				t.Error(err)
			}
			urls[i] = u
		}()
	}
	wg.Wait()
	again, err := h.AuthorizeURL(ctx, home.Server, cb, "state-1")
	if err != nil {
		t.Fatal(err)
	}
	app, err := st.HomeApps().Get(ctx, home.Server, cb)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range append(urls, again) {
		p, _ := url.Parse(u)
		if p.Query().Get("client_id") != app.ClientID || p.Query().Get("scope") != "read write follow" || p.Query().Get("state") != "state-1" {
			t.Fatalf("authorize URL %s, the kept app is %s", u, app.ClientID)
		}
	}
	back, err := mastodonfake.NewBrowser().Authorize(ctx, again, "ana@example.org", "correct horse 42")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := url.Parse(back)
	if b.Query().Get("state") != "state-1" || !strings.HasPrefix(back, cb) {
		t.Fatalf("back to %s", back)
	}
	c, err := h.Connect(ctx, home.Server, cb, b.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	me, ok := f.Lookup("ana")
	if !ok || c.ID != me.ID || c.Username != "ana" {
		t.Fatalf("connected %+v, want ana's id %s", c, me.ID)
	}
	v, err := fedi.New(f.URL).WithToken(c.Token).VerifyCredentials(ctx)
	if err != nil || v.ID != me.ID {
		t.Fatalf("the token acts for %+v, %v", v, err)
	}
	// A code is good once.
	if _, err := h.Connect(ctx, home.Server, cb, b.Query().Get("code")); !errors.Is(err, ErrRefused) {
		t.Fatalf("a code used twice: %v, want ErrRefused", err)
	}
}

// TestSplitDomain: the address's domain only points to the server (its
// WebFinger redirects there); the server is the self link's host.
func TestSplitDomain(t *testing.T) {
	var f *mastodonfake.Server
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, f.URL+r.URL.RequestURI(), http.StatusMovedPermanently)
	}))
	defer front.Close()
	f = mastodonfake.Start(mastodonfake.Config{Domain: strings.TrimPrefix(front.URL, "http://")})
	defer f.Close()
	if _, err := f.CreateAccount(mastodonfake.AccountOptions{Username: "ana", Email: "ana@example.org", Confirmed: true, Approved: true}); err != nil {
		t.Fatal(err)
	}
	home, err := local(openStore(t)).Discover(ctx, addr(t, "ana@"+strings.TrimPrefix(front.URL, "http://")))
	if err != nil || home.Server != f.URL {
		t.Fatalf("home %+v, %v; want server %s", home, err, f.URL)
	}
}

// TestDiscoverErrors: each way an address can lead nowhere has its own
// error, and a server on a private address is refused without a
// request to it unless allowed.
func TestDiscoverErrors(t *testing.T) {
	f := mastodon(t)
	domain := strings.TrimPrefix(f.URL, "http://")
	st := openStore(t)
	if _, err := local(st).Discover(ctx, addr(t, "nobody@"+domain)); !errors.Is(err, ErrNoAccount) {
		t.Errorf("unknown account: %v, want ErrNoAccount", err)
	}

	hits := 0
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Header().Set("Content-Type", "text/html")
		http.NotFound(w, r)
	}))
	defer site.Close()
	if _, err := local(st).Discover(ctx, addr(t, "ana@"+strings.TrimPrefix(site.URL, "http://"))); !errors.Is(err, ErrNotMastodon) {
		t.Errorf("a web site: %v, want ErrNotMastodon", err)
	}
	// WebFinger, but no Mastodon API.
	wf := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/webfinger" {
			w.Header().Set("Content-Type", "application/jrd+json")
			w.Write([]byte(`{"subject":"acct:ana@x","links":[{"rel":"self","type":"application/activity+json","href":"http://` + r.Host + `/users/ana"}]}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer wf.Close()
	if _, err := local(st).Discover(ctx, addr(t, "ana@"+strings.TrimPrefix(wf.URL, "http://"))); !errors.Is(err, ErrNotMastodon) {
		t.Errorf("WebFinger without the API: %v, want ErrNotMastodon", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	if _, err := local(st).Discover(ctx, addr(t, "ana@"+down)); !errors.Is(err, ErrUnreachable) {
		t.Errorf("a server down: %v, want ErrUnreachable", err)
	}
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "oops", http.StatusBadGateway)
	}))
	defer failing.Close()
	if _, err := local(st).Discover(ctx, addr(t, "ana@"+strings.TrimPrefix(failing.URL, "http://"))); !errors.Is(err, ErrUnreachable) {
		t.Errorf("a failing server: %v, want ErrUnreachable", err)
	}

	before := hits
	guarded := New(Config{Apps: st.HomeApps(), Scheme: "http"})
	for _, d := range []string{domain, strings.TrimPrefix(site.URL, "http://"), "localhost:" + site.URL[strings.LastIndex(site.URL, ":")+1:]} {
		if _, err := guarded.Discover(ctx, addr(t, "ana@"+d)); !errors.Is(err, ErrForbidden) {
			t.Errorf("%s without AllowPrivate: %v, want ErrForbidden", d, err)
		}
	}
	if hits != before {
		t.Fatal("the guarded client reached a server on loopback")
	}
}
