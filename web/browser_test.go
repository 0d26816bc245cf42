package web

import (
	"context"
	"os"
	"path/filepath"
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

// drive gives a test's two ways to use the browser: do runs steps, text
// reads the text of the element sel selects; both fail the test on error.
func drive(t *testing.T, ctx context.Context) (do func(...chromedp.Action[chromedp.Void]), text func(sel string) string) {
	do = func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	text = func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return do, text
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
	do, text := drive(t, ctx)

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

// TestBrowserUploadFollows: a member uploads her export through the
// pledge page's form in a real browser, then pledges on the people she
// follows, and the page says how many of them are going.
func TestBrowserUploadFollows(t *testing.T) {
	g := testGroup(4, 3)
	for i, h := range []string{"@ada@old.example", "@ben@old.example", "@chloe@old.example", "@dev@old.example"} {
		g.Members[i].Handle = h
	}
	e := start(t, opts{group: g})
	ctx := newChrome(t)
	export := filepath.Join(t.TempDir(), "following_accounts.csv")
	if err := os.WriteFile(export, mastodonCSV("ben@old.example", "dev@old.example", "stranger@elsewhere.example"), 0o600); err != nil {
		t.Fatal(err)
	}
	link, err := e.srv.PledgeLink("chloe@example.org")
	if err != nil {
		t.Fatal(err)
	}
	do, text := drive(t, ctx)
	do(chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("export")),
		chromedp.SetUploadFiles(chromedp.ID("export"), []string{export}),
		chromedp.Submit(chromedp.ID("export")),
		chromedp.WaitVisible(chromedp.ID("follows-mode")))
	if s := text(".notice"); !strings.Contains(s, "your follows are in") {
		t.Fatalf("after upload: %q", s)
	}
	if s := text("main"); !strings.Contains(s, "you follow 2 members of the group") || !strings.Contains(s, "0 of the 3 people you follow are going") {
		t.Fatalf("after upload: %s", s)
	}
	do(chromedp.Click(chromedp.ID("follows-mode")),
		chromedp.SetValue(chromedp.ID("follow-threshold"), "2"),
		chromedp.Click(chromedp.CSS(`button[value="pledge"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	// The upload's notice was visible already: wait for the pledge itself.
	p, err := e.st.Pledges().Get(context.Background(), g.Name, "chloe@example.org")
	for deadline := time.Now().Add(10 * time.Second); err != nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		p, err = e.st.Pledges().Get(context.Background(), g.Name, "chloe@example.org")
	}
	if err != nil || p.FollowThreshold != 2 || p.Threshold != 0 {
		t.Fatalf("pledge %+v, %v", p, err)
	}
	e.pledge("ben@example.org", 0, false, true)
	e.pledge("dev@example.org", 0, false, true)
	// Chloe confirms in the browser: her condition holds, 3 go, launch.
	confirm := e.mailLink("chloe@example.org", "Confirm your pledge")
	do(chromedp.Navigate(confirm),
		chromedp.WaitVisible(chromedp.CSS("main button")),
		chromedp.Click(chromedp.CSS("main button")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	e.mailLink("chloe@example.org", "Your invite")
	do(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("follows")))
	if s := text("main"); !strings.Contains(s, "2 of the 3 people you follow are going") {
		t.Fatalf("after launch: %s", s)
	}
	if shots := os.Getenv("LIFEBOAT_SCREENSHOTS"); shots != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err == nil {
			err = os.WriteFile(filepath.Join(shots, "pledge-follows.png"), png, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
