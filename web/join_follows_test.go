package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// joinUpload fills in the join page in a fresh browser and sends it as a
// browser does with a file chosen: the fields in the page's order, the
// file last. It returns the answer to the POST (not followed).
func (e *env) joinUpload(fields [][2]string, file string, content []byte) (*http.Response, string) {
	e.t.Helper()
	b := newBrowser(e.t, false)
	code, page := b.get(e.url + "/join")
	if code != 200 {
		e.t.Fatalf("join page %d:\n%s", code, page)
	}
	return b.postFile(e.url+"/join", append([][2]string{{"csrf", csrfOf(e.t, page)}}, fields...), file, content)
}

// confirmJoin confirms email's join from the mail.
func (e *env) confirmJoinMail(email string) {
	e.t.Helper()
	link := e.mailLink(email, "Confirm your email")
	b := newBrowser(e.t, false)
	_, page := b.get(link)
	if resp, page := b.post(link, url.Values{"csrf": {csrfOf(e.t, page)}}); resp.StatusCode != 200 || !strings.Contains(page, "Email confirmed") {
		e.t.Fatalf("join confirm %d:\n%s", resp.StatusCode, page)
	}
}

// follows are the emails the group's store holds follows of.
func (e *env) followsOf() []string {
	e.t.Helper()
	imps, err := e.st.Follows().List(context.Background(), e.srv.GroupName())
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, imp := range imps {
		out = append(out, imp.Email)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestJoinedFollows: people who joined from the join page upload their
// follows (with the join, and from their pledge page), are matched by the
// handles they typed, and their follow-aware pledges change who launches,
// through the real pages and the real engine. Leaving deletes their
// follows.
func TestJoinedFollows(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		g := joinGroup(groups.EnrolOpen, 3, 5) // ada ben chloe in the file; 5 needed
		for i, h := range []string{"@ada@old.example", "@ben@old.example", "@chloe@old.example"} {
			g.Members[i].Handle = h
		}
		e := start(t, opts{st: st, group: g})

		// Dee joins with her Mastodon list, which does not say whose it
		// is: the fediverse address she typed does. She follows Ben,
		// Chloe and someone outside the group.
		resp, page := e.joinUpload([][2]string{{"name", "Dee Stilt"}, {"email", "dee@example.net"}, {"fediverse", "@dee@old.example"}, {"mode", "any"}},
			"following_accounts.csv", mastodonCSV("ben@old.example", "chloe@old.example", "stranger@elsewhere.example"))
		if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "/join?done=sent&follows=1") {
			t.Fatalf("Dee's join %d %s:\n%s", resp.StatusCode, resp.Header.Get("Location"), page)
		}
		if _, page := newBrowser(t, false).get(resp.Header.Get("Location")); !strings.Contains(page, "Your follows are in") {
			t.Fatalf("after the join:\n%s", page)
		}
		e.confirmJoinMail("dee@example.net")
		// On her pledge page, Dee goes only if both people she follows go.
		dee := must(e.srv.PledgeLink("dee@example.net"))
		_, page = newBrowser(t, false).get(dee)
		for _, want := range []string{"Mastodon following list of fedi:@dee@old.example: you follow 3", "you follow 2 members of the group"} {
			if !strings.Contains(page, want) {
				t.Fatalf("Dee's pledge page lacks %q:\n%s", want, page)
			}
		}
		// (Her pledge from the join page was confirmed with her email.)
		e.pledgeForm("dee@example.net", url.Values{"action": {"pledge"}, "mode": {"any"}, "follows_mode": {"1"}, "follow_threshold": {"2"}}, false)

		// Eli joins without a file and uploads his list on his pledge
		// page, naming his account there: he follows Dee, whom the
		// fediverse address she typed finds.
		e.joinAndConfirm("Eli Crake", "eli@example.net", nil)
		if code, page := e.upload(newBrowser(t, false), "eli@example.net", "@eli@old.example", "following.csv", mastodonCSV("dee@old.example")); code != http.StatusSeeOther {
			t.Fatalf("Eli's upload %d:\n%s", code, page)
		}
		e.pledgeForm("eli@example.net", url.Values{"action": {"pledge"}, "mode": {"any"}, "follows_mode": {"1"}, "follow_threshold": {"1"}}, true)
		e.pledge("ada@example.org", 0, false, true)
		e.pledge("ben@example.org", 0, false, true)

		// Dee's condition holds for Ben only, and Eli's needs Dee: 2 go.
		v := e.waitStatus("before Chloe", func(s statusView) bool { return len(s.Going) == 2 })
		if v.State != pledge.StateGathering || !v.Going["ada@example.org"] || !v.Going["ben@example.org"] {
			e.e2eFail("before Chloe", v)
		}
		// Chloe pledges: Dee's condition holds, so Eli's does: all five
		// go and the group launches.
		e.pledge("chloe@example.org", 0, false, true)
		v = e.waitStatus("after Chloe", func(s statusView) bool { return s.State == pledge.StateLaunched })
		if len(v.Going) != 5 || !v.Going["dee@example.net"] || !v.Going["eli@example.net"] {
			e.e2eFail("launch", v)
		}
		if _, page = newBrowser(t, false).get(dee); !strings.Contains(page, "2 of the 3 people you follow are going") {
			t.Fatalf("Dee's page after launch:\n%s", page)
		}
		if got := e.followsOf(); !slices.Equal(got, []string{"dee@example.net", "eli@example.net"}) {
			t.Fatalf("follows kept of %q", got)
		}
	})
}

// A file sent with the join page: refused, it leaves the join saved and
// says so; with a form that needs a change, nothing is saved or read;
// with an email that joined already, nobody's follows change. Leaving
// deletes the follows given with the join.
func TestJoinUploadRefusedAndLeave(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := start(t, opts{st: st, group: joinGroup(groups.EnrolOpen, 1, 3)})
		ctx := context.Background()
		csv := mastodonCSV("ada@old.example")

		resp, page := e.joinUpload([][2]string{{"name", "Ann Tern"}, {"email", "ann@example.net"}}, "following.csv", csv)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Your join is saved, but the file of your follows was not kept") ||
			!strings.Contains(page, "does not say whose it is") || !strings.Contains(page, "We sent you an email") {
			t.Fatalf("a list nobody owns %d:\n%s", resp.StatusCode, page)
		}
		if _, err := st.Joins().Get(ctx, e.srv.GroupName(), "ann@example.net"); err != nil {
			t.Fatalf("Ann's join after the refused file: %v", err)
		}
		e.mailLink("ann@example.net", "Confirm your email")

		resp, page = e.joinUpload([][2]string{{"name", ""}, {"email", "bo@example.net"}, {"fediverse", "@bo@old.example"}}, "following.csv", csv)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Nothing was saved yet. Choose your follows file again too.") ||
			!strings.Contains(page, `value="bo@example.net"`) {
			t.Fatalf("a form that needs a change %d:\n%s", resp.StatusCode, page)
		}
		if _, err := st.Joins().Get(ctx, e.srv.GroupName(), "bo@example.net"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Bo's join: %v", err)
		}

		// Ann joins again, typing her address this time: nothing changes.
		resp, _ = e.joinUpload([][2]string{{"name", "Ann Tern"}, {"email", "ann@example.net"}, {"fediverse", "@ann@old.example"}}, "following.csv", csv)
		if resp.StatusCode != http.StatusConflict || len(e.followsOf()) != 0 {
			t.Fatalf("joining twice with a file: %d, follows of %q", resp.StatusCode, e.followsOf())
		}

		// Cy joins with her list, and leaves from the confirmation mail:
		// her follows go with her.
		resp, page = e.joinUpload([][2]string{{"name", "Cy Snipe"}, {"email", "cy@example.net"}, {"fediverse", "@cy@old.example"}}, "following.csv", csv)
		if resp.StatusCode != http.StatusSeeOther || !slices.Equal(e.followsOf(), []string{"cy@example.net"}) {
			t.Fatalf("Cy's join %d, follows of %q:\n%s", resp.StatusCode, e.followsOf(), page)
		}
		e.mailLink("cy@example.net", "Confirm your email")
		var leave string
		for _, m := range e.mb.To("cy@example.net") {
			leave = leaveRE.FindString(m.Text)
		}
		b := newBrowser(t, false)
		_, page = b.get(leave)
		if resp, page := b.post(leave, url.Values{"csrf": {csrfOf(t, page)}}); resp.StatusCode != 200 || !strings.Contains(page, "Everything you gave us") {
			t.Fatalf("leave %d:\n%s", resp.StatusCode, page)
		}
		if got := e.followsOf(); len(got) != 0 {
			t.Fatalf("after Cy left, follows of %q", got)
		}
	})
}

// The upload forms are read as a stream: every field must come before
// the file in the page, as browsers send them in the page's order.
func TestUploadFormsFieldsBeforeFile(t *testing.T) {
	e := start(t, opts{group: joinGroup(groups.EnrolOpen, 2, 2)})
	_, join := newBrowser(t, false).get(e.url + "/join")
	_, pledgePage := newBrowser(t, false).get(must(e.srv.PledgeLink("ben@example.org")))
	for name, page := range map[string]string{"join": join, "pledge": pledgePage} {
		i := strings.Index(page, `enctype="multipart/form-data"`)
		file := strings.Index(page, `type="file"`)
		if i < 0 || file < i {
			t.Fatalf("%s page has no upload form:\n%s", name, page)
		}
		end := file + strings.Index(page[file:], "</form>")
		if after := page[file:end]; strings.Contains(after, "<input") || strings.Contains(after, "<select") || strings.Contains(after, "<textarea") {
			t.Errorf("%s page: a field after the file:\n%s", name, page[file:end])
		}
	}
}

// A stranger joins in a real browser with their Mastodon list, typing
// their account in the box beside it: the browser sends the fields in the
// page's order, the file last, and the join and the follows are kept.
func TestBrowserJoinWithFollows(t *testing.T) {
	g := joinGroup(groups.EnrolOpen, 2, 3)
	g.Members[1].Handle = "@ben@old.example"
	e := start(t, opts{group: g})
	csv := filepath.Join(t.TempDir(), "following_accounts.csv")
	if err := os.WriteFile(csv, mastodonCSV("ben@old.example", "stranger@elsewhere.example"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := newChrome(t)
	do, text := drive(t, ctx)
	do(chromedp.Navigate(e.url+"/join"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "Wren Reed"),
		chromedp.SendKeys(chromedp.ID("email"), "wren@example.net"),
		chromedp.SendKeys(chromedp.ID("owner"), "@wren@old.example"),
		chromedp.SetUploadFiles(chromedp.ID("export"), []string{csv}),
		chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if s := text("main"); !strings.Contains(s, "We sent you an email") || !strings.Contains(s, "Your follows are in") {
		t.Fatalf("after joining: %s", s)
	}
	imps, err := e.st.Follows().List(context.Background(), g.Name)
	if err != nil || len(imps) != 1 || imps[0].Email != "wren@example.net" || imps[0].Self != "fedi:@wren@old.example" || len(imps[0].Edges) != 2 {
		t.Fatalf("follows kept: %+v, %v", imps, err)
	}
	if _, err := e.st.Joins().Get(context.Background(), g.Name, "wren@example.net"); err != nil {
		t.Fatalf("Wren's join: %v", err)
	}
}
