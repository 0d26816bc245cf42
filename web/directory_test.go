package web

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/mailer"
	"github.com/lifeboat-social/lifeboat/internal/pgtest"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// dirEnv is one process serving several groups as a directory.
type dirEnv struct {
	url    string
	dir    *Directory
	groups map[string]*env
}

// startDirectory serves gs as a directory on st, with mail to mb; the
// groups' servers do not tick unless run.
func startDirectory(t *testing.T, st store.Store, mb *mailbox.Server, arr *fakeArrivals, run bool, gs ...*groups.Group) *dirEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	sender, err := mailer.New(mailer.Config{Addr: mb.Addr, Security: mailer.None, From: "Lifeboat <lifeboat@example.org>"})
	if err != nil {
		t.Fatal(err)
	}
	d := &dirEnv{url: base, groups: map[string]*env{}}
	var servers []*Server
	for _, g := range gs {
		srv, err := New(ctx, Config{Group: g, Store: st, Mail: sender, Arrivals: arr, BaseURL: GroupBaseURL(base, g.Name),
			PledgeRate: -1, RedeemRate: -1, PageRate: -1, TickEvery: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, srv)
		d.groups[g.Name] = &env{t: t, srv: srv, url: srv.cfg.BaseURL, mb: mb, st: st, arr: arr, stop: cancel}
		if run {
			go srv.Run(ctx)
		}
	}
	if d.dir, err = NewDirectory(DirectoryConfig{BaseURL: base, Servers: servers, PageRate: -1}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { Serve(ctx, ln, d.dir.Handler()); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return d
}

// twoGroups is River Birders (local) and Moth Watchers, bound for the
// server the fake arrivals make accounts on, with Ben in both.
func twoGroups(arr *fakeArrivals) (*groups.Group, *groups.Group) {
	a := testGroup(6, 3)
	a.Tags, a.Description = []string{"birds", "nature"}, "Birdwatchers along the river."
	b := testGroup(5, 3)
	b.Name, b.Title, b.Description, b.Tags = "moth-watchers", "Moth Watchers", "Moths at night.", []string{"insects", "nature"}
	b.Destination = groups.Destination{Type: groups.DestExisting, Server: arr.oauthURL}
	return a, b
}

// twoGroupDirectory serves twoGroups as a directory on a fresh store;
// a and b are River Birders and Moth Watchers.
func twoGroupDirectory(t *testing.T, run bool) (d *dirEnv, a, b *env) {
	t.Helper()
	st, mb := newStore(t), newMailbox(t)
	arr := newFakeArrivals(t, st)
	ga, gb := twoGroups(arr)
	d = startDirectory(t, st, mb, arr, run, ga, gb)
	return d, d.groups[ga.Name], d.groups[gb.Name]
}

func newStore(t *testing.T) store.Store {
	st, err := store.Open(context.Background(), store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newMailbox(t *testing.T) *mailbox.Server {
	mb, err := mailbox.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	return mb
}

// TestDirectoryTwoGroups: one process serves two groups from two group
// files; "/" lists both by topic with their standing and join link; each
// group's whole path (pledge, confirm, launch, invite, account, OAuth,
// made-it) works under /g/NAME/; the group that made it points at the
// one still gathering, whose advance party is counted.
func TestDirectoryTwoGroups(t *testing.T) {
	d, a, b := twoGroupDirectory(t, true)
	arr := a.arr

	b.pledge("elif@example.org", 0, false, true) // not chloe: her confirmation mails of both groups would be alike
	br := newBrowser(t, false)
	code, page := br.get(d.url + "/")
	if code != 200 {
		t.Fatalf("directory %d", code)
	}
	for _, want := range []string{
		`<h2 id="topic-birds">birds</h2>`, `<h2 id="topic-insects">insects</h2>`, `<h2 id="topic-nature">nature</h2>`,
		`href="` + a.url + `/">River Birders</a>`, `href="` + b.url + `/">Moth Watchers</a>`,
		`href="` + a.srv.JoinURL() + `">Join River Birders</a>`, `1 of 3 needed would go now`, `0 of 3 needed would go now`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("directory lacks %q:\n%s", want, page)
		}
	}
	if strings.Count(page, ">Join Moth Watchers<") != 2 { // under insects and nature
		t.Errorf("Moth Watchers is not listed under both its topics:\n%s", page)
	}

	// River Birders goes all the way under /g/river-birders/.
	for _, m := range []string{"ada", "ben", "chloe"} {
		a.pledge(m+"@example.org", 0, true, true)
	}
	final := a.redeem("ben@example.org", "ben")
	if !strings.Contains(final, "You follow 3 people") {
		t.Fatalf("arrival page:\n%s", final)
	}
	code, page = br.get(a.url + "/made-it")
	if code != 200 || !strings.Contains(page, `href="`+b.srv.JoinURL()+`">Moth Watchers</a>`) ||
		!strings.Contains(page, "lifeboat init next-group.yaml --server "+arr.oauthURL) {
		t.Fatalf("made-it %d lacks the gathering group or the next step:\n%s", code, page)
	}
	// Ben has an account on Moth Watchers' destination: its advance party.
	_, page = br.get(d.url + "/")
	if !strings.Contains(page, "Advance party: 1 of its people is already on "+hostOf(arr.oauthURL)) {
		t.Errorf("directory lacks the advance party:\n%s", page)
	}
	if !strings.Contains(page, `<a href="`+a.url+`/made-it">River Birders</a>`) {
		t.Errorf("directory does not list the group that made it:\n%s", page)
	}
	// Only River Birders moved: the old /made-it means it.
	resp, err := br.c.Get(d.url + "/made-it/follows.csv")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusTemporaryRedirect || loc != "/g/river-birders/made-it/follows.csv" {
		t.Errorf("old /made-it/follows.csv: %d to %q", resp.StatusCode, loc)
	}
}

// TestDirectoryTokensDoNotCross: a group's personal links are refused on
// the other group's pages; links mailed while a group was served alone
// (at the root) are sent on to their group, method kept; a link no
// served group signed is not found.
func TestDirectoryTokensDoNotCross(t *testing.T) {
	d, a, b := twoGroupDirectory(t, false)
	br := newBrowser(t, false)
	for _, c := range []struct{ owner, other *env }{{a, b}, {b, a}} {
		link, err := c.owner.srv.PledgeLink("chloe@example.org") // Chloe is in both groups
		if err != nil {
			t.Fatal(err)
		}
		tok := link[strings.LastIndex(link, "/")+1:]
		if code, _ := br.get(link); code != 200 {
			t.Fatalf("own pledge link %d", code)
		}
		code, page := br.get(c.other.url + "/pledge/" + tok)
		if code != http.StatusBadRequest || !strings.Contains(page, "This link is not valid") {
			t.Errorf("%s's link on %s's pages: %d", c.owner.srv.GroupName(), c.other.srv.GroupName(), code)
		}
		// A form posted to the other group is refused too.
		_, page = br.get(link)
		resp, _ := br.post(c.other.url+"/pledge/"+tok, url.Values{"csrf": {csrfOf(t, page)}, "action": {"pledge"}, "mode": {"any"}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("pledge posted to the other group: %d", resp.StatusCode)
		}
		// The old root path goes to the owner, a POST as a POST.
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			req, _ := http.NewRequest(method, d.url+"/pledge/"+tok+"?done=saved", nil)
			resp, err := br.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := "/g/" + c.owner.srv.GroupName() + "/pledge/" + tok + "?done=saved"
			if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
				t.Errorf("%s /pledge/: %d to %q, want 307 to %q", method, resp.StatusCode, resp.Header.Get("Location"), want)
			}
		}
	}
	if p, err := b.st.Pledges().List(context.Background(), b.srv.GroupName()); err != nil || len(p) != 0 {
		t.Errorf("pledges made through the wrong group: %v %v", p, err)
	}
	// Tampered: neither group signed it.
	link, _ := a.srv.PledgeLink("ada@example.org")
	tok := []byte(link[strings.LastIndex(link, "/")+1:])
	tok[len(tok)-3] ^= 1
	if code, _ := br.get(d.url + "/pledge/" + string(tok)); code != http.StatusNotFound {
		t.Errorf("tampered old link: %d, want 404", code)
	}
	// Neither group moved: the old /made-it means nothing.
	if code, _ := br.get(d.url + "/made-it"); code != http.StatusNotFound {
		t.Errorf("old /made-it before any launch: %d", code)
	}
	// The directory's own page is read-only.
	if resp, _ := br.post(d.url+"/", url.Values{}); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// TestDirectoryReplicasPostgres: two processes serve the same two groups
// as directories on one PostgreSQL: concurrent ticks launch the viable
// group once and mail each invite once; a link from one process works on
// the other, and still not on the other group.
func TestDirectoryReplicasPostgres(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	open := func() store.Store {
		st, err := store.Open(ctx, store.Config{URL: dbURL})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	st1, st2 := open(), open()
	mb := newMailbox(t)
	arr := newFakeArrivals(t, st1)
	ga, gb := twoGroups(arr)
	d1 := startDirectory(t, st1, mb, arr, false, ga, gb)
	d2 := startDirectory(t, st2, mb, arr, false, ga, gb)
	for _, m := range []string{"ada", "ben", "chloe"} {
		if err := st1.Pledges().Put(ctx, store.Pledge{Group: ga.Name, Email: m + "@example.org", Confirmed: true, ConfirmedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range 8 {
		d := d1
		if i%2 == 1 {
			d = d2
		}
		for _, e := range d.groups {
			wg.Go(func() { e.srv.Tick(ctx) })
		}
	}
	wg.Wait()
	for _, m := range []string{"ada", "ben", "chloe"} {
		if c := d1.groups[ga.Name].count(m+"@example.org", "Your invite"); c != 1 {
			t.Errorf("%s got %d invites", m, c)
		}
	}
	for name, want := range map[string]string{ga.Name: pledge.StateLaunched, gb.Name: pledge.StateGathering} {
		if sg, err := st2.Groups().Get(ctx, name); err != nil || sg.State != want {
			t.Errorf("%s: %v %v, want %s", name, sg.State, err, want)
		}
	}
	link := d1.groups[ga.Name].mailLink("ben@example.org", "Your invite")
	tok := link[strings.LastIndex(link, "/")+1:]
	br := newBrowser(t, false)
	if code, _ := br.get(d2.groups[ga.Name].url + "/invite/" + tok); code != http.StatusSeeOther {
		t.Errorf("invite from process 1 on process 2: %d", code)
	}
	if code, _ := br.get(d2.groups[gb.Name].url + "/invite/" + tok); code != http.StatusBadRequest {
		t.Errorf("invite of one group on the other's pages: %d", code)
	}
	if code, _ := br.get(d2.url + "/"); code != 200 {
		t.Errorf("directory on process 2: %d", code)
	}
}

// TestMadeItStartsTheNextGroup: a group served alone that made it says
// how to start the next group bound for its server, and lists no
// directory.
func TestMadeItStartsTheNextGroup(t *testing.T) {
	e := start(t, opts{group: testGroup(3, 2)})
	for _, m := range []string{"ada", "ben"} {
		e.pledge(m+"@example.org", 0, true, true)
	}
	e.redeem("ada@example.org", "ada")
	code, page := newBrowser(t, false).get(e.url + "/made-it")
	if code != 200 || !strings.Contains(page, "<code>lifeboat init next-group.yaml --server "+e.arr.oauthURL+"</code>") {
		t.Fatalf("made-it %d lacks the next step:\n%s", code, page)
	}
	if strings.Contains(page, "Groups gathering now") {
		t.Errorf("a group served alone lists other groups:\n%s", page)
	}
}
