package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lifeboat-social/lifeboat/internal/tools"
)

// newChrome starts a headless Debian Chromium (installed if missing) with
// a fresh profile.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	bin, err := tools.New().Chromium(ctx)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// browse runs the browser through steps; on failure it stops the test
// with the page's words.
func browse(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%v:\n%s", err, body)
	}
}

// pageText is the text of the first element sel matches.
func pageText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBrowserPledgeConfirmRedeem: a member pledges and confirms in a real
// browser, the group launches when a second member confirms, and the
// member redeems the invite from the mail: chooses a password, authorises
// on the destination (here a stand-in OAuth endpoint on another origin,
// so the cross-site round trip and the cookies are real) and lands on the
// final page.
func TestBrowserPledgeConfirmRedeem(t *testing.T) {
	e := start(t, opts{group: testGroup(4, 2)})
	ctx := newChrome(t)
	if _, err := e.srv.OpenPledges(context.Background()); err != nil {
		t.Fatal(err)
	}
	pledgeLink := e.mailLink("chloe@example.org", "will you move")
	text := func(sel string) string { t.Helper(); return pageText(t, ctx, sel) }
	do := func(steps ...chromedp.Action[chromedp.Void]) { t.Helper(); browse(t, ctx, steps...) }

	do(chromedp.Navigate(e.url + "/"))
	if s := text("main"); !strings.Contains(s, "0 of 2 needed would go now") {
		t.Fatalf("landing: %s", s)
	}
	do(chromedp.Navigate(pledgeLink),
		chromedp.WaitVisible(chromedp.ID("mode-min")),
		chromedp.Click(chromedp.ID("mode-min")),
		chromedp.SetValue(chromedp.ID("threshold"), "1"),
		chromedp.Click(chromedp.ID("show")),
		chromedp.Click(chromedp.CSS(`button[value="pledge"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if s := text(".notice"); !strings.Contains(s, "We sent you an email") {
		t.Fatalf("after pledge: %q", s)
	}
	confirm := e.mailLink("chloe@example.org", "Confirm your pledge")
	do(chromedp.Navigate(confirm),
		chromedp.WaitVisible(chromedp.CSS("main button")),
		chromedp.Click(chromedp.CSS("main button")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if s := text(".notice"); !strings.Contains(s, "Your pledge counts now. 0 would go now; 1 more pledge would bring 1 more") {
		t.Fatalf("after confirm: %q", s)
	}
	// Dev pledges unconditionally: Chloe's condition holds, 2 go, launch.
	e.pledge("dev@example.org", 0, false, true)
	invite := e.mailLink("chloe@example.org", "Your invite")

	do(chromedp.Navigate(invite), chromedp.WaitVisible(chromedp.ID("password")))
	username, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("username")))
	if err != nil || username != "chloe" {
		t.Fatalf("username prefilled %q, %v", username, err)
	}
	do(chromedp.SendKeys(chromedp.ID("password"), "birds of a feather"),
		chromedp.SendKeys(chromedp.ID("password2"), "birds of a feather"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("authorize")),
		chromedp.Click(chromedp.ID("authorize")),
		chromedp.WaitVisible(chromedp.ID("result")))
	final := text("#result")
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	want := `You follow 3 people from your group; 3 follow you; a list "River Birders" is on your account.`
	if final != want || !strings.HasSuffix(loc, "/arrive") {
		t.Fatalf("final page at %s: %q", loc, final)
	}
	// Reload: the page stays, nothing is done again.
	do(chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("result")))
	if e.arr.created["chloe@example.org"] != 1 || e.arr.complete["chloe@example.org"] != 1 {
		t.Fatalf("engine calls %v %v", e.arr.created, e.arr.complete)
	}
	// The made-it page lists Chloe, who agreed.
	do(chromedp.Navigate(e.url + "/made-it"))
	if s := text("main"); !strings.Contains(s, "Chloe — @chloe@") {
		t.Fatalf("made-it: %s", s)
	}
}
