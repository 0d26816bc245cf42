package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/internal/pgtest"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// upload sends the pledge page's upload form as a browser does: the
// csrf token, the owner, then the file.
func (e *env) upload(b *browser, email, owner, file string, content []byte) (int, string) {
	e.t.Helper()
	link, err := e.srv.PledgeLink(email)
	if err != nil {
		e.t.Fatal(err)
	}
	_, page := b.get(link)
	resp, out := b.postFile(link+"/follows", [][2]string{{"csrf", csrfOf(e.t, page)}, {"owner", owner}}, file, content)
	return resp.StatusCode, out
}

// postFile sends a multipart form as a browser does: the fields in
// order, then the file field "export".
func (b *browser) postFile(u string, fields [][2]string, file string, content []byte) (*http.Response, string) {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	fw, _ := mw.CreateFormFile("export", file)
	fw.Write(content)
	mw.Close()
	resp, err := b.c.Post(u, mw.FormDataContentType(), &body)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	return resp, out.String()
}

// mastodonCSV is a Mastodon following_accounts.csv following addrs.
func mastodonCSV(addrs ...string) []byte {
	s := "Account address,Show boosts,Notify on new posts,Languages\n"
	for _, a := range addrs {
		s += a + ",true,false,\n"
	}
	return []byte(s)
}

// waitGoing waits until the campaign's standing satisfies ok.
func (e *env) waitStatus(what string, ok func(s statusView) bool) statusView {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := e.srv.Status(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		v := statusView{State: st.State, Going: st.Going}
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			e.e2eFail(what, v)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type statusView struct {
	State string
	Going map[string]bool
}

func (e *env) e2eFail(what string, v statusView) {
	e.t.Helper()
	e.t.Fatalf("%s: state %s, going %v", what, v.State, v.Going)
}

// TestFollowAwarePledges drives follow-aware pledges through the real
// pages and the real launch: a member whose condition on the people she
// follows does not hold is left out, and comes in once they pledge; one
// whose followee never pledges is left out of the launch.
func TestFollowAwarePledges(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { followAwarePledges(t, nil) })
	t.Run("postgres", func(t *testing.T) {
		st, err := store.Open(context.Background(), store.Config{URL: pgtest.URL(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		followAwarePledges(t, st)
	})
}

func followAwarePledges(t *testing.T, st store.Store) {
	g := testGroup(6, 4) // ada ben chloe dev elif finn; 4 needed
	for i, h := range []string{"@ada@old.example", "@ben@old.example", "@chloe@old.example", "", "@elif@old.example", "@finn@old.example"} {
		g.Members[i].Handle = h
	}
	e := start(t, opts{st: st, group: g})

	// Ada uploads her Mastodon list: she follows Ben, Chloe and someone
	// outside the group. The file does not say whose it is; her handle does.
	b := newBrowser(t, false)
	code, page := e.upload(b, "ada@example.org", "", "following_accounts.csv",
		mastodonCSV("ben@old.example", "chloe@old.example", "stranger@elsewhere.example"))
	if code != http.StatusSeeOther {
		t.Fatalf("upload %d:\n%s", code, page)
	}
	link, _ := e.srv.PledgeLink("ada@example.org")
	_, page = b.get(link + "?done=follows")
	for _, want := range []string{"your follows are in", "Mastodon following list of fedi:@ada@old.example: you follow 3",
		"you follow 2 members of the group", "Delete my follows", "0 of the 3 people you follow are going"} {
		if !strings.Contains(page, want) {
			t.Fatalf("pledge page lacks %q:\n%s", want, page)
		}
	}
	// Nobody else's page names whom Ada follows.
	_, other := newBrowser(t, false).get(must(e.srv.PledgeLink("ben@example.org")))
	_, landing := newBrowser(t, false).get(e.url + "/")
	if strings.Contains(other, "stranger") || strings.Contains(landing, "stranger") || strings.Contains(other, "ada@old.example") {
		t.Fatal("another page names Ada's follows")
	}

	// Ada goes whatever the count, but only if both people she follows go.
	e.pledgeForm("ada@example.org", url.Values{"action": {"pledge"}, "mode": {"any"}, "follows_mode": {"1"}, "follow_threshold": {"2"}}, true)
	// Elif follows Finn, who never pledges.
	if code, page := e.upload(newBrowser(t, false), "elif@example.org", "", "following.csv", mastodonCSV("finn@old.example")); code != http.StatusSeeOther {
		t.Fatalf("Elif's upload %d:\n%s", code, page)
	}
	e.pledgeForm("elif@example.org", url.Values{"action": {"pledge"}, "mode": {"any"}, "follows_mode": {"1"}, "follow_threshold": {"1"}}, true)
	e.pledge("ben@example.org", 0, false, true)
	e.pledge("dev@example.org", 0, false, true)

	// Three pledged without conditions on others, but Ada's follow
	// condition holds for Ben only and Elif's for nobody: 2 would go.
	v := e.waitStatus("before Chloe", func(s statusView) bool { return len(s.Going) == 2 })
	if v.State != pledge.StateGathering || !v.Going["ben@example.org"] || !v.Going["dev@example.org"] {
		e.e2eFail("before Chloe", v)
	}
	_, page = b.get(link)
	for _, want := range []string{"if at least 2 of the people you follow go", "Not enough others have pledged for your condition yet",
		"1 of the 3 people you follow is going"} {
		if !strings.Contains(page, want) {
			t.Fatalf("Ada's page lacks %q:\n%s", want, page)
		}
	}

	// Elif deletes her follows: her page says her condition cannot hold.
	eb := newBrowser(t, false)
	elif := must(e.srv.PledgeLink("elif@example.org"))
	_, page = eb.get(elif)
	if resp, _ := eb.post(elif+"/follows/delete", url.Values{"csrf": {csrfOf(t, page)}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("Elif's delete: %d", resp.StatusCode)
	}
	if _, page = eb.get(elif); !strings.Contains(page, "Without your follows, your condition on the people you follow cannot hold") {
		t.Fatalf("Elif's page after deleting:\n%s", page)
	}

	// Chloe pledges: Ada's condition holds, 4 go, the group launches, and
	// Elif, whose condition cannot hold, is left out.
	e.pledge("chloe@example.org", 0, false, true)
	v = e.waitStatus("after Chloe", func(s statusView) bool { return s.State == pledge.StateLaunched })
	if len(v.Going) != 4 || !v.Going["ada@example.org"] || !v.Going["chloe@example.org"] || v.Going["elif@example.org"] {
		e.e2eFail("launch", v)
	}
	e.mailLink("ada@example.org", "Your invite")
	_, page = b.get(link)
	if !strings.Contains(page, "2 of the 3 people you follow are going") {
		t.Fatalf("Ada's page after launch:\n%s", page)
	}
	if e.count("elif@example.org", "Your invite") != 0 {
		t.Fatal("Elif got an invite although her condition did not hold")
	}

	// Ada deletes her follows: they are gone from the store, and her
	// invite stands.
	_, page = b.get(link)
	resp, _ := b.post(link+"/follows/delete", url.Values{"csrf": {csrfOf(t, page)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	imps, err := e.st.Follows().List(context.Background(), g.Name)
	if err != nil || len(imps) != 0 {
		t.Fatalf("after delete: %+v, %v", imps, err)
	}
	v = e.waitStatus("after delete", func(s statusView) bool { return true })
	if !v.Going["ada@example.org"] {
		e.e2eFail("a deleted follow took back an invite", v)
	}
	_, page = b.get(link)
	if strings.Contains(page, "Delete my follows") || strings.Contains(page, "people you follow are going") {
		t.Fatalf("Ada's page still shows her follows:\n%s", page)
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

// TestUploadRefused: what a member can fix is said on the page, and
// nothing is kept of a refused file.
func TestUploadRefused(t *testing.T) {
	g := testGroup(4, 2)
	g.Members[1].Handle = "@ben@old.example"
	e := start(t, opts{group: g, tune: func(c *Config) { c.UploadMax = 1 << 10 }})
	b := newBrowser(t, false)
	for _, tc := range []struct {
		email, owner, file string
		content            []byte
		want               string
	}{
		{"ada@example.org", "", "following.csv", mastodonCSV("ben@old.example"), "does not say whose it is"},
		{"ada@example.org", "not an address", "following.csv", mastodonCSV("ben@old.example"), "is not an address"},
		{"ben@example.org", "", "following.csv", []byte("Account address,Show boosts\nhttps://x/@y,true\n"), "line 2"},
		{"ben@example.org", "", "notes.txt", []byte("hello"), "We could not read this file"},
		{"ben@example.org", "", "big.csv", bytes.Repeat([]byte("x"), 2<<10), "larger than"},
		{"ben@example.org", "", "", mastodonCSV("ada@old.example"), "Choose a file"},
	} {
		code, page := e.upload(b, tc.email, tc.owner, tc.file, tc.content)
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, tc.want) {
			t.Errorf("%s %q: %d, want %q in:\n%s", tc.file, tc.content[:min(20, len(tc.content))], code, tc.want, page)
		}
	}
	// Without the form's token nothing is read.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("export", "following.csv")
	fw.Write(mastodonCSV("ada@old.example"))
	mw.Close()
	link, _ := e.srv.PledgeLink("ben@example.org")
	resp, err := b.c.Post(link+"/follows", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("without csrf: %d", resp.StatusCode)
	}
	imps, err := e.st.Follows().List(context.Background(), g.Name)
	if err != nil || len(imps) != 0 {
		t.Fatalf("kept: %+v, %v", imps, err)
	}
}
