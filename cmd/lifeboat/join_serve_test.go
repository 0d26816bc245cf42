package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/mastodonfake"
	"github.com/lifeboat-social/lifeboat/web"
)

// The end to end, through the commands: "lifeboat serve" on the
// example with `enrolment: open` and no members; a person joins from its
// public page and confirms by mail; "pledges status --json" counts them
// enrolled and confirmed, and they are a member. (The destination's
// engine is a stand-in: nobody redeems an invite here.)
func TestServeOpenJoin(t *testing.T) {
	const file = "../../examples/open-join.yaml"
	state := t.TempDir()
	mb, err := mailbox.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	base, get, post := serveForTest(t, state, file, "--smtp-addr", mb.Addr, "--smtp-security", "none", "--smtp-from", "lifeboat@example.org")

	if home := get(base + "/"); !strings.Contains(home, `href="join"`) {
		t.Fatalf("the landing page does not link to the join page:\n%s", home)
	}
	// Uploads are spooled beside the state, not in /tmp (maybe memory).
	if fi, err := os.Stat(filepath.Join(state, "uploads")); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("serve's uploads directory: %v, %v", fi, err)
	}
	page := get(base + "/join")
	if resp := post(base+"/join", page, url.Values{"name": {"Wren Reed"}, "email": {"wren@example.net"}, "mode": {"any"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("join: %d", resp.StatusCode)
	}
	mctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := mb.Wait(mctx, func(m mailbox.Message) bool {
		return strings.Contains(m.Subject, "Confirm your email to join Marsh Watchers")
	})
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(base + `/join/confirm/[A-Za-z0-9_-]+`).FindString(m.Text)
	page = get(link)
	if resp := post(link, page, url.Values{}); resp.StatusCode != 200 {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	st := statusJSON(t, state, file)
	if st.Enrolled != 1 || st.Confirmed != 1 || st.Members != 1 || st.Pledged != 1 || st.ViableMass != 40 {
		t.Fatalf("pledges status after the join: %+v", st)
	}
}

// serveForTest runs "lifeboat serve" on file with args and the state in
// state until the test ends, with the destination's engine a stand-in,
// and returns its URL and a browser's GET (200 wanted) and POST (the
// page's CSRF token added; no redirects followed).
func serveForTest(t *testing.T, state, file string, args ...string) (string, func(u string) string, func(u, page string, form url.Values) *http.Response) {
	t.Helper()
	old := serveArrivals
	serveArrivals = func(context.Context, *App, *groups.Group, web.HomesConfig) (web.Arrivals, func(), error) {
		return &recordingArrivals{}, func() {}, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errs bytes.Buffer
	go func() {
		app := &App{Stdout: &out, Stderr: &errs, StateDir: state}
		defer app.Close()
		done <- runApp(ctx, app, append([]string{"serve", file, "--addr", addr, "--base-url", base}, args...))
	}()
	t.Cleanup(func() {
		stop()
		if code := <-done; code != 0 {
			t.Errorf("serve: exit %d: %s", code, errs.String())
		}
		serveArrivals = old
	})

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	get := func(u string) string {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			resp, err := c.Get(u)
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("GET %s: %d\n%s", u, resp.StatusCode, body)
				}
				return string(body)
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %v\n%s", u, err, errs.String())
			}
		}
	}
	post := func(u, page string, form url.Values) *http.Response {
		t.Helper()
		m := csrf.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no CSRF token:\n%s", page)
		}
		form.Set("csrf", m[1])
		resp, err := c.PostForm(u, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	return base, get, post
}

// TestServeLocalHomes: "serve" reaches members' own servers only at
// public addresses; --local-homes lets a member connect an account on a
// server on this machine (the Mastodon stand-in on loopback).
func TestServeLocalHomes(t *testing.T) {
	const file = "../../examples/open-join.yaml"
	f := mastodonfake.Start(mastodonfake.Config{Mode: mastodonfake.None})
	defer f.Close()
	if _, err := f.CreateAccount(mastodonfake.AccountOptions{Username: "wren", Email: "wren@example.net", Confirmed: true, Approved: true}); err != nil {
		t.Fatal(err)
	}
	join := url.Values{"name": {"Wren Reed"}, "email": {"wren@example.net"}, "fediverse": {"@wren@" + strings.TrimPrefix(f.URL, "http://")}, "keep": {"1"}}
	for _, c := range []struct {
		args   []string
		status int
	}{
		{nil, http.StatusUnprocessableEntity},
		{[]string{"--local-homes"}, http.StatusOK},
	} {
		base, get, post := serveForTest(t, t.TempDir(), file, c.args...)
		if resp := post(base+"/join", get(base+"/join"), join); resp.StatusCode != c.status {
			t.Errorf("serve %v: a join keeping an account on loopback answers %d, want %d", c.args, resp.StatusCode, c.status)
		}
	}
}
