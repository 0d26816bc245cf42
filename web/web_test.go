package web

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/escape/invite"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/mailer"
	"github.com/lifeboat-social/lifeboat/internal/pgtest"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fakeArrivals stands in for the arrival engine: it counts accounts,
// runs a tiny OAuth authorize endpoint that sends the browser straight
// back, and records the account in the store as the engine would.
type fakeArrivals struct {
	st       store.Store
	oauth    *http.Server
	oauthURL string

	mu       sync.Mutex
	created  map[string]int
	users    map[string]string
	complete map[string]int
	failNext atomic.Bool
}

type publicErr struct{ msg string }

func (e publicErr) Error() string         { return "engine: " + e.msg }
func (e publicErr) PublicMessage() string { return e.msg }

func newFakeArrivals(t *testing.T, st store.Store) *fakeArrivals {
	f := &fakeArrivals{st: st, created: map[string]int{}, users: map[string]string{}, complete: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.oauthURL = "http://" + ln.Addr().String()
	f.oauth = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		u, _ := url.Parse(q.Get("redirect_uri"))
		u.RawQuery = url.Values{"code": {"code-for-" + q.Get("state")[:6]}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	})}
	go f.oauth.Serve(ln)
	t.Cleanup(func() { f.oauth.Close() })
	return f
}

func (f *fakeArrivals) CreateAccount(ctx context.Context, group, email, username, password string) error {
	if f.failNext.Swap(false) {
		return publicErr{"The username " + username + " is taken; choose another."}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created[email]++
	f.users[email] = username
	return f.st.Accounts().Put(ctx, store.Account{Group: group, Email: email, Server: f.oauthURL, ID: email, Username: username})
}

func (f *fakeArrivals) AuthorizeURL(ctx context.Context, group, redirectURI, state string) (string, error) {
	return f.oauthURL + "/oauth/authorize?" + url.Values{"redirect_uri": {redirectURI}, "state": {state}}.Encode(), nil
}

func (f *fakeArrivals) Complete(ctx context.Context, group, email, code, redirectURI string) (ArrivalResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.complete[email]++
	return ArrivalResult{Server: f.oauthURL, Acct: f.users[email] + "@" + hostOf(f.oauthURL), ProfileURL: f.oauthURL + "/@" + f.users[email],
		ListTitle: "River Birders", Following: 3, Followers: 3}, nil
}

func (f *fakeArrivals) Destination() string { return f.oauthURL }

func testGroup(n, viable int) *groups.Group {
	deadline := time.Now().Add(30 * 24 * time.Hour).Truncate(24 * time.Hour)
	g := &groups.Group{Version: 1, Name: "river-birders", Title: "River Birders", Description: "Birdwatchers <b>along</b> the river.",
		ViableMass: viable, Deadline: &deadline, Lead: groups.Person{Name: "Ada Heron", Email: "ada@example.org"},
		Destination: groups.Destination{Type: groups.DestLocal, Software: "gotosocial"}}
	names := []string{"Ada Heron", "Ben Kingfisher", "Chloe Wren", "Dev Patel", "Elif Sparrow", "Finn Dipper", "Gita Swift", "Hal Plover"}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("Member%d Bird", i)
		if i < len(names) {
			name = names[i]
		}
		first := strings.ToLower(strings.Fields(name)[0])
		g.Members = append(g.Members, groups.Member{Name: name, Email: first + "@example.org", Username: first})
	}
	return g
}

type env struct {
	t    *testing.T
	srv  *Server
	url  string
	mb   *mailbox.Server
	st   store.Store
	arr  *fakeArrivals
	stop context.CancelFunc
}

type opts struct {
	st    store.Store
	mb    *mailbox.Server
	arr   *fakeArrivals
	noRun bool
	tune  func(*Config)
	group *groups.Group
}

func start(t *testing.T, o opts) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if o.st == nil {
		st, err := store.Open(ctx, store.Config{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		o.st = st
	}
	if o.mb == nil {
		mb, err := mailbox.Start("127.0.0.1:0", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mb.Close() })
		o.mb = mb
	}
	if o.arr == nil {
		o.arr = newFakeArrivals(t, o.st)
	}
	if o.group == nil {
		o.group = testGroup(6, 3)
	}
	sender, err := mailer.New(mailer.Config{Addr: o.mb.Addr, Security: mailer.None, From: "River Birders <lifeboat@example.org>"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Group: o.group, Store: o.st, Mail: sender, Arrivals: o.arr, BaseURL: "http://" + ln.Addr().String(),
		PledgeRate: -1, RedeemRate: -1, PageRate: -1, TickEvery: 200 * time.Millisecond, Rules: []string{"Be kind", "No <script>spam</script>"}}
	if o.tune != nil {
		o.tune(&cfg)
	}
	srv, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { Serve(ctx, ln, srv.Handler()); close(done) }()
	if !o.noRun {
		go srv.Run(ctx)
	}
	t.Cleanup(func() { cancel(); <-done })
	return &env{t: t, srv: srv, url: cfg.BaseURL, mb: o.mb, st: o.st, arr: o.arr, stop: cancel}
}

// browser is an HTTP client with cookies that does not follow redirects
// unless asked.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T, follow bool) *browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return &browser{t: t, c: c}
}

func (b *browser) get(u string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *browser) post(u string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(u, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf token in page:\n%s", page)
	}
	return m[1]
}

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+`)

// mailLink waits for a mail to rcpt whose subject contains subj and
// returns the link in its text part.
func (e *env) mailLink(rcpt, subj string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := e.mb.Wait(ctx, func(m mailbox.Message) bool {
		return len(m.To) == 1 && strings.EqualFold(m.To[0], rcpt) && strings.Contains(m.Subject, subj)
	})
	if err != nil {
		e.t.Fatalf("no mail %q to %s: %v", subj, rcpt, err)
	}
	l := linkRE.FindString(m.Text)
	if l == "" {
		e.t.Fatalf("no link in mail %q", m.Text)
	}
	if !strings.Contains(m.HTML, html.EscapeString(l)) {
		e.t.Fatalf("HTML part lacks the link %s:\n%s", l, m.HTML)
	}
	return l
}

func (e *env) count(rcpt, subj string) int {
	n := 0
	for _, m := range e.mb.To(rcpt) {
		if strings.Contains(m.Subject, subj) {
			n++
		}
	}
	return n
}

// pledge makes a member pledge through their pledge link and confirm
// through the link in the confirmation mail.
func (e *env) pledge(email string, threshold int, show, confirm bool) {
	e.t.Helper()
	form := url.Values{"action": {"pledge"}, "mode": {"any"}}
	if threshold > 0 {
		form.Set("mode", "min")
		form.Set("threshold", fmt.Sprint(threshold))
	}
	if show {
		form.Set("show_name", "1")
	}
	e.pledgeForm(email, form, confirm)
}

// pledgeForm posts form (its csrf added) on the member's pledge page,
// then confirms through the mail when asked.
func (e *env) pledgeForm(email string, form url.Values, confirm bool) {
	e.t.Helper()
	b := newBrowser(e.t, false)
	link, err := e.srv.PledgeLink(email)
	if err != nil {
		e.t.Fatal(err)
	}
	code, page := b.get(link)
	if code != 200 {
		e.t.Fatalf("pledge page %d", code)
	}
	form.Set("csrf", csrfOf(e.t, page))
	resp, body := b.post(link, form)
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("pledge post %d: %s", resp.StatusCode, body)
	}
	if !confirm {
		return
	}
	cl := e.mailLink(email, "Confirm your pledge")
	code, page = b.get(cl)
	if code != 200 || !strings.Contains(page, "Confirm my pledge") {
		e.t.Fatalf("confirm page %d", code)
	}
	resp, body = b.post(cl, url.Values{"csrf": {csrfOf(e.t, page)}})
	if resp.StatusCode != 200 || !strings.Contains(body, "Pledge confirmed") {
		e.t.Fatalf("confirm post %d: %s", resp.StatusCode, body)
	}
}

// redeem goes through the invite, account form, OAuth round trip, and
// returns the final page.
func (e *env) redeem(email, username string) string {
	e.t.Helper()
	return e.redeemIn(newBrowser(e.t, true), email, username)
}

// redeemIn is redeem in browser b (following redirects), which keeps
// the member's path for the pages after arrival.
func (e *env) redeemIn(b *browser, email, username string) string {
	e.t.Helper()
	inv := e.mailLink(email, "Your invite")
	code, page := b.get(inv)
	if code != 200 || !strings.Contains(page, `value="`+username+`"`) {
		e.t.Fatalf("invite page %d (username %s prefilled?):\n%s", code, username, page)
	}
	resp, page := b.post(inv, url.Values{"csrf": {csrfOf(e.t, page)}, "username": {username}, "password": {"correct horse"}, "password2": {"correct horse"}})
	if resp.StatusCode != 200 || !strings.Contains(page, "Continue to") {
		e.t.Fatalf("redeem %d:\n%s", resp.StatusCode, page)
	}
	auth := regexp.MustCompile(`href="([^"]+)" id="authorize"`).FindStringSubmatch(page)
	if auth == nil {
		e.t.Fatalf("no authorize link:\n%s", page)
	}
	code, page = b.get(html.UnescapeString(auth[1]))
	if code != 200 {
		e.t.Fatalf("after OAuth %d:\n%s", code, page)
	}
	return page
}

func TestWholeFlow(t *testing.T) {
	e := start(t, opts{})
	ctx := context.Background()

	// Landing page before anything.
	b := newBrowser(t, false)
	code, page := b.get(e.url + "/")
	if code != 200 || !strings.Contains(page, "0 of 3 needed would go now") {
		t.Fatalf("landing %d:\n%s", code, page)
	}
	if strings.Contains(page, "<b>along</b>") || strings.Contains(page, "<script>spam") || strings.Contains(page, "@example.org") {
		t.Fatal("landing page shows unescaped input or emails")
	}

	n, err := e.srv.OpenPledges(ctx)
	if err != nil || n != 6 {
		t.Fatalf("open pledges: %d, %v", n, err)
	}
	if n, _ := e.srv.OpenPledges(ctx); n != 0 {
		t.Fatalf("second open sent %d", n)
	}
	pledgeLink := e.mailLink("ben@example.org", "will you move")
	if link, _ := e.srv.PledgeLink("ben@example.org"); link != pledgeLink {
		t.Fatalf("mailed link %s, want %s", pledgeLink, link)
	}

	e.pledge("ada@example.org", 0, true, true)
	e.pledge("ben@example.org", 0, false, true)
	e.pledge("chloe@example.org", 5, true, true) // waits for 5 others: not going yet
	_, page = b.get(e.url + "/")
	if !strings.Contains(page, "2 would go now") || !strings.Contains(page, "Ada") || strings.Contains(page, "Ben") {
		t.Fatalf("landing after 3 pledges:\n%s", page)
	}
	st, _ := e.st.Groups().Get(ctx, "river-birders")
	if st.State != "gathering" {
		t.Fatalf("launched with 2 going: %s", st.State)
	}
	// Chloe lowers her threshold: 3 go, and the group launches by itself.
	e.pledge("chloe@example.org", 2, true, false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ = e.st.Groups().Get(ctx, "river-birders")
		if st.State == "launched" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.State != "launched" {
		t.Fatalf("state %s", st.State)
	}
	final := e.redeem("chloe@example.org", "chloe")
	if !strings.Contains(final, "You follow 3 people from your group; 3 follow you; a list &#34;River Birders&#34; is on your account") &&
		!strings.Contains(final, "You follow 3 people from your group; 3 follow you; a list \"River Birders\" is on your account") {
		t.Fatalf("final page:\n%s", final)
	}
	e.redeem("ada@example.org", "ada")

	// Nobody outside the going set got an invite; each going member one.
	time.Sleep(300 * time.Millisecond) // a few more ticks
	for _, m := range []string{"ada", "ben", "chloe"} {
		if c := e.count(m+"@example.org", "Your invite"); c != 1 {
			t.Errorf("%s got %d invites", m, c)
		}
		if c := e.count(m+"@example.org", "Confirm your pledge"); c != 1 {
			t.Errorf("%s got %d confirmation mails", m, c)
		}
	}
	for _, m := range []string{"dev", "elif", "finn"} {
		if c := e.count(m+"@example.org", "Your invite"); c != 0 {
			t.Errorf("%s got an invite", m)
		}
	}
	if e.arr.created["chloe@example.org"] != 1 || e.arr.complete["chloe@example.org"] != 1 {
		t.Fatalf("engine calls: %v %v", e.arr.created, e.arr.complete)
	}

	// Pledges are frozen now.
	code, page = b.get(pledgeLink)
	if code != 200 || !strings.Contains(page, "pledges are closed") {
		t.Fatalf("pledge page after launch: %d", code)
	}
	resp, _ := b.post(pledgeLink, url.Values{"csrf": {csrfOf(t, page+`name="csrf" value="x"`)}, "action": {"withdraw"}})
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusConflict {
		t.Fatalf("withdraw after launch: %d", resp.StatusCode)
	}

	// Reach back: the public page and the starter pack list the two who
	// arrived and agreed to be listed.
	code, page = b.get(e.url + "/made-it")
	if code != 200 || !strings.Contains(page, "2 of 6 members have arrived") {
		t.Fatalf("made-it %d:\n%s", code, page)
	}
	code, csvBody := b.get(e.url + "/made-it/follows.csv")
	want := "Account address,Show boosts,Notify on new posts,Languages\nada@" + hostOf(e.arr.oauthURL) + ",true,false,\nchloe@" + hostOf(e.arr.oauthURL) + ",true,false,\n"
	if code != 200 || csvBody != want {
		t.Fatalf("csv %d:\n%q\nwant\n%q", code, csvBody, want)
	}
	code, js := b.get(e.url + "/made-it/group.json")
	if code != 200 || !strings.Contains(js, `"arrived": 2`) || strings.Contains(js, "example.org") {
		t.Fatalf("json %d: %s", code, js)
	}
}

func TestLaunchOnceAcrossProcessesPostgres(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	st1, err := store.Open(ctx, store.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer st1.Close()
	// The second "process" has its own connection pool on the same database.
	st2, err := store.Open(ctx, store.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	mb, _ := mailbox.Start("127.0.0.1:0", nil)
	defer mb.Close()
	g := testGroup(6, 3)
	a := start(t, opts{st: st1, mb: mb, group: g, noRun: true})
	b := start(t, opts{st: st2, mb: mb, group: g, noRun: true, arr: a.arr})

	for _, m := range []string{"ada", "ben", "chloe", "dev"} {
		p := store.Pledge{Group: g.Name, Email: m + "@example.org", Confirmed: true, ConfirmedAt: time.Now()}
		if err := st1.Pledges().Put(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		srv := a.srv
		if i%2 == 1 {
			srv = b.srv
		}
		go func() { defer wg.Done(); srv.Tick(ctx) }()
	}
	wg.Wait()
	a.srv.Tick(ctx)
	b.srv.Tick(ctx)
	for _, m := range []string{"ada", "ben", "chloe", "dev"} {
		if c := a.count(m+"@example.org", "Your invite"); c != 1 {
			t.Errorf("%s got %d invites", m, c)
		}
	}
	invs, _ := st1.Invites().List(ctx, g.Name)
	if len(invs) != 4 {
		t.Fatalf("%d invites stored", len(invs))
	}
	// Both processes print the same links.
	la, _ := a.srv.Invites(ctx)
	lb, _ := b.srv.Invites(ctx)
	if len(la) != 4 || la[0].URL[strings.Index(la[0].URL, "/invite/"):] != lb[0].URL[strings.Index(lb[0].URL, "/invite/"):] {
		t.Fatalf("links differ: %v %v", la, lb)
	}

	// 100 concurrent redemptions of one invite across both processes, each
	// in its own browser: one account. Every browser is shown the member's
	// step: the account, or that it is being made.
	link := a.mailLink("ben@example.org", "Your invite")
	tok := link[strings.Index(link, "/invite/"):]
	var shown atomic.Int32
	var wg2 sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg2.Add(1)
		base := a.url
		if i%2 == 1 {
			base = b.url
		}
		go func() {
			defer wg2.Done()
			br := newBrowser(t, true)
			_, page := br.get(base + tok)
			step := func(page string) bool {
				return strings.Contains(page, `id="authorize"`) || strings.Contains(page, "Your account is being made")
			}
			m := csrfRE.FindStringSubmatch(page)
			if m == nil || step(page) { // made, or being made, by the time we looked
				if !step(page) {
					t.Errorf("neither a form nor a step:\n%s", page)
				}
				shown.Add(1)
				return
			}
			resp, page := br.post(base+"/arrive", url.Values{"csrf": {m[1]}, "username": {"ben"}, "password": {"correct horse"}, "password2": {"correct horse"}})
			if resp.StatusCode == 200 && step(page) {
				shown.Add(1)
			} else if !strings.Contains(page, `name="password"`) { // a form left open while the account was made
				t.Errorf("status %d:\n%s", resp.StatusCode, page)
			}
		}()
	}
	wg2.Wait()
	if a.arr.created["ben@example.org"] != 1 || shown.Load() == 0 {
		t.Fatalf("accounts %d, steps shown %d", a.arr.created["ben@example.org"], shown.Load())
	}
}

func TestTokensRefused(t *testing.T) {
	e := start(t, opts{noRun: true})
	ctx := context.Background()
	for _, m := range []string{"ada", "ben", "chloe"} {
		e.st.Pledges().Put(ctx, store.Pledge{Group: "river-birders", Email: m + "@example.org", Confirmed: true})
	}
	if err := e.srv.Launch(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Launch(ctx, false); !errors.Is(err, campaign.ErrNotGathering) {
		t.Fatalf("second launch: %v", err)
	}
	links, err := e.srv.Invites(ctx)
	if err != nil || len(links) != 3 {
		t.Fatalf("%v %v", links, err)
	}
	tok := links[0].URL[strings.LastIndex(links[0].URL, "/")+1:]
	key := e.srv.key
	expired, _ := invite.Sign(key, invite.Claims{Purpose: invite.Invite, Group: "river-birders", Member: invite.MemberID("river-birders", "ada@example.org"), Expires: time.Now().Add(-time.Minute)})
	pledgeTok, _ := invite.Sign(key, invite.Claims{Purpose: invite.Pledge, Group: "river-birders", Member: invite.MemberID("river-birders", "ada@example.org"), Expires: time.Now().Add(time.Hour)})
	tampered := tok[:20] + string("ABCDEFGHIJ"[(strings.IndexByte("ABCDEFGHIJ", tok[20])+1)%10]) + tok[21:]
	if tampered == tok {
		tampered = tok[:20] + "Z" + tok[21:]
	}
	b := newBrowser(t, false)
	for name, tc := range map[string]struct {
		path string
		code int
	}{
		"forged":        {"/invite/" + strings.Repeat("A", 160), 400},
		"tampered":      {"/invite/" + tampered, 400},
		"script":        {"/invite/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 400},
		"expired":       {"/invite/" + expired, 410},
		"pledge as inv": {"/invite/" + pledgeTok, 400},
		"too long":      {"/invite/" + strings.Repeat("x", 5000), 400},
		"bad pledge":    {"/pledge/nope", 400},
		"bad confirm":   {"/confirm/" + tok, 400},
	} {
		code, page := b.get(e.url + tc.path)
		if code != tc.code {
			t.Errorf("%s: %d, want %d", name, code, tc.code)
		}
		if strings.Contains(page, "<script>alert") || strings.Contains(page, "xxxxxxxxxx") {
			t.Errorf("%s: input echoed", name)
		}
	}
	// The link is one account per member, not one click: opened again
	// in another browser (mid-way: the account is made, not connected)
	// it resumes the member's path there, and a second try to make an
	// account changes nothing.
	br, other := newBrowser(t, true), newBrowser(t, true)
	_, stale := other.get(links[0].URL) // the form, open in another browser
	_, page := br.get(links[0].URL)
	resp, _ := br.post(e.url+"/arrive", url.Values{"csrf": {csrfOf(t, page)}, "username": {"ada"}, "password": {"correct horse"}, "password2": {"correct horse"}})
	if resp.StatusCode != 200 {
		t.Fatalf("first redemption %d", resp.StatusCode)
	}
	code, page := other.get(links[0].URL)
	if code != 200 || !strings.Contains(page, "Continue to") || strings.Contains(page, `name="password"`) {
		t.Fatalf("the link in another browser: %d\n%s", code, page)
	}
	resp, page = other.post(e.url+"/arrive", url.Values{"csrf": {csrfOf(t, stale)}, "username": {"ada2"}, "password": {"correct horse"}, "password2": {"correct horse"}})
	if resp.StatusCode != 200 || !strings.Contains(page, "Continue to") {
		t.Fatalf("the stale account form: %d\n%s", resp.StatusCode, page)
	}
	if e.arr.created["ada@example.org"] != 1 || e.arr.users["ada@example.org"] != "ada" {
		t.Fatalf("accounts made %v %v", e.arr.created, e.arr.users)
	}
	// Both browsers finish; the member arrives once.
	for _, b := range []*browser{other, br} {
		_, page := b.get(e.url + "/arrive")
		auth := regexp.MustCompile(`href="([^"]+)" id="authorize"`).FindStringSubmatch(page)
		if auth == nil {
			if strings.Contains(page, `id="result"`) {
				continue
			}
			t.Fatalf("no authorize link:\n%s", page)
		}
		if code, page := b.get(html.UnescapeString(auth[1])); code != 200 || !strings.Contains(page, `id="result"`) {
			t.Fatalf("after OAuth %d:\n%s", code, page)
		}
	}
	if e.arr.complete["ada@example.org"] != 1 {
		t.Fatalf("arrivals completed %v", e.arr.complete)
	}
	// Arrived: the link shows the arrival, in any browser.
	if code, page := newBrowser(t, true).get(links[0].URL); code != 200 || !strings.Contains(page, `id="result"`) {
		t.Fatalf("the link after arrival: %d\n%s", code, page)
	}
}

func TestUsernameTakenRetry(t *testing.T) {
	e := start(t, opts{noRun: true})
	ctx := context.Background()
	for _, m := range []string{"ada", "ben", "chloe"} {
		e.st.Pledges().Put(ctx, store.Pledge{Group: "river-birders", Email: m + "@example.org", Confirmed: true})
	}
	if err := e.srv.Launch(ctx, false); err != nil {
		t.Fatal(err)
	}
	link := e.mailLink("ben@example.org", "Your invite")
	b := newBrowser(t, true)
	_, page := b.get(link)
	// Bad input does not use up the invite.
	resp, page2 := b.post(link, url.Values{"csrf": {csrfOf(t, page)}, "username": {"b e n"}, "password": {"correct horse"}, "password2": {"correct horse"}})
	if resp.StatusCode != 422 || !strings.Contains(page2, "Choose a username") {
		t.Fatalf("bad username: %d", resp.StatusCode)
	}
	e.arr.failNext.Store(true)
	resp, page = b.post(link, url.Values{"csrf": {csrfOf(t, page2)}, "username": {"ben"}, "password": {"correct horse"}, "password2": {"correct horse"}})
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(page, "The username ben is taken") || !strings.Contains(page, `action="/arrive"`) {
		t.Fatalf("taken: %d\n%s", resp.StatusCode, page)
	}
	resp, page = b.post(e.url+"/arrive", url.Values{"csrf": {csrfOf(t, page)}, "username": {"benk"}, "password": {"correct horse"}, "password2": {"correct horse"}})
	if resp.StatusCode != 200 || !strings.Contains(page, "Continue to") {
		t.Fatalf("retry: %d\n%s", resp.StatusCode, page)
	}
	if e.arr.users["ben@example.org"] != "benk" {
		t.Fatalf("users %v", e.arr.users)
	}
}

// TestDefaultUsername: a member without a wished username is offered the
// group's own default (groups.Group.Username), the one the demo gives too.
func TestDefaultUsername(t *testing.T) {
	g := testGroup(3, 2)
	g.Members[1].Username, g.Members[1].Email = "", "ben.kingfisher@example.org"
	e := start(t, opts{noRun: true, group: g})
	ctx := context.Background()
	for _, m := range g.Members {
		e.st.Pledges().Put(ctx, store.Pledge{Group: g.Name, Email: m.Email, Confirmed: true})
	}
	if err := e.srv.Launch(ctx, false); err != nil {
		t.Fatal(err)
	}
	_, page := newBrowser(t, true).get(e.mailLink("ben.kingfisher@example.org", "Your invite"))
	if want := g.Username("ben.kingfisher@example.org"); want != "ben_kingfisher" || !strings.Contains(page, `value="ben_kingfisher"`) {
		t.Fatalf("want ben_kingfisher (rule gives %q) prefilled:\n%s", want, page)
	}
}

func TestSafety(t *testing.T) {
	e := start(t, opts{noRun: true, tune: func(c *Config) { c.PledgeRate = 5 }})
	b := newBrowser(t, false)
	resp, err := b.c.Get(e.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for k, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	} {
		if !strings.Contains(resp.Header.Get(k), want) {
			t.Errorf("%s = %q", k, resp.Header.Get(k))
		}
	}
	link, _ := e.srv.PledgeLink("dev@example.org")
	_, page := b.get(link)
	csrf := csrfOf(t, page)
	// No CSRF token, a wrong one, and a cross-site request: all refused.
	if r, _ := b.post(link, url.Values{"action": {"pledge"}, "mode": {"any"}}); r.StatusCode != 403 {
		t.Errorf("no csrf: %d", r.StatusCode)
	}
	if r, _ := b.post(link, url.Values{"csrf": {"x" + csrf}, "action": {"pledge"}, "mode": {"any"}}); r.StatusCode != 403 {
		t.Errorf("bad csrf: %d", r.StatusCode)
	}
	req, _ := http.NewRequest("POST", link, strings.NewReader(url.Values{"csrf": {csrf}, "action": {"pledge"}, "mode": {"any"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r, err := b.c.Do(req); err != nil || r.StatusCode != 403 {
		t.Errorf("cross-site: %v %v", r.StatusCode, err)
	}
	// Oversized form.
	if r, _ := b.post(link, url.Values{"csrf": {csrf}, "x": {strings.Repeat("a", 20000)}}); r.StatusCode != 413 {
		t.Errorf("big form: %d", r.StatusCode)
	}
	// Bad threshold.
	if r, body := b.post(link, url.Values{"csrf": {csrf}, "action": {"pledge"}, "mode": {"min"}, "threshold": {"99"}}); r.StatusCode != 422 || !strings.Contains(body, "from 1 to 5") {
		t.Errorf("threshold 99: %d", r.StatusCode)
	}
	// The rate limit (5 a minute here) has been reached by now.
	if code, _ := b.get(link); code != http.StatusTooManyRequests {
		t.Errorf("rate limit: %d", code)
	}
	// /healthz
	if code, body := b.get(e.url + "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz %d %q", code, body)
	}
	if code, _ := b.get(e.url + "/made-it"); code != 404 {
		t.Errorf("made-it before launch: %d", code)
	}
	if code, _ := b.get(e.url + "/arrive"); code != 403 {
		t.Errorf("arrive without cookie: %d", code)
	}
	if code, _ := b.get(e.url + "/callback?code=x&state=y"); code != 403 {
		t.Errorf("callback without cookie: %d", code)
	}
}

func TestDeadlineFails(t *testing.T) {
	now := time.Now()
	clock := &atomic.Pointer[time.Time]{}
	clock.Store(&now)
	g := testGroup(6, 4)
	e := start(t, opts{noRun: true, group: g, tune: func(c *Config) { c.Now = func() time.Time { return *clock.Load() } }})
	ctx := context.Background()
	e.st.Pledges().Put(ctx, store.Pledge{Group: g.Name, Email: "ada@example.org", Confirmed: true})
	e.st.Pledges().Put(ctx, store.Pledge{Group: g.Name, Email: "ben@example.org", Confirmed: true})
	e.st.Pledges().Put(ctx, store.Pledge{Group: g.Name, Email: "dev@example.org", Withdrawn: true})
	if err := e.srv.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	// Half way, with half the viable mass pledged: no nudge.
	later := g.Deadline.Add(time.Second)
	clock.Store(&later)
	for range 3 {
		if err := e.srv.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sg, _ := e.st.Groups().Get(ctx, g.Name)
	if sg.State != "failed" {
		t.Fatalf("state %s", sg.State)
	}
	for _, m := range []string{"ada", "ben"} {
		if c := e.count(m+"@example.org", "will not move"); c != 1 {
			t.Errorf("%s: %d failure mails", m, c)
		}
	}
	if c := e.count("dev@example.org", "will not move"); c != 0 {
		t.Error("withdrawn pledger told")
	}
	if err := e.srv.Launch(ctx, true); !errors.Is(err, campaign.ErrNotGathering) {
		t.Fatalf("launch after failure: %v", err)
	}
}

func TestNudge(t *testing.T) {
	g := testGroup(8, 6)
	now := time.Now()
	clock := &atomic.Pointer[time.Time]{}
	clock.Store(&now)
	e := start(t, opts{noRun: true, group: g, tune: func(c *Config) { c.Now = func() time.Time { return *clock.Load() } }})
	ctx := context.Background()
	// 20 days into a 30-day window with nobody pledged: nudge once a week.
	at := now.Add(g.Deadline.Sub(now) * 2 / 3)
	clock.Store(&at)
	e.srv.Tick(ctx)
	e.srv.Tick(ctx)
	if c := e.count("ada@example.org", "slow"); c != 1 {
		t.Fatalf("%d nudges", c)
	}
}

// Behind a proxy that appends its own X-Forwarded-For line rather than
// extending the client's, the client's line (first) is not the key: the
// right-most hop that is not the proxy is.
func TestClientIPBehindProxy(t *testing.T) {
	s := &Server{cfg: Config{TrustProxy: true}}
	for _, c := range []struct {
		lines []string
		peer  string
		want  string
	}{
		{[]string{"203.0.113.9"}, "127.0.0.1:5000", "203.0.113.9"},
		{[]string{"6.6.6.6", "203.0.113.9"}, "127.0.0.1:5000", "203.0.113.9"},
		{[]string{"6.6.6.6, 203.0.113.9"}, "127.0.0.1:5000", "203.0.113.9"},
		{[]string{"6.6.6.6, 203.0.113.9, 127.0.0.1"}, "127.0.0.1:5000", "203.0.113.9"},
		{[]string{"203.0.113.9, 198.51.100.7"}, "198.51.100.7:443", "203.0.113.9"},
		{[]string{"6.6.6.6, not-an-ip"}, "127.0.0.1:5000", "127.0.0.1"},
		{nil, "192.0.2.1:5000", "192.0.2.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		for _, l := range c.lines {
			r.Header.Add("X-Forwarded-For", l)
		}
		if got := s.clientIP(r); got != c.want {
			t.Errorf("%q from %s: %s, want %s", c.lines, c.peer, got, c.want)
		}
	}
	// Without --trust-proxy the header is never read.
	s.cfg.TrustProxy = false
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.1:5000"
	r.Header.Set("X-Forwarded-For", "6.6.6.6")
	if got := s.clientIP(r); got != "192.0.2.1" {
		t.Errorf("untrusted proxy: %s", got)
	}
}

// A page asked for with a method it does not take answers 405 with Allow;
// a path that does not exist answers 404.
func TestMethodNotAllowed(t *testing.T) {
	e := start(t, opts{noRun: true})
	for _, c := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"DELETE", "/", 405, "GET, HEAD"},
		{"PUT", "/pledge/abc", 405, "GET, HEAD, POST"},
		{"POST", "/healthz", 405, "GET, HEAD"},
		{"GET", "/nowhere", 404, ""},
		{"POST", "/nowhere", 404, ""},
	} {
		req, _ := http.NewRequest(c.method, e.url+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code || resp.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want %d %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), c.code, c.allow)
		}
	}
}

// Pages without a limit of their own are limited too: the first four
// requests of a minute pass, the next are refused.
func TestEveryPageIsRateLimited(t *testing.T) {
	for _, path := range []string{"/", "/made-it", "/healthz", "/static/style.css"} {
		e := start(t, opts{noRun: true, tune: func(c *Config) { c.PageRate = 4 }})
		var codes []int
		for range 6 {
			resp, err := http.Get(e.url + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			codes = append(codes, resp.StatusCode)
		}
		if codes[3] == http.StatusTooManyRequests || codes[4] != http.StatusTooManyRequests || codes[5] != http.StatusTooManyRequests {
			t.Errorf("%s: %v, want four answers then 429s", path, codes)
		}
	}
}
