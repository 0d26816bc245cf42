// Package e2e runs the member's whole path in a real browser against the
// real local GoToSocial: pledge, confirm, launch, invite, account, OAuth
// sign-in and authorisation on GoToSocial, follow seeding, final page.
package e2e

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/mailer"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/internal/tools"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/web"
)

func TestMain(m *testing.M) { gtstest.Main(m) }

// GoToSocial's own forms, as its v0.17.3 templates write them.
const (
	signInForm    = `form[action="/auth/sign_in"]`
	authorizeForm = `form[action="/oauth/authorize"]`
)

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+`)

func waitLink(t *testing.T, mb *mailbox.Server, rcpt, subj string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := mb.Wait(ctx, func(m mailbox.Message) bool {
		return len(m.To) == 1 && strings.EqualFold(m.To[0], rcpt) && strings.Contains(m.Subject, subj)
	})
	if err != nil {
		t.Fatalf("mail %q to %s: %v", subj, rcpt, err)
	}
	return linkRE.FindString(m.Text)
}

func TestMemberArrivesOnGoToSocial(t *testing.T) {
	ctx := context.Background()
	_, server := gtstest.Server(t)
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e6)
	g := &groups.Group{Version: 1, Name: "web-e2e-" + suffix, Title: "River Birders", ViableMass: 3,
		Lead:        groups.Person{Name: "Ada Heron", Email: "ada" + suffix + "@example.org"},
		Destination: groups.Destination{Type: groups.DestLocal, Software: "gotosocial"}}
	for _, n := range []string{"ada", "ben", "chloe"} {
		g.Members = append(g.Members, groups.Member{Name: strings.ToUpper(n[:1]) + n[1:] + " Bird",
			Email: n + suffix + "@example.org", Username: n + suffix})
	}
	st, err := store.Open(ctx, store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, mb, _ := serveGroup(t, g, st, server, nil)
	if _, err := srv.OpenPledges(ctx); err != nil {
		t.Fatal(err)
	}

	bctx := chrome(t)
	began := time.Now()
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		defer func() { t.Logf("%5.1fs", time.Since(began).Seconds()) }()
		if err := chromedp.Do(bctx, steps...); err != nil {
			loc, _ := chromedp.Run(bctx, chromedp.Location())
			body, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%v at %s:\n%s", err, loc, body)
		}
	}
	// Each member pledges and confirms in the browser (one profile, one
	// member after another, as on a shared family computer).
	for _, m := range g.Members {
		do(chromedp.Navigate(waitLink(t, mb, m.Email, "will you move")),
			chromedp.WaitVisible(chromedp.ID("mode-any")),
			chromedp.Click(chromedp.ID("mode-any")),
			chromedp.Click(chromedp.ID("show")),
			chromedp.Click(chromedp.CSS(`button[value="pledge"]`)),
			chromedp.WaitVisible(chromedp.CSS(".notice")))
		if s, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main"))); !strings.Contains(s, "We sent you an email") {
			t.Fatalf("after pledging: %s", s)
		}
		do(chromedp.Navigate(waitLink(t, mb, m.Email, "Confirm your pledge")),
			chromedp.Click(chromedp.CSS("main button")),
			chromedp.WaitVisible(chromedp.CSS(".notice")))
	}
	// Viable: the server launches by itself and mails the invites.
	var final string
	for i, m := range g.Members {
		do(chromedp.Navigate(waitLink(t, mb, m.Email, "Your invite")),
			chromedp.WaitVisible(chromedp.ID("password")),
			chromedp.SendKeys(chromedp.ID("password"), "birds of a feather"),
			chromedp.SendKeys(chromedp.ID("password2"), "birds of a feather"),
			chromedp.Submit(chromedp.ID("password")),
			chromedp.WaitVisible(chromedp.ID("authorize")))
		do(chromedp.Click(chromedp.ID("authorize")),
			// GoToSocial's sign-in, then its authorise page. Each selector
			// names its form: the sign-in page has a submit button too, and
			// waiting for "any form button" could catch it mid-navigation.
			chromedp.WaitVisible(chromedp.CSS(signInForm+` input[name="password"]`)),
			chromedp.SendKeys(chromedp.CSS(signInForm+` input[name="username"]`), m.Email),
			chromedp.SendKeys(chromedp.CSS(signInForm+` input[name="password"]`), "birds of a feather"),
			chromedp.Submit(chromedp.CSS(signInForm+` input[name="password"]`)),
			chromedp.WaitVisible(chromedp.CSS(authorizeForm+` button[type="submit"]`)),
			chromedp.Click(chromedp.CSS(authorizeForm+` button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.ID("result")))
		final, _ = chromedp.Run(bctx, chromedp.Text(chromedp.ID("result")))
		t.Logf("%s: %s", m.Name, final)
		if i == 0 && !strings.Contains(final, "You follow 0 people") {
			t.Errorf("first arrival: %q", final)
		}
		// Next member: a fresh session on GoToSocial.
		if _, err := chromedp.Call(bctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
	}
	want := `You follow 2 people from your group; 2 follow you; a list "River Birders" is on your account.`
	if final != want {
		t.Fatalf("last arrival: %q, want %q", final, want)
	}
}

// chrome starts a headless Chromium with a fresh profile, and extra
// options (flags) on top, stopped when the test ends.
func chrome(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	t.Cleanup(cancel)
	bin, err := tools.New().Chromium(ctx)
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir())}, extra...)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatal(err)
	}
	return bctx
}

// browse gives a test's two ways to use the browser at bctx: do runs
// steps, each bounded so that a page that never comes is reported with
// where the browser stands and what it shows; text reads the text of the
// element sel selects. Both fail the test on error.
func browse(t *testing.T, bctx context.Context) (do func(...chromedp.Action[chromedp.Void]), text func(sel string) string) {
	do = func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
		defer cancel()
		if err := chromedp.Do(ctx, steps...); err != nil {
			loc, _ := chromedp.Run(bctx, chromedp.Location())
			body, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%v at %s:\n%s", err, loc, body)
		}
	}
	text = func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return do, text
}

// serveGroup runs the group's web server on st, with the arrival engine
// for server and a loopback mailbox, until the test ends; tune adjusts
// its configuration. It returns the server, the mailbox and its URL.
func serveGroup(t *testing.T, g *groups.Group, st store.Store, server *provision.Server, tune func(*web.Config)) (*web.Server, *mailbox.Server, string) {
	t.Helper()
	mb, err := mailbox.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	sender, _ := mailer.New(mailer.Config{Addr: mb.Addr, Security: mailer.None, From: "lifeboat@example.org"})
	eng := arrival.New(arrival.Config{Store: st, Group: g, Server: server})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	cfg := web.Config{Group: g, Store: st, Mail: sender, BaseURL: "http://" + ln.Addr().String(),
		Arrivals: web.EngineArrivals(eng, st, server.URL), PledgeRate: -1, RedeemRate: -1, PageRate: -1, TickEvery: 300 * time.Millisecond}
	if tune != nil {
		tune(&cfg)
	}
	srv, err := web.New(ctx, cfg)
	if err != nil {
		stop()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { web.Serve(ctx, ln, srv.Handler()); close(done) }()
	go srv.Run(ctx)
	t.Cleanup(func() { stop(); <-done })
	return srv, mb, cfg.BaseURL
}
