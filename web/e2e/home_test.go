package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/pgtest"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/web"
)

// TestHomeOnGoToSocial: members who already have an account on a real
// GoToSocial connect it instead of taking a new one, in a real browser,
// from each page that offers it: Dev from his pledge page, Eve (a
// stranger) from the join page, and Ben and Chloe from their invites
// after the launch, where the arrival engine then seeds the mesh between
// them. Each time the member gives their address, Lifeboat finds the
// server by WebFinger, the member signs in on GoToSocial's own page and
// allows Lifeboat, and their account row holds the server, the id, the
// address and a token that acts for them. Lifeboat's app is registered
// on the server once. On SQLite and PostgreSQL.
func TestHomeOnGoToSocial(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) { homeOnGoToSocial(t, dialect) })
	}
}

func homeOnGoToSocial(t *testing.T, dialect string) {
	ctx := context.Background()
	_, server := gtstest.Server(t)
	domain := strings.TrimPrefix(server.URL, "http://")
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e7)
	g := &groups.Group{Version: 1, Name: "home-" + suffix, Title: "Marsh Watchers", ViableMass: 2, Enrolment: groups.EnrolOpen,
		Lead:        groups.Person{Name: "Ada Heron", Email: "ada" + suffix + "@example.org"},
		Destination: groups.Destination{Type: groups.DestLocal, Software: "gotosocial"}}
	ids := map[string]string{}
	for _, n := range []string{"ada", "ben", "chloe", "dev", "eve"} {
		email, user := n+suffix+"@example.org", n+suffix
		if n != "eve" {
			g.Members = append(g.Members, groups.Member{Name: strings.ToUpper(n[:1]) + n[1:] + " Bird", Email: email, Username: user})
		}
		if n == "ada" {
			continue
		}
		// Their own accounts, made long before the group.
		id, err := server.Accounts.CreateAccount(ctx, user, email, "birds of a feather")
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = id
	}
	cfg := store.Config{Dir: t.TempDir()}
	if dialect == "postgres" {
		t.Cleanup(pgtest.Stop)
		cfg.URL = pgtest.URL(t)
	}
	st, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// GoToSocial runs on this machine, over plain http.
	srv, mb, base := serveGroup(t, g, st, server, func(c *web.Config) { c.Homes = web.HomesConfig{AllowPrivate: true, HTTP: true} })

	bctx := chrome(t)
	do, text := browse(t, bctx)
	// authorise goes from Lifeboat's "connect" page to GoToSocial, signs
	// in there as email, allows Lifeboat, and waits for what marks the
	// page Lifeboat sends the member back to.
	authorise := func(email, back string) {
		t.Helper()
		if s := text("main"); !strings.Contains(s, "Your account is on "+domain) {
			t.Fatalf("connect page: %s", s)
		}
		do(chromedp.Click(chromedp.ID("authorize")),
			chromedp.WaitVisible(chromedp.CSS(signInForm+` input[name="password"]`)),
			chromedp.SendKeys(chromedp.CSS(signInForm+` input[name="username"]`), email),
			chromedp.SendKeys(chromedp.CSS(signInForm+` input[name="password"]`), "birds of a feather"),
			chromedp.Submit(chromedp.CSS(signInForm+` input[name="password"]`)),
			chromedp.WaitVisible(chromedp.CSS(authorizeForm+` button[type="submit"]`)),
			chromedp.Click(chromedp.CSS(authorizeForm+` button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(back)))
		// The next member: a fresh session on GoToSocial.
		if _, err := chromedp.Call(bctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
	}
	// account checks n's row: their server, id, address, and a token
	// that acts for them there.
	account := func(n string) store.Account {
		t.Helper()
		a, err := st.Accounts().Get(ctx, g.Name, n+suffix+"@example.org")
		if err != nil {
			t.Fatalf("%s's account: %v", n, err)
		}
		if a.Server != server.URL || a.ID != ids[n] || a.Username != n+suffix || a.Acct != n+suffix+"@"+domain {
			t.Fatalf("%s's account %+v; want server %s, id %s", n, a, server.URL, ids[n])
		}
		me, err := fedi.New(a.Server).WithToken(a.Token).VerifyCredentials(ctx)
		if err != nil || me.ID != ids[n] {
			t.Fatalf("%s's token acts for %+v, %v", n, me, err)
		}
		return a
	}

	// Dev, on his pledge page.
	link, err := srv.PledgeLink("dev" + suffix + "@example.org")
	if err != nil {
		t.Fatal(err)
	}
	do(chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("address")),
		chromedp.SendKeys(chromedp.ID("address"), "@dev"+suffix+"@"+domain),
		chromedp.Click(chromedp.ID("home-submit")),
		chromedp.WaitVisible(chromedp.ID("authorize")))
	authorise("dev"+suffix+"@example.org", "#home-connected")
	if s := text(".notice"); !strings.Contains(s, "Your account is connected") {
		t.Fatalf("pledge page after connecting: %q", s)
	}
	if s := text("#home-connected"); !strings.Contains(s, "@dev"+suffix+"@"+domain) {
		t.Fatalf("pledge page shows %q", s)
	}
	account("dev")

	// Eve, a stranger, on the join page.
	do(chromedp.Navigate(base+"/join"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "Eve Bird"),
		chromedp.SendKeys(chromedp.ID("email"), "eve"+suffix+"@example.org"),
		chromedp.SendKeys(chromedp.ID("fediverse"), "@eve"+suffix+"@"+domain),
		chromedp.Click(chromedp.ID("keep")),
		chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("authorize")))
	authorise("eve"+suffix+"@example.org", "#home-done")
	if s := text("main"); !strings.Contains(s, "We sent you an email") {
		t.Fatalf("join page after connecting: %s", s)
	}
	// Her account joins the room once she is in: here, when she has
	// confirmed her email.
	if _, err := st.Accounts().Get(ctx, g.Name, "eve"+suffix+"@example.org"); err == nil {
		t.Fatal("the account of someone not let in yet is in the room")
	}
	do(chromedp.Navigate(waitLink(t, mb, "eve"+suffix+"@example.org", "Confirm your email")),
		chromedp.WaitVisible(chromedp.CSS("main button")),
		chromedp.Click(chromedp.CSS("main button")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err := st.Accounts().Get(ctx, g.Name, "eve"+suffix+"@example.org"); err == nil {
			break
		}
	}
	account("eve")
	if j, err := st.Joins().Get(ctx, g.Name, "eve"+suffix+"@example.org"); err != nil || j.Fediverse != "@eve"+suffix+"@"+domain {
		t.Fatalf("Eve's join %+v, %v", j, err)
	}

	// The launch: Ben and Chloe pledged; their invites come.
	now := time.Now()
	for _, n := range []string{"ben", "chloe"} {
		if err := st.Pledges().Put(ctx, store.Pledge{Group: g.Name, Email: n + suffix + "@example.org", Confirmed: true,
			CreatedAt: now, UpdatedAt: now, ConfirmedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"ben", "chloe"} {
		do(chromedp.Navigate(waitLink(t, mb, n+suffix+"@example.org", "Your invite")),
			chromedp.WaitVisible(chromedp.ID("address")),
			chromedp.SendKeys(chromedp.ID("address"), n+suffix+"@"+domain),
			chromedp.Click(chromedp.ID("home-submit")),
			chromedp.WaitVisible(chromedp.ID("authorize")))
		authorise(n+suffix+"@example.org", "#result")
		account(n)
	}
	// Only who arrived is in the room: Ben for Chloe. Dev (connected on
	// his pledge page) and Eve (on the join page) have not arrived: their
	// accounts stay connected, waiting for them, and nobody follows them
	// nor they anyone.
	want := `You follow 1 person from your group; 1 follow you; a list "Marsh Watchers" is on your account.`
	if s := text("#result"); s != want {
		t.Fatalf("Chloe's arrival: %q, want %q", s, want)
	}
	for _, n := range []string{"dev", "eve"} {
		a := account(n)
		c := fedi.New(server.URL).WithToken(a.Token)
		for _, other := range []string{"ben", "chloe"} {
			rel, err := c.Relationship(ctx, ids[other])
			if err != nil || !a.Waiting || rel.Following || rel.FollowedBy || rel.Requested {
				t.Fatalf("%s, not arrived (waiting %v), and %s: %+v, %v; want no follow either way", n, a.Waiting, other, rel, err)
			}
		}
	}
	// Ben and Chloe follow each other on the server.
	ben := fedi.New(server.URL).WithToken(account("ben").Token)
	rel, err := ben.Relationship(ctx, ids["chloe"])
	if err != nil || !rel.Following || !rel.FollowedBy {
		t.Fatalf("Ben and Chloe: %+v, %v", rel, err)
	}
	// One app on the server for all four.
	apps, err := st.HomeApps().Get(ctx, server.URL, base+"/home/callback")
	if err != nil || apps.ClientID == "" {
		t.Fatalf("the app on GoToSocial: %+v, %v", apps, err)
	}
}
