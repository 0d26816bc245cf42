package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/webmember"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing"
)

// confirmForm is GoToSocial v0.17.3's email confirmation form.
const confirmForm = `form[action^="/confirm_email"]`

// shot saves the browser's page as docs' screenshot name when
// LIFEBOAT_SCREENSHOTS names a directory (make screenshots).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("LIFEBOAT_SCREENSHOTS")
	if dir == "" {
		return
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(720, 900)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// step runs chromedp actions and stops the test with the page's words.
func step(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%v at %s:\n%s", err, loc, body)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signInAndAllow signs in on GoToSocial's pages and allows Lifeboat, then
// waits for Lifeboat's arrival page.
func signInAndAllow(t *testing.T, ctx context.Context, email, password string) {
	step(t, ctx, chromedp.Click(chromedp.ID("authorize")),
		chromedp.WaitVisible(chromedp.CSS(signInForm+` input[name="password"]`)),
		chromedp.SendKeys(chromedp.CSS(signInForm+` input[name="username"]`), email),
		chromedp.SendKeys(chromedp.CSS(signInForm+` input[name="password"]`), password),
		chromedp.Submit(chromedp.CSS(signInForm+` input[name="password"]`)),
		chromedp.WaitVisible(chromedp.CSS(authorizeForm+` button[type="submit"]`)),
		chromedp.Click(chromedp.CSS(authorizeForm+` button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("result")))
}

// fillAccountForm fills in Lifeboat's account form on the invite page,
// keeping the username it offers (the group file's wish), which must be
// username.
func fillAccountForm(t *testing.T, ctx context.Context, username, password string) {
	step(t, ctx, chromedp.WaitVisible(chromedp.ID("password")))
	if got, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("username"))); err != nil || got != username {
		t.Fatalf("the username offered is %q (%v), want %q", got, err, username)
	}
	step(t, ctx, chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("password2"), password))
}

// oneAccountEach wants exactly one account per member on the server.
func oneAccountEach(t *testing.T, server *provision.Server, g *groups.Group) {
	t.Helper()
	got := accountsByEmail(t, server, g)
	for _, m := range g.Members {
		if len(got[m.Email]) != 1 {
			t.Errorf("%s has accounts %v on the server, want one", m.Email, got[m.Email])
		}
	}
}

// TestBrowserResumeExistingGoToSocial: in Chromium, a member goes from the
// invite link to a full room on someone else's GoToSocial in approval
// mode, switching browser profiles half-way: signs up in the first,
// confirms the server's mail and connects in the second. Ben, already
// there, was played over HTTP.
func TestBrowserResumeExistingGoToSocial(t *testing.T) {
	ctx := context.Background()
	f := gtstest.ForeignServer(t, 2)
	r, err := existing.ScoutURL(ctx, f.Server.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := newGroup("resume-existing", 2, groups.Destination{Type: groups.DestExisting, Server: f.Server.URL})
	l := launch(t, g, f.Server, existing.NewDoor(r))
	const pw = "birds of a feather 42"
	ada, ben := g.Members[0], g.Members[1]

	b := webmember.New()
	page, _ := b.Get(ctx, l.links[ben.Email])
	if page, err = b.CreateAccount(ctx, page, ben.Username, pw); err != nil || !page.Has(`id="authorize"`) {
		t.Fatalf("Ben signs up %v:\n%s", err, page.Body)
	}
	if err := b.ConfirmEmail(ctx, confirmLink(t, f.Mail, ben.Email)); err != nil {
		t.Fatal(err)
	}
	l.approve(t, ben.Username)
	if page, err = b.Connect(ctx, page, ben.Email, pw); err != nil || !page.Has(`id="result"`) {
		t.Fatalf("Ben connects %v:\n%s", err, page.Body)
	}

	phone := chrome(t)
	step(t, phone, chromedp.Navigate(l.links[ada.Email]), chromedp.WaitVisible(chromedp.ID("password")))
	shot(t, phone, "existing-invite")
	fillAccountForm(t, phone, ada.Username, pw)
	step(t, phone, chromedp.Submit(chromedp.ID("password")), chromedp.WaitVisible(chromedp.ID("authorize")))
	if s := text(t, phone, "main"); !strings.Contains(s, "Confirm your email") || !strings.Contains(s, "@"+ada.Username+"@") {
		t.Fatalf("after signing up: %s", s)
	}
	shot(t, phone, "existing-waiting")

	// The laptop: the mail's confirmation link, then the invite link.
	laptop := chrome(t)
	step(t, laptop, chromedp.Navigate(confirmLink(t, f.Mail, ada.Email)),
		chromedp.WaitVisible(chromedp.CSS(confirmForm+" button")),
		chromedp.Click(chromedp.CSS(confirmForm+" button")),
		chromedp.WaitNotPresent(chromedp.CSS(confirmForm)))
	l.approve(t, ada.Username)
	step(t, laptop, chromedp.Navigate(l.links[ada.Email]), chromedp.WaitVisible(chromedp.ID("authorize")))
	if s := text(t, laptop, "main"); !strings.Contains(s, "Confirm your email") || strings.Contains(s, "Password") {
		t.Fatalf("the link on the laptop: %s", s)
	}
	signInAndAllow(t, laptop, ada.Email, pw)
	want := `You follow 1 person from your group; 1 follow you; a list "River Birders" is on your account.`
	if got := text(t, laptop, "#result"); got != want {
		t.Fatalf("arrival: %q, want %q", got, want)
	}
	shot(t, laptop, "existing-arrived")
	// The phone's page updates itself to the arrival.
	step(t, phone, chromedp.WaitVisible(chromedp.ID("result")))
	oneAccountEach(t, f.Server, g)
}

// TestBrowserResumeLocal: the same on the local destination: the account
// is made in the first browser profile, and the member connects it in the
// second.
func TestBrowserResumeLocal(t *testing.T) {
	ctx := context.Background()
	_, server := gtstest.Server(t)
	g := newGroup("resume-local", 2, groups.Destination{Type: groups.DestLocal, Software: "gotosocial"})
	l := launch(t, g, server, nil)
	const pw = "birds of a feather 42"
	ada, ben := g.Members[0], g.Members[1]

	b := webmember.New()
	page, _ := b.Get(ctx, l.links[ben.Email])
	page, err := b.CreateAccount(ctx, page, ben.Username, pw)
	if err != nil || !page.Has(`id="authorize"`) {
		t.Fatalf("Ben's account %v:\n%s", err, page.Body)
	}
	if page, err = b.Connect(ctx, page, ben.Email, pw); err != nil || !page.Has(`id="result"`) {
		t.Fatalf("Ben connects %v:\n%s", err, page.Body)
	}

	phone := chrome(t)
	step(t, phone, chromedp.Navigate(l.links[ada.Email]))
	fillAccountForm(t, phone, ada.Username, pw)
	shot(t, phone, "local-invite")
	step(t, phone, chromedp.Submit(chromedp.ID("password")), chromedp.WaitVisible(chromedp.ID("authorize")))
	shot(t, phone, "local-account")

	laptop := chrome(t)
	step(t, laptop, chromedp.Navigate(l.links[ada.Email]), chromedp.WaitVisible(chromedp.ID("authorize")))
	if s := text(t, laptop, "main"); strings.Contains(s, "Password") {
		t.Fatalf("the link on the laptop asks for an account again: %s", s)
	}
	signInAndAllow(t, laptop, ada.Email, pw)
	want := `You follow 1 person from your group; 1 follow you; a list "River Birders" is on your account.`
	if got := text(t, laptop, "#result"); got != want {
		t.Fatalf("arrival: %q, want %q", got, want)
	}
	ctxw, cancel := context.WithTimeout(phone, 45*time.Second)
	defer cancel()
	step(t, ctxw, chromedp.WaitVisible(chromedp.ID("result")))
	oneAccountEach(t, server, g)
}
