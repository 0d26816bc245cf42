package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/escape/move"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/netguard"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/web"
)

// TestMoveInBrowser: a member with an account on home, followed by two
// people there, arrives in the room (room, another real GoToSocial that
// federates with home over HTTPS) from their invite in a real browser,
// and moves the old account in from the arrived page: gives its address,
// signs in on home's own page and allows Lifeboat there, types a wrong
// password on Lifeboat's move page (told so, nothing moves, and the
// password is nowhere: not in the page, the log, the journal or the
// store's files), then the right one. The page follows the move until
// both followers follow the new account. Read back from the servers:
// home shows the old account moved to the new one, room shows the new
// account naming the old one as its alias, both followers follow the
// new account (on home and on room) and no longer the old one, and the
// group's mesh holds.
//
// Chromium reaches the servers by name as other servers do, without the
// machine's /etc/hosts or trust store: each name is mapped to its
// loopback address, and only the two servers' own keys pass the
// certificate check (gtstest.FederationBrowser).
func TestMoveInBrowser(t *testing.T) {
	room, home := gtstest.Federation(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	hc := gtstest.FederationHTTPClient()
	client := func(u string) *fedi.Client { return fedi.New(u, fedi.WithHTTPClient(hc)) }

	// The servers outlive a test (and -count runs): names of their own.
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e7)
	g := &groups.Group{Version: 1, Name: "move-" + suffix, Title: "Movers " + suffix, ViableMass: 2,
		Lead: groups.Person{Name: "Ada", Email: "ada" + suffix + "@example.org"}, Destination: groups.Destination{Type: groups.DestLocal}}
	for _, n := range []string{"ada", "ben", "chloe"} {
		g.Members = append(g.Members, groups.Member{Name: strings.ToUpper(n[:1]) + n[1:], Email: n + suffix + "@example.org", Username: n + suffix})
	}
	mover := g.Members[0]
	newAddr := mover.Username + "@" + room.Domain
	state := t.TempDir()
	st, err := store.Open(ctx, store.Config{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := escape.SaveGroup(ctx, st, g); err != nil {
		t.Fatal(err)
	}

	// Ada's old account on home, followed by two people there.
	oldName := "old" + suffix
	oldAddr := oldName + "@" + home.Domain
	oldID, oldTok := home.Account(t, oldName)
	old := home.Client().WithToken(oldTok)
	type fan struct {
		c    *fedi.Client
		id   string
		addr string
	}
	var fans []fan
	for _, n := range []string{"fan" + suffix + "_a", "fan" + suffix + "_b"} {
		id, tok := home.Account(t, n)
		c := home.Client().WithToken(tok)
		if _, err := c.Follow(ctx, oldID); err != nil {
			t.Fatal(err)
		}
		fans = append(fans, fan{c, id, n + "@" + home.Domain})
	}
	// The old account is locked, as GoToSocial's are: it accepts them.
	gtstest.AcceptFollowers(ctx, t, old, oldID, len(fans))

	// Ben and Chloe are in the room already; Ada arrives from her invite.
	logins, err := arrival.OpenLogins(filepath.Join(t.TempDir(), "logins.csv"))
	if err != nil {
		t.Fatal(err)
	}
	eng := arrival.New(arrival.Config{Store: st, Group: g, Server: room.Server, Logins: logins, Client: client})
	for _, m := range g.Members[1:] {
		if err := eng.Join(ctx, m.Email, "", ""); err != nil {
			t.Fatal(err)
		}
		if err := eng.SignIn(ctx, m.Email); err != nil {
			t.Fatal(err)
		}
	}
	mv := move.New(move.Config{Store: st, Group: g.Name, Destination: room.Server.URL, Client: client,
		HTTP: netguard.Client(netguard.Options{AllowPrivate: true, Transport: hc.Transport.(*http.Transport)})})
	var logs syncBuffer
	_, mb, base := serveGroup(t, g, st, room.Server, func(c *web.Config) {
		c.Arrivals = web.EngineArrivals(eng, st, room.Server.URL)
		c.Moves = mv
		c.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the server's log:\n%s", logs.String())
		}
	})
	now := time.Now()
	for _, m := range g.Members {
		if err := st.Pledges().Put(ctx, store.Pledge{Group: g.Name, Email: m.Email, Confirmed: true,
			CreatedAt: now, UpdatedAt: now, ConfirmedAt: now}); err != nil {
			t.Fatal(err)
		}
	}

	rules, spki, err := gtstest.FederationBrowser()
	if err != nil {
		t.Fatal(err)
	}
	bctx := chrome(t, chromedp.Flag("host-resolver-rules", rules), chromedp.Flag("ignore-certificate-errors-spki-list", spki))
	do, text := browse(t, bctx)
	// signIn signs in on a GoToSocial's own page and allows Lifeboat,
	// then waits for what marks the page Lifeboat sends the member back to.
	signIn := func(email, password, back string) {
		t.Helper()
		do(chromedp.WaitVisible(chromedp.CSS(signInForm+` input[name="password"]`)),
			chromedp.SendKeys(chromedp.CSS(signInForm+` input[name="username"]`), email),
			chromedp.SendKeys(chromedp.CSS(signInForm+` input[name="password"]`), password),
			chromedp.Submit(chromedp.CSS(signInForm+` input[name="password"]`)),
			chromedp.WaitVisible(chromedp.CSS(authorizeForm+` button[type="submit"]`)),
			chromedp.Click(chromedp.CSS(authorizeForm+` button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(back)))
	}

	// Ada arrives: a password for her new account, then room's own
	// sign-in and authorisation.
	do(chromedp.Navigate(waitLink(t, mb, mover.Email, "Your invite")),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), "birds of a feather"),
		chromedp.SendKeys(chromedp.ID("password2"), "birds of a feather"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("authorize")),
		chromedp.Click(chromedp.ID("authorize")))
	signIn(mover.Email, "birds of a feather", "#result")
	if s := text("#result"); !strings.HasPrefix(s, "You follow 2 people from your group; 2 follow you") {
		t.Fatalf("arrived: %q", s)
	}
	newAcc, err := st.Accounts().Get(ctx, g.Name, mover.Email)
	if err != nil {
		t.Fatal(err)
	}

	// The arrived page offers the move; she gives her old address.
	do(chromedp.Click(chromedp.CSS(`#move-offer a`)),
		chromedp.WaitVisible(chromedp.ID("address")),
		chromedp.SendKeys(chromedp.ID("address"), "@"+oldAddr),
		chromedp.Submit(chromedp.ID("address")),
		chromedp.WaitVisible(chromedp.ID("authorize-old")))
	aliased := time.Now()
	if from, to := text("#from"), text("#to"); from != oldAddr || to != newAddr {
		t.Fatalf("the move page moves %q to %q, want %s to %s", from, to, oldAddr, newAddr)
	}
	if s := text("#aliased"); !strings.Contains(s, "names your old one as its alias") {
		t.Fatalf("the move page on the alias: %q", s)
	}
	// Home's own sign-in and authorisation, as the old account.
	do(chromedp.Click(chromedp.ID("authorize-old")))
	signIn(oldName+"@example.org", home.Password(oldName), `#password`)

	// A wrong password: told so, nothing moves, and it is kept nowhere.
	const wrong = "wrong-Horse-battery-7319"
	do(chromedp.SendKeys(chromedp.ID("password"), wrong),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("form-error")))
	if s := text("#form-error"); s != "Your old server did not accept that password." {
		t.Fatalf("after a wrong password: %q", s)
	}
	page, err := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page, wrong) {
		t.Errorf("the error page holds the password:\n%s", page)
	}
	if !strings.Contains(page, `name="password"`) || strings.Contains(page, `http-equiv="refresh"`) {
		t.Errorf("after a wrong password the page does not ask again, or reloads over the form:\n%s", page)
	}
	if m, err := old.AccountMoving(ctx, oldID); err != nil || m.Moved != nil {
		t.Fatalf("the old account after a wrong password: %+v, %v", m.Moved, err)
	}
	if p, err := mv.Plan(ctx, mover.Email); err != nil || p.Requested || p.Moved {
		t.Fatalf("the move after a wrong password: %+v, %v", p, err)
	}
	keptNowhere(ctx, t, wrong, st, state, &logs, "move:"+g.Name, "web:"+g.Name)

	// Quicker than home sees the alias (some seconds), the member would
	// be refused "wait a few minutes": Lifeboat tries again instead.
	t.Logf("the right password %.1fs after the alias", time.Since(aliased).Seconds())

	// The right one: home moves the account, and the page follows the
	// followers coming over, accepting their requests, as it reloads.
	do(chromedp.SendKeys(chromedp.ID("password"), home.Password(oldName)),
		chromedp.Submit(chromedp.ID("password")),
		// Under way, or already made by the time the page shows.
		chromedp.WaitVisible(chromedp.CSS("#requested, #moved")))
	want := fmt.Sprintf("%d of the %d people who followed it follow you here now.", len(fans), len(fans))
	gtstest.WaitFor(ctx, t, "the move page to show every follower come over", func() bool {
		do(chromedp.Navigate(base+"/move"), chromedp.WaitVisible(chromedp.CSS("main h1")))
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(s, "could not reach") || strings.Contains(s, "refused") {
			t.Fatalf("the move page: %s", s)
		}
		return strings.Contains(s, want)
	})
	keptNowhere(ctx, t, home.Password(oldName), st, state, &logs, "move:"+g.Name, "web:"+g.Name)

	// Read back from the servers. Home: the old account moved to the new.
	m, err := old.AccountMoving(ctx, oldID)
	if err != nil || m.Moved == nil || m.Moved.Acct != newAddr {
		t.Fatalf("home shows the old account moved to %+v, %v; want %s", m.Moved, err, newAddr)
	}
	// Room: the new account names the old one as its alias.
	newC := room.Client().WithToken(newAcc.Token)
	me, err := newC.AccountMoving(ctx, newAcc.ID)
	if err != nil {
		t.Fatal(err)
	}
	oldURI := home.Server.URL + "/users/" + oldName
	if !slices.Contains(me.Source.AlsoKnownAs, oldURI) {
		t.Fatalf("room shows the new account's aliases %v, want %s", me.Source.AlsoKnownAs, oldURI)
	}
	acc, err := st.Accounts().Get(ctx, g.Name, mover.Email)
	if err != nil || acc.MovedFrom != oldAddr || acc.ID != newAcc.ID {
		t.Fatalf("Ada's account: %+v, %v", acc, err)
	}
	// Both followers follow the new account, on room and on home, and no
	// longer the old one (federation is asynchronous: a bounded wait).
	followers, err := newC.Followers(ctx, newAcc.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fans {
		if !slices.ContainsFunc(followers, func(a fedi.Account) bool { return a.Acct == f.addr }) {
			t.Errorf("room lists the new account's followers %v without %s", accts(followers), f.addr)
		}
		gtstest.WaitFor(ctx, t, f.addr+" to follow the new account on home", func() bool {
			following, err := f.c.Following(ctx, f.id)
			if err != nil {
				t.Fatal(err)
			}
			return slices.ContainsFunc(following, func(a fedi.Account) bool { return a.Acct == newAddr }) &&
				!slices.ContainsFunc(following, func(a fedi.Account) bool { return a.Acct == oldName })
		})
	}
	// The group's mesh holds: every member follows and is followed by the
	// two others.
	for _, m := range g.Members {
		c, err := eng.MemberCounts(ctx, m.Email)
		if err != nil || c.Following != 2 || c.Followers != 2 {
			t.Errorf("%s in the mesh: %+v, %v", m.Username, c, err)
		}
	}
}

// keptNowhere fails the test if secret is in the log, in the results or
// errors of the journal runs (as the store reads them back), or in any
// file of the store's directory.
func keptNowhere(ctx context.Context, t *testing.T, secret string, st store.Store, dir string, log *syncBuffer, runs ...string) {
	t.Helper()
	if strings.Contains(log.String(), secret) {
		t.Errorf("the log holds the password")
	}
	for _, run := range runs {
		steps, err := st.Journal().List(ctx, run, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(steps) == 0 {
			t.Errorf("no journal run %s: the check looks nowhere", run)
		}
		for _, s := range steps {
			if bytes.Contains(s.Result, []byte(secret)) || strings.Contains(s.Error, secret) {
				t.Errorf("the journal holds the password in %s %s", run, s.Key)
			}
		}
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("the store's file %s holds the password", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func accts(as []fedi.Account) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Acct
	}
	return out
}

// syncBuffer is a log's output that the server writes while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
