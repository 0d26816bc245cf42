package web

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/pgtest"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// joinGroup is a group that takes joins: enrolment mode, the first n
// test members listed in the file.
func joinGroup(mode string, n, viable int) *groups.Group {
	g := testGroup(n, viable)
	g.Enrolment = mode
	return g
}

// eachStore runs fn on SQLite and on PostgreSQL.
func eachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			cfg := store.Config{Dir: t.TempDir()}
			if name == "postgres" {
				cfg = store.Config{URL: pgtest.URL(t)}
			}
			st, err := store.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			fn(t, st)
		})
	}
}

// join fills in the join page in a fresh browser and returns the answer
// to the POST (not followed).
func (e *env) join(form url.Values) (*http.Response, string) {
	e.t.Helper()
	b := newBrowser(e.t, false)
	code, page := b.get(e.url + "/join")
	if code != 200 {
		e.t.Fatalf("join page %d:\n%s", code, page)
	}
	form.Set("csrf", csrfOf(e.t, page))
	return b.post(e.url+"/join", form)
}

// joinAndConfirm joins as name/email with the form's extra fields and
// confirms from the mail; it returns the confirmed page.
func (e *env) joinAndConfirm(name, email string, extra url.Values) string {
	e.t.Helper()
	form := url.Values{"name": {name}, "email": {email}}
	for k, v := range extra {
		form[k] = v
	}
	resp, body := e.join(form)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "/join?done=sent") {
		e.t.Fatalf("join %s: %d %s:\n%s", email, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	link := e.mailLink(email, "Confirm your email")
	b := newBrowser(e.t, false)
	code, page := b.get(link)
	if code != 200 || !strings.Contains(page, "Confirm my email") {
		e.t.Fatalf("join confirm page %d:\n%s", code, page)
	}
	resp, page = b.post(link, url.Values{"csrf": {csrfOf(e.t, page)}})
	if resp.StatusCode != 200 || !strings.Contains(page, "Email confirmed") {
		e.t.Fatalf("join confirm %d:\n%s", resp.StatusCode, page)
	}
	return page
}

var leaveRE = regexp.MustCompile(`https?://[^\s"<>]+/leave/[A-Za-z0-9_-]+`)

// Open enrolment with nobody in the file: three strangers join from the
// page, each pledging at once, confirm their email, and the group
// launches; everyone who joined gets an invite, and every mail carries
// their way out.
func TestJoinOpenLaunches(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		g := joinGroup(groups.EnrolOpen, 0, 3)
		if probs := g.Validate(); len(probs) > 0 {
			t.Fatalf("open group without members: %v", probs)
		}
		e := start(t, opts{st: st, group: g})
		ctx := context.Background()
		people := []struct{ name, email string }{{"Ann Tern", "ann@example.net"}, {"Bo Rail", "bo@example.net"}, {"Cy Snipe", "cy@example.net"}}
		for i, p := range people {
			page := e.joinAndConfirm(p.name, p.email, url.Values{"mode": {"any"}, "show_name": {"1"}, "bluesky": {p.email[:2] + ".bsky.social"}})
			if !strings.Contains(page, "you are in") || !strings.Contains(page, "Your pledge counts now") {
				t.Fatalf("%s confirmed:\n%s", p.email, page)
			}
			if i < 2 {
				s, err := e.srv.Status(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if s.State != "gathering" || s.Outlook.Going != i+1 || s.Enrolled != i+1 || s.Confirmed != i+1 {
					t.Fatalf("after %d joins: %+v", i+1, s)
				}
			}
		}
		for _, p := range people {
			inv := e.mailLink(p.email, "Your invite")
			if !strings.Contains(inv, "/invite/") {
				t.Fatalf("invite link %s", inv)
			}
			for _, m := range e.mb.To(p.email) {
				if !leaveRE.MatchString(m.Text) || !strings.Contains(m.HTML, "/leave/") {
					t.Errorf("mail %q to %s has no way to leave:\n%s", m.Subject, p.email, m.Text)
				}
			}
		}
		s, err := e.srv.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.State != "launched" || s.Outlook.Going != 3 || s.Outlook.Members != 3 || s.Enrolled != 3 || s.Confirmed != 3 {
			t.Fatalf("after the third: %+v", s)
		}
		// The landing page lists the first names, never an email or handle.
		_, page := newBrowser(t, true).get(e.url + "/")
		if !strings.Contains(page, "Ann") || strings.Contains(page, "ann@example.net") || strings.Contains(page, "bsky") {
			t.Fatalf("landing:\n%s", page)
		}
	})
}

// Bad input on the join page gets a clear message, keeps what the person
// typed, and saves nothing; a second join with the same email changes
// nothing and says so.
func TestJoinBadInput(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := start(t, opts{st: st, group: joinGroup(groups.EnrolApproval, 2, 2)})
		ctx := context.Background()
		good := func() url.Values {
			return url.Values{"name": {"Dora Stilt"}, "email": {"dora@example.net"}, "x": {"@dora_s"}, "instagram": {"dora.s"},
				"fediverse": {"@dora@social.example"}, "mode": {"min"}, "threshold": {"2"}}
		}
		long := strings.Repeat("a", 101)
		for _, tc := range []struct {
			name, field, value, want string
		}{
			{"bad email", "email", "dora@localhost", "That is not an email address we can write to"},
			{"no email", "email", "", "Please give your email address"},
			{"email too long", "email", strings.Repeat("d", 250) + "@example.net", "addresses have at most 254"},
			{"name too long", "name", long, "Your name is 101 characters long; please keep it to 100."},
			{"no name", "name", "  ", "Please give your name"},
			{"name on two lines", "name", "Dora\nStilt", "on one line"},
			{"x handle shape", "x", "@dora.stilt", "An X (Twitter) handle is up to 15 letters"},
			{"x handle too long", "x", "@" + long, "handles have at most 100"},
			{"bluesky shape", "bluesky", "dora", "A Bluesky handle is a domain name"},
			{"instagram shape", "instagram", "dora stilt", "An Instagram or Threads handle"},
			{"fediverse shape", "fediverse", "dora@", "A fediverse address has two parts"},
			{"threshold", "threshold", "none", "Please give the number of others who must go"},
		} {
			form := good()
			form.Set(tc.field, tc.value)
			resp, page := e.join(form)
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(page), tc.want) ||
				!strings.Contains(page, "Nothing was saved yet") || !strings.Contains(page, `aria-invalid="true"`) {
				t.Errorf("%s: %d, want 422 with %q:\n%s", tc.name, resp.StatusCode, tc.want, page)
				continue
			}
			// What the person typed is kept (escaped), the bad field too.
			for _, k := range []string{"name", "email", "x", "instagram", "fediverse"} {
				if v := strings.TrimSpace(form.Get(k)); v != "" && !strings.Contains(v, "\n") && !strings.Contains(page, `value="`+html.EscapeString(v)+`"`) {
					t.Errorf("%s: the form lost %s=%q", tc.name, k, v)
				}
			}
			if !strings.Contains(page, `value="min" checked`) {
				t.Errorf("%s: the pledge choice was lost", tc.name)
			}
		}
		if js, _ := st.Joins().List(ctx, e.srv.GroupName()); len(js) != 0 {
			t.Fatalf("bad input saved %v", js)
		}
		if n := len(e.mb.Messages()); n != 0 {
			t.Fatalf("bad input sent %d mails", n)
		}

		// A good join, then the same email again (in other case): the
		// second says so, keeps the form, changes and sends nothing.
		if resp, body := e.join(good()); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("good join: %d\n%s", resp.StatusCode, body)
		}
		e.mailLink("dora@example.net", "Confirm your email")
		again := good()
		again.Set("email", "Dora@Example.net")
		again.Set("name", "Someone Else")
		resp, page := e.join(again)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "You have joined already with this email, so nothing changed") ||
			!strings.Contains(page, `value="Someone Else"`) {
			t.Fatalf("second join: %d\n%s", resp.StatusCode, page)
		}
		// A member the file lists is on the list already too.
		listed := good()
		listed.Set("email", "ben@example.org")
		if resp, page := e.join(listed); resp.StatusCode != http.StatusConflict {
			t.Fatalf("listed member joining: %d\n%s", resp.StatusCode, page)
		}
		js, _ := st.Joins().List(ctx, e.srv.GroupName())
		if len(js) != 1 || js[0].Name != "Dora Stilt" || js[0].X != "@dora_s" || js[0].Fediverse != "@dora@social.example" {
			t.Fatalf("joins after the duplicate: %+v", js)
		}
		time.Sleep(300 * time.Millisecond) // a tick, had it anything to send
		if n := e.count("dora@example.net", "Confirm your email"); n != 1 {
			t.Fatalf("%d confirmation mails, want 1", n)
		}
		// The pledge made with the join waits for the confirmation.
		if p, err := st.Pledges().Get(ctx, e.srv.GroupName(), "dora@example.net"); err != nil || p.Threshold != 2 || p.Confirmed {
			t.Fatalf("pledge with the join: %+v, %v", p, err)
		}
	})
}

// A group with closed enrolment has no join page.
func TestJoinClosed(t *testing.T) {
	e := start(t, opts{})
	b := newBrowser(t, false)
	if code, page := b.get(e.url + "/join"); code != http.StatusNotFound || !strings.Contains(page, "takes no sign-ups here") {
		t.Fatalf("closed /join: %d\n%s", code, page)
	}
	_, page := b.get(e.url + "/")
	if strings.Contains(page, `href="join"`) {
		t.Fatal("a closed group's page links to /join")
	}
}

// With approval, confirming is not enough: the lead approves (the
// welcome with the pledge link goes) or declines (one polite mail, never
// twice); a person can leave from any mail, and everything they gave
// goes.
func TestJoinApprovalDecideLeave(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := start(t, opts{st: st, group: joinGroup(groups.EnrolApproval, 1, 2)})
		ctx := context.Background()
		page := e.joinAndConfirm("Bo Rail", "bo@example.net", url.Values{"mode": {"any"}})
		if !strings.Contains(page, "looks at your request") {
			t.Fatalf("confirmed, awaiting approval:\n%s", page)
		}
		e.joinAndConfirm("Cy Snipe", "cy@example.net", nil)
		s, _ := e.srv.Status(ctx)
		if s.Outlook.Members != 1 || s.Outlook.Going != 0 || s.Enrolled != 3 || s.Confirmed != 2 {
			t.Fatalf("before the lead's decisions: %+v", s)
		}
		if err := e.srv.Decide(ctx, "bo@example.net", true); err != nil {
			t.Fatal(err)
		}
		if err := e.srv.Decide(ctx, "cy@example.net", false); err != nil {
			t.Fatal(err)
		}
		if err := e.srv.Decide(ctx, "nobody@example.net", true); !errors.Is(err, campaign.ErrNotJoined) {
			t.Fatalf("deciding on nobody: %v", err)
		}
		pledgeLink := e.mailLink("bo@example.net", "You are in")
		if !strings.Contains(pledgeLink, "/pledge/") {
			t.Fatalf("welcome link %s", pledgeLink)
		}
		e.mailLink("cy@example.net", "About your request")
		for range 3 {
			if err := e.srv.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n, w := e.count("cy@example.net", "About your request"), e.count("bo@example.net", "You are in"); n != 1 || w != 1 {
			t.Fatalf("%d refusals, %d welcomes; want one each", n, w)
		}
		// Bo's pledge from the join page counts now that Bo is in.
		s, _ = e.srv.Status(ctx)
		if s.Outlook.Members != 2 || s.Outlook.Going != 1 || s.Enrolled != 2 || s.Confirmed != 1 {
			t.Fatalf("after the decisions: %+v", s)
		}
		// Bo's pledge page works like a listed member's.
		code, page := newBrowser(t, false).get(pledgeLink)
		if code != 200 || !strings.Contains(page, "Your pledge, Bo") || !strings.Contains(page, "you will go whatever happens") {
			t.Fatalf("Bo's pledge page %d:\n%s", code, page)
		}

		// Bo leaves from the welcome mail: join, pledge and link are gone.
		var leave string
		for _, m := range e.mb.To("bo@example.net") {
			if strings.Contains(m.Subject, "You are in") {
				leave = leaveRE.FindString(m.Text)
			}
		}
		b := newBrowser(t, false)
		code, page = b.get(leave)
		if code != 200 || !strings.Contains(page, "Remove me and delete what I gave") {
			t.Fatalf("leave page %d:\n%s", code, page)
		}
		resp, page := b.post(leave, url.Values{"csrf": {csrfOf(t, page)}})
		if resp.StatusCode != 200 || !strings.Contains(page, "Everything you gave us") {
			t.Fatalf("leave %d:\n%s", resp.StatusCode, page)
		}
		if _, err := st.Joins().Get(ctx, e.srv.GroupName(), "bo@example.net"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Bo's join after leaving: %v", err)
		}
		if _, err := st.Pledges().Get(ctx, e.srv.GroupName(), "bo@example.net"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Bo's pledge after leaving: %v", err)
		}
		if code, page := newBrowser(t, false).get(pledgeLink); code != http.StatusNotFound || !strings.Contains(page, "not on the list") {
			t.Fatalf("Bo's pledge link after leaving: %d\n%s", code, page)
		}
		if code, _ := newBrowser(t, false).get(leave); code != http.StatusNotFound {
			t.Fatalf("the leave link twice: %d", code)
		}
		// The journal of Bo's mails names Bo by a hash, never the address.
		steps, err := st.Journal().List(ctx, "web:"+e.srv.GroupName(), "")
		if err != nil || len(steps) == 0 {
			t.Fatalf("journal: %v, %v", steps, err)
		}
		for _, step := range steps {
			if strings.Contains(step.Key, "bo@") {
				t.Errorf("the journal keeps Bo's address: %s", step.Key)
			}
		}
		s, _ = e.srv.Status(ctx)
		if s.Enrolled != 1 || s.Outlook.Members != 1 {
			t.Fatalf("after Bo left: %+v", s)
		}
	})
}

// Without a mail relay nobody can confirm their email: the join waits
// for the lead, even with open enrolment.
func TestJoinWithoutRelay(t *testing.T) {
	e := start(t, opts{group: joinGroup(groups.EnrolOpen, 0, 2), tune: func(c *Config) { c.Mail = nil }})
	ctx := context.Background()
	resp, _ := e.join(url.Values{"name": {"Ann Tern"}, "email": {"ann@example.net"}, "mode": {"any"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "/join?done=review") {
		t.Fatalf("join without relay: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page := newBrowser(t, true).get(e.url + "/join?done=review")
	if !strings.Contains(page, "will look at your request") {
		t.Fatalf("after joining:\n%s", page)
	}
	// The join page is the link a lead posts: it unfurls like the landing page.
	if !strings.Contains(page, `<meta property="og:url" content="`+e.url+`/join">`) || !strings.Contains(page, `property="og:image" content="`+e.url+`/card.png?v=`) {
		t.Fatalf("join page without its preview tags:\n%s", page)
	}
	s, _ := e.srv.Status(ctx)
	if s.Outlook.Members != 0 || s.Enrolled != 1 || s.Confirmed != 0 {
		t.Fatalf("before approval: %+v", s)
	}
	if err := e.srv.Decide(ctx, "ann@example.net", true); err != nil {
		t.Fatal(err)
	}
	s, _ = e.srv.Status(ctx)
	if s.Outlook.Members != 1 {
		t.Fatalf("after approval: %+v", s)
	}
}

// Joining, leaving and joining again with one address sends at most
// joinMailsPerDay confirmation mails a day to it.
func TestJoinMailLimit(t *testing.T) {
	e := start(t, opts{group: joinGroup(groups.EnrolOpen, 0, 2)})
	ctx := context.Background()
	for i := range joinMailsPerDay + 2 {
		resp, body := e.join(url.Values{"name": {"Ann Tern"}, "email": {"ann@example.net"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("join %d: %d\n%s", i, resp.StatusCode, body)
		}
		if i < joinMailsPerDay {
			e.mailLink("ann@example.net", "Confirm your email")
			deadline := time.Now().Add(10 * time.Second)
			for e.count("ann@example.net", "Confirm your email") < i+1 {
				if time.Now().After(deadline) {
					t.Fatalf("join %d: no confirmation mail", i)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		if err := e.srv.Remove(ctx, "ann@example.net"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := e.count("ann@example.net", "Confirm your email"); n != joinMailsPerDay {
		t.Fatalf("%d confirmation mails to one address, want %d", n, joinMailsPerDay)
	}
}

// The join page has the pledge pages' CSRF check and per-IP limit.
func TestJoinCSRFAndRate(t *testing.T) {
	e := start(t, opts{group: joinGroup(groups.EnrolOpen, 0, 2), tune: func(c *Config) { c.PledgeRate = 2 }})
	b := newBrowser(t, false)
	resp, page := b.post(e.url+"/join", url.Values{"name": {"Ann"}, "email": {"ann@example.net"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "This form has expired") {
		t.Fatalf("join without CSRF token: %d\n%s", resp.StatusCode, page)
	}
	code, _ := b.get(e.url + "/join")
	if code != http.StatusOK {
		t.Fatalf("join page: %d", code)
	}
	resp, _ = b.post(e.url+"/join", url.Values{"name": {"Ann"}, "email": {"ann@example.net"}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third request to the join page from one address in a minute: %d", resp.StatusCode)
	}
	if js, _ := e.st.Joins().List(context.Background(), e.srv.GroupName()); len(js) != 0 {
		t.Fatalf("refused joins saved %v", js)
	}
}
