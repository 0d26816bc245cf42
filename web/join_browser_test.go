package web

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/pgtest"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

var (
	lifeboatOnce sync.Once
	lifeboatBin  string
	lifeboatErr  error
)

// lifeboat runs the lifeboat binary (built once per test run) with
// args, and returns its stdout; a non-zero exit fails the test.
func lifeboat(t *testing.T, args ...string) string {
	t.Helper()
	lifeboatOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lifeboat-bin-")
		if err != nil {
			lifeboatErr = err
			return
		}
		lifeboatBin = filepath.Join(dir, "lifeboat")
		out, err := exec.Command("go", "build", "-o", lifeboatBin, "../cmd/lifeboat").CombinedOutput()
		if err != nil {
			lifeboatErr = err
			t.Logf("%s", out)
		}
	})
	if lifeboatErr != nil {
		t.Fatalf("build lifeboat: %v", lifeboatErr)
	}
	cmd := exec.Command(lifeboatBin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lifeboat %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

const joinGroupFile = `version: 1
name: marsh-watchers
title: Marsh Watchers
viable_mass: 3
enrolment: approval
lead: {name: Ada Heron, email: ada@example.org}
destination: {type: local}
members:
  - {name: Ada Heron, email: ada@example.org}
`

// A stranger joins from the group's public page in a real browser,
// confirms their email from the mail, the lead approves them with
// "lifeboat members review", and they pledge from the welcome mail. The
// lead's "pledges status --json" and "members list --json" then count
// them, enrolled, confirmed and in the cascade. On SQLite and on
// PostgreSQL, the server and the commands sharing the store.
func TestBrowserJoin(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			state := t.TempDir()
			cfg, global := store.Config{Dir: state}, []string{"--state", state}
			if name == "postgres" {
				cfg.URL = pgtest.URL(t)
				global = append(global, "--database", cfg.URL)
			}
			st, err := store.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			file := filepath.Join(t.TempDir(), "marsh.yaml")
			if err := os.WriteFile(file, []byte(joinGroupFile), 0o600); err != nil {
				t.Fatal(err)
			}
			g, probs := groups.Load(file)
			if len(probs) > 0 {
				t.Fatal(probs.Err())
			}
			e := start(t, opts{st: st, group: g, tune: func(c *Config) { c.File = file }})
			browserJoin(t, e, file, global, name == "sqlite")
		})
	}
}

func browserJoin(t *testing.T, e *env, file string, global []string, screenshot bool) {
	ctx := newChrome(t)
	do, text := drive(t, ctx)
	const email = "wren@example.net"
	do(chromedp.Navigate(e.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="join"]`)),
		chromedp.Click(chromedp.CSS(`a[href="join"]`)),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "Wren Reed"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("x"), "@wrenreed"),
		chromedp.SendKeys(chromedp.ID("bluesky"), "wren.bsky.social"))
	if screenshot {
		screenshotTo(t, ctx, "join")
	}
	do(chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if s := text(".notice"); !strings.Contains(s, "We sent you an email") {
		t.Fatalf("after joining: %q", s)
	}
	do(chromedp.Navigate(e.mailLink(email, "Confirm your email")),
		chromedp.WaitVisible(chromedp.CSS("main button")),
		chromedp.Click(chromedp.CSS("main button")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if s := text(".notice"); !strings.Contains(s, "Ada looks at your request") && !strings.Contains(s, "Ada Heron looks at your request") {
		t.Fatalf("after confirming: %q", s)
	}

	// The lead sees Wren waiting and approves from the command line; the
	// welcome goes through the lead's relay.
	var people []campaign.Person
	if err := json.Unmarshal([]byte(lifeboat(t, append(global, "members", "list", file, "--json")...)), &people); err != nil {
		t.Fatal(err)
	}
	if len(people) != 2 || people[1].Email != email || people[1].Approval != "pending" || !people[1].Confirmed || people[1].Member || people[1].X != "@wrenreed" {
		t.Fatalf("members list before review: %+v", people)
	}
	out := lifeboat(t, append(global, "members", "review", file, "--approve", email, "--base-url", e.url,
		"--smtp-addr", e.mb.Addr, "--smtp-security", "none", "--smtp-from", "lifeboat@example.org")...)
	if !strings.Contains(out, "approved "+email) {
		t.Fatalf("review: %s", out)
	}

	do(chromedp.Navigate(e.mailLink(email, "You are in")),
		chromedp.WaitVisible(chromedp.ID("mode-any")),
		chromedp.Click(chromedp.ID("mode-any")),
		chromedp.Click(chromedp.CSS(`button[value="pledge"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	do(chromedp.Navigate(e.mailLink(email, "Confirm your pledge")),
		chromedp.WaitVisible(chromedp.CSS("main button")),
		chromedp.Click(chromedp.CSS("main button")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if s := text(".notice"); !strings.Contains(s, "Your pledge counts now") {
		t.Fatalf("after confirming the pledge: %q", s)
	}
	e.pledge("ada@example.org", 1, false, true)

	var status struct {
		Members, Enrolled, Confirmed, Pledged, Going int
	}
	if err := json.Unmarshal([]byte(lifeboat(t, append(global, "pledges", "status", file, "--json")...)), &status); err != nil {
		t.Fatal(err)
	}
	if status.Members != 2 || status.Enrolled != 2 || status.Confirmed != 2 || status.Pledged != 2 || status.Going != 2 {
		t.Fatalf("pledges status: %+v", status)
	}
	people = nil
	if err := json.Unmarshal([]byte(lifeboat(t, append(global, "members", "list", file, "--json")...)), &people); err != nil {
		t.Fatal(err)
	}
	if w := people[1]; w.Source != campaign.SourceJoin || w.Approval != "approved" || !w.Member || !w.Going || w.Pledge != "any" {
		t.Fatalf("Wren in members list: %+v", w)
	}
}

// screenshotTo saves the page as docs/img/NAME.png's stand-in when
// LIFEBOAT_SCREENSHOTS names a directory (make screenshots).
func screenshotTo(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("LIFEBOAT_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
