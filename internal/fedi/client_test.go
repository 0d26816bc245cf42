package fedi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fake is an httptest Mastodon-API server whose handlers tests set per path.
type fake struct {
	t    *testing.T
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []recorded
	mux  *http.ServeMux
}

type recorded struct {
	Method, Path, Query, Auth, ContentType, Accept, UA string
	Form                                               url.Values
}

func newFake(t *testing.T) *fake {
	f := &fake{t: t, mux: http.NewServeMux()}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"),
			ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"), UA: r.Header.Get("User-Agent")}
		if strings.HasPrefix(rec.ContentType, "application/x-www-form-urlencoded") {
			r.ParseForm()
			rec.Form = r.PostForm
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, rec)
		f.mu.Unlock()
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) handle(pattern string, h http.HandlerFunc) { f.mux.HandleFunc(pattern, h) }

// json answers with a status and a JSON body.
func (f *fake) json(pattern string, status int, body string) {
	f.handle(pattern, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
}

func (f *fake) last() recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		f.t.Fatal("no request recorded")
	}
	return f.reqs[len(f.reqs)-1]
}

func (f *fake) all() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

const tok = "s3cret-token-value"

func (f *fake) client(opts ...Option) *Client { return New(f.srv.URL, opts...).WithToken(tok) }

func TestAccountCalls(t *testing.T) {
	f := newFake(t)
	acct := `{"id":"01A","username":"alice","acct":"alice","url":"https://x/@alice","display_name":"Alice","created_at":"2024-05-01T10:00:00.000Z"}`
	f.json("GET /api/v1/accounts/verify_credentials", 200, acct)
	f.json("GET /api/v1/accounts/lookup", 200, acct)
	f.json("POST /api/v1/accounts/{id}/follow", 200, `{"id":"01B","following":true,"requested":false}`)
	f.json("GET /api/v1/lists", 200, `[{"id":"L1","title":"group"}]`)
	f.json("POST /api/v1/lists", 200, `{"id":"L2","title":"new"}`)
	f.json("POST /api/v1/statuses", 200, `{"id":"S1","visibility":"unlisted","content":"<p>hi</p>","account":`+acct+`}`)
	ctx := context.Background()
	c := f.client()

	a, err := c.VerifyCredentials(ctx)
	if err != nil || a.ID != "01A" || a.Username != "alice" || a.DisplayName != "Alice" || a.CreatedAt.Year() != 2024 {
		t.Fatalf("VerifyCredentials = %+v, %v", a, err)
	}
	if r := f.last(); r.Auth != "Bearer "+tok || r.UA != DefaultUserAgent {
		t.Errorf("auth %q ua %q", r.Auth, r.UA)
	}

	if _, err := c.Lookup(ctx, "@alice"); err != nil {
		t.Fatal(err)
	}
	if r := f.last(); r.Query != "acct=alice" {
		t.Errorf("lookup query %q", r.Query)
	}

	rel, err := c.Follow(ctx, "01B")
	if err != nil || !rel.Following || rel.ID != "01B" {
		t.Fatalf("Follow = %+v, %v", rel, err)
	}
	if r := f.last(); r.Method != "POST" || r.Path != "/api/v1/accounts/01B/follow" {
		t.Errorf("follow %s %s", r.Method, r.Path)
	}

	ls, err := c.Lists(ctx)
	if err != nil || len(ls) != 1 || ls[0] != (List{ID: "L1", Title: "group"}) {
		t.Fatalf("Lists = %+v, %v", ls, err)
	}
	l, err := c.CreateList(ctx, "new")
	if err != nil || l.ID != "L2" {
		t.Fatalf("CreateList = %+v, %v", l, err)
	}
	if r := f.last(); r.Form.Get("title") != "new" {
		t.Errorf("create list form %v", r.Form)
	}

	s, err := c.PostStatus(ctx, "hi", Unlisted)
	if err != nil || s.ID != "S1" || s.Account.ID != "01A" {
		t.Fatalf("PostStatus = %+v, %v", s, err)
	}
	if r := f.last(); r.Form.Get("status") != "hi" || r.Form.Get("visibility") != "unlisted" {
		t.Errorf("post form %v", r.Form)
	}
}

func TestErrorDecoding(t *testing.T) {
	f := newFake(t)
	f.json("POST /api/v1/accounts", 422, `{"error":"Validation failed: Username has already been taken","details":{"username":[{"error":"ERR_TAKEN","description":"has already been taken"}],"email":[{"error":"ERR_BLOCKED","description":"is blocked"}]}}`)
	f.json("GET /api/v1/accounts/lookup", 404, `{"error":"Record not found"}`)
	f.json("POST /api/v1/accounts/{id}/follow", 403, `{"error":"Your login is currently pending approval"}`)
	ctx := context.Background()
	c := f.client()

	_, err := c.SignUp(ctx, SignUp{Username: "alice", Email: "a@x", Password: "pw", Agreement: true, Reason: "group"})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("SignUp error %T %v", err, err)
	}
	if e.Status != 422 || e.Code != "ERR_BLOCKED" && e.Code != "ERR_TAKEN" || len(e.Details["username"]) != 1 ||
		e.Details["username"][0].Error != "ERR_TAKEN" || e.Method != "POST" || e.Path != "/api/v1/accounts" {
		t.Fatalf("error = %#v", e)
	}
	if e.Code != "ERR_BLOCKED" { // first field in sorted order: email
		t.Errorf("Code = %q", e.Code)
	}
	if !IsTaken(err) || !IsStatus(err, 422) || IsStatus(err, 404) {
		t.Error("IsTaken/IsStatus wrong")
	}
	if strings.Contains(err.Error(), tok) {
		t.Error("token in error")
	}
	r := f.last()
	want := url.Values{"username": {"alice"}, "email": {"a@x"}, "password": {"pw"}, "agreement": {"true"}, "locale": {"en"}, "reason": {"group"}}
	if fmt.Sprint(r.Form) != fmt.Sprint(want) || r.Auth != "Bearer "+tok {
		t.Errorf("sign-up form %v auth %q", r.Form, r.Auth)
	}

	// Errors through go-mastodon carry the full answer too.
	_, err = c.Lookup(ctx, "nobody")
	if !IsStatus(err, 404) || !errors.As(err, &e) || e.Message != "Record not found" || e.Path != "/api/v1/accounts/lookup" {
		t.Fatalf("Lookup error %#v", err)
	}
	_, err = c.Follow(ctx, "X")
	if !IsStatus(err, 403) || !strings.Contains(err.Error(), "pending approval") {
		t.Fatalf("Follow error %v", err)
	}

	// GoToSocial answers a taken username with 409.
	g := newFake(t)
	g.json("POST /api/v1/accounts", 409, `{"error":"Conflict: username alice is not available"}`)
	_, err = g.client().SignUp(ctx, SignUp{Username: "alice"})
	if !IsTaken(err) {
		t.Fatalf("GoToSocial 409 not taken: %v", err)
	}
}

func TestSignUpToken(t *testing.T) {
	f := newFake(t)
	f.json("POST /api/v1/accounts", 200, `{"access_token":"newtok","token_type":"Bearer","scope":"read write"}`)
	got, err := f.client().SignUp(context.Background(), SignUp{Username: "bob", Email: "b@x", Password: "pw", Agreement: true, Locale: "de"})
	if err != nil || got != "newtok" {
		t.Fatalf("SignUp = %q, %v", got, err)
	}
	if f.last().Form.Get("locale") != "de" || f.last().Form.Has("reason") {
		t.Errorf("form %v", f.last().Form)
	}
}

func TestPaging(t *testing.T) {
	f := newFake(t)
	// The Link header names the server's public host, not the loopback
	// address the client uses: only path and query may be followed.
	f.handle("GET /api/v1/accounts/{id}/following", func(w http.ResponseWriter, r *http.Request) {
		page := r.URL.Query().Get("max_id")
		next := map[string]string{"": "3", "3": "5", "5": ""}[page]
		if next != "" {
			w.Header().Set("Link", fmt.Sprintf(`<https://social.example/api/v1/accounts/X/following?limit=2&max_id=%s>; rel="next", <https://social.example/api/v1/accounts/X/following?min_id=9>; rel="prev"`, next))
		}
		ids := map[string]string{"": `[{"id":"1"},{"id":"2"}]`, "3": `[{"id":"3"},{"id":"4"}]`, "5": `[{"id":"5"}]`}[page]
		io.WriteString(w, ids)
	})
	as, err := f.client().Following(context.Background(), "X")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range as {
		got = append(got, a.ID)
	}
	if strings.Join(got, ",") != "1,2,3,4,5" {
		t.Fatalf("ids %v", got)
	}
	reqs := f.all()
	if len(reqs) != 3 || reqs[0].Query != "limit=80" || reqs[2].Query != "limit=2&max_id=5" || reqs[2].Auth != "Bearer "+tok {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestAddToListIdempotent(t *testing.T) {
	f := newFake(t)
	var mu sync.Mutex
	members := map[string]bool{"A": true}
	f.handle("POST /api/v1/lists/{id}/accounts", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		defer mu.Unlock()
		ids := r.PostForm["account_ids[]"]
		for _, id := range ids {
			if members[id] {
				w.WriteHeader(422)
				fmt.Fprintf(w, `{"error":"Unprocessable Entity: account %s is already in list"}`, id)
				return
			}
		}
		for _, id := range ids {
			members[id] = true
		}
		io.WriteString(w, `{}`)
	})
	f.handle("GET /api/v1/lists/{id}/accounts", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var out []map[string]string
		for id := range members {
			out = append(out, map[string]string{"id": id})
		}
		json.NewEncoder(w).Encode(out)
	})
	c := f.client()
	if err := c.AddToList(context.Background(), "L", []string{"A", "B", "C"}); err != nil {
		t.Fatal(err)
	}
	if !members["B"] || !members["C"] {
		t.Fatalf("members %v", members)
	}
	if err := c.AddToList(context.Background(), "L", []string{"B"}); err != nil {
		t.Fatalf("re-adding: %v", err)
	}
	if r := f.all()[0]; r.Path != "/api/v1/lists/L/accounts" || strings.Join(r.Form["account_ids[]"], ",") != "A,B,C" {
		t.Errorf("first request %+v", r)
	}
}

func TestListAccountsAndStatuses(t *testing.T) {
	f := newFake(t)
	f.json("GET /api/v1/lists/{id}/accounts", 200, `[{"id":"1","acct":"a"}]`)
	f.json("GET /api/v1/accounts/{id}/statuses", 200, `[{"id":"S","visibility":"public"}]`)
	f.json("GET /api/v1/accounts/{id}/followers", 200, `[{"id":"F"}]`)
	c := f.client()
	ctx := context.Background()
	if as, err := c.ListAccounts(ctx, "L"); err != nil || len(as) != 1 || as[0].Acct != "a" {
		t.Fatalf("ListAccounts %v %v", as, err)
	}
	if ss, err := c.AccountStatuses(ctx, "X"); err != nil || len(ss) != 1 || ss[0].Visibility != "public" {
		t.Fatalf("AccountStatuses %v %v", ss, err)
	}
	if as, err := c.Followers(ctx, "X"); err != nil || len(as) != 1 || as[0].ID != "F" {
		t.Fatalf("Followers %v %v", as, err)
	}
}

func TestImportFollows(t *testing.T) {
	f := newFake(t)
	var got struct{ typ, mode, data, name string }
	f.handle("POST /api/v1/import", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			t.Error(err)
		}
		got.typ, got.mode = r.FormValue("type"), r.FormValue("mode")
		file, hdr, err := r.FormFile("data")
		if err != nil {
			t.Error(err)
		} else {
			b, _ := io.ReadAll(file)
			got.data, got.name = string(b), hdr.Filename
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"accepted"}`)
	})
	csv := "Account address,Show boosts,Notify on new posts,Languages\nalice@x,true,false,\n"
	if err := f.client().ImportFollows(context.Background(), []byte(csv), true); err != nil {
		t.Fatal(err)
	}
	if got.typ != "following" || got.mode != "overwrite" || got.data != csv || got.name == "" {
		t.Fatalf("import %+v", got)
	}
	if f.last().Auth != "Bearer "+tok {
		t.Error("no token")
	}
}

func TestAdmin(t *testing.T) {
	f := newFake(t)
	pending := `[{"id":"P1","username":"carol","domain":null,"email":"c@x","invite_request":"with the group","approved":false,"confirmed":false,"created_at":"2025-01-02T03:04:05.000Z","account":{"id":"P1","username":"carol"}}]`
	f.json("GET /api/v2/admin/accounts", 200, pending)
	f.json("GET /api/v1/admin/accounts/{id}", 200, `{"id":"P1","username":"carol","email":"c@x","approved":true,"confirmed":true,"created_at":"2025-01-02T03:04:05.000Z"}`)
	f.json("POST /api/v1/admin/accounts/{id}/approve", 200, `{"id":"P1","username":"carol","approved":true}`)
	f.json("POST /api/v1/admin/accounts/{id}/reject", 403, `{"error":"Forbidden: account not pending"}`)
	ctx := context.Background()
	c := f.client()
	as, err := c.PendingAccounts(ctx)
	if err != nil || len(as) != 1 {
		t.Fatalf("PendingAccounts %v %v", as, err)
	}
	a := as[0]
	if a.ID != "P1" || a.Email != "c@x" || a.InviteRequest != "with the group" || a.Approved || a.CreatedAt.Year() != 2025 || a.Account == nil {
		t.Fatalf("pending %+v", a)
	}
	q, _ := url.ParseQuery(f.last().Query)
	if q.Get("status") != "pending" || q.Get("origin") != "local" {
		t.Errorf("query %v", q)
	}
	if _, err := c.AdminAccounts(ctx, url.Values{"username": {"carol"}}); err != nil || f.last().Query != "username=carol" {
		t.Fatalf("AdminAccounts %v %q", err, f.last().Query)
	}
	if a, err := c.AdminAccount(ctx, "P1"); err != nil || !a.Approved || !a.Confirmed {
		t.Fatalf("AdminAccount %+v %v", a, err)
	}
	if err := c.Approve(ctx, "P1"); err != nil || f.last().Path != "/api/v1/admin/accounts/P1/approve" {
		t.Fatalf("Approve %v", err)
	}
	if err := c.Reject(ctx, "P1"); !IsStatus(err, 403) {
		t.Fatalf("Reject %v", err)
	}

	// A server without v2 gets the v1 query.
	g := newFake(t)
	g.json("GET /api/v2/admin/accounts", 404, `{"error":"Not Found"}`)
	g.json("GET /api/v1/admin/accounts", 200, pending)
	as, err = g.client().PendingAccounts(ctx)
	if err != nil || len(as) != 1 {
		t.Fatalf("v1 fallback %v %v", as, err)
	}
	q, _ = url.ParseQuery(g.last().Query)
	if g.last().Path != "/api/v1/admin/accounts" || q.Get("pending") != "true" || q.Get("local") != "true" {
		t.Errorf("v1 request %+v", g.last())
	}
}

func TestInstance(t *testing.T) {
	f := newFake(t)
	f.json("GET /api/v2/instance", 200, `{"domain":"social.example","version":"0.17.3","usage":{"users":{"active_month":7}},"registrations":{"enabled":true,"approval_required":true,"message":null},"contact":{"email":"admin@social.example"},"rules":[{"id":"1","text":"Be kind"}]}`)
	f.json("GET /api/v1/instance/rules", 200, `[{"id":"1","text":"Be kind"}]`)
	f.json("GET /.well-known/nodeinfo", 200, `{"links":[{"rel":"http://nodeinfo.diaspora.software/ns/schema/2.0","href":"https://social.example/nodeinfo/2.0"}]}`)
	f.json("GET /nodeinfo/2.0", 200, `{"version":"2.0","software":{"name":"gotosocial","version":"0.17.3"},"openRegistrations":true,"usage":{"users":{"total":12,"activeMonth":7}}}`)
	f.json("GET /api/v1/instance/domain_blocks", 404, `{"error":"Not Found"}`)
	f.json("GET /api/v1/instance/peers", 200, `[{"domain":"bad.example","suspended_at":"2024-01-01T00:00:00Z","public_comment":"spam"}]`)
	ctx := context.Background()
	c := New(f.srv.URL)
	in, err := c.InstanceV2(ctx)
	if err != nil || in.Domain != "social.example" || !in.Registrations.ApprovalRequired || in.Usage.Users.ActiveMonth != 7 || len(in.Rules) != 1 {
		t.Fatalf("InstanceV2 %+v %v", in, err)
	}
	if r := f.last(); r.Auth != "" {
		t.Errorf("unauthenticated call sent %q", r.Auth)
	}
	if rs, err := c.Rules(ctx); err != nil || len(rs) != 1 || rs[0].Text != "Be kind" {
		t.Fatalf("Rules %v %v", rs, err)
	}
	ni, err := c.NodeInfo(ctx)
	if err != nil || ni.Software.Name != "gotosocial" || ni.Usage.Users.Total != 12 || !ni.OpenRegistrations {
		t.Fatalf("NodeInfo %+v %v", ni, err)
	}
	bs, err := c.DomainBlocks(ctx)
	if err != nil || len(bs) != 1 || bs[0].Domain != "bad.example" || bs[0].Severity != "suspend" || bs[0].Comment != "spam" {
		t.Fatalf("DomainBlocks %+v %v", bs, err)
	}
	if f.last().Query != "filter=suspended" {
		t.Errorf("peers query %q", f.last().Query)
	}
}

func TestOAuth(t *testing.T) {
	f := newFake(t)
	f.json("POST /api/v1/apps", 200, `{"id":"1","client_id":"cid","client_secret":"csecret","redirect_uri":"https://lifeboat.example/cb"}`)
	f.json("POST /oauth/token", 200, `{"access_token":"apptok","token_type":"Bearer"}`)
	ctx := context.Background()
	c := New(f.srv.URL)
	app, err := c.RegisterApp(ctx, "Lifeboat", "https://lifeboat.example/cb", []string{"read", "write:accounts"})
	if err != nil || app.ClientID != "cid" || app.ClientSecret != "csecret" || app.RedirectURI != "https://lifeboat.example/cb" {
		t.Fatalf("RegisterApp %+v %v", app, err)
	}
	if r := f.last(); r.Form.Get("scopes") != "read write:accounts" || r.Form.Get("client_name") != "Lifeboat" {
		t.Errorf("apps form %v", r.Form)
	}
	got, err := c.ClientCredentialsToken(ctx, app)
	if err != nil || got != "apptok" {
		t.Fatalf("ClientCredentialsToken %q %v", got, err)
	}
	if r := f.last(); r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("scope") != "read write:accounts" || r.Form.Get("client_secret") != "csecret" || r.Form.Get("redirect_uri") == "" {
		t.Errorf("token form %v", r.Form)
	}
	if _, err := c.ExchangeCode(ctx, app, "thecode"); err != nil {
		t.Fatal(err)
	}
	if r := f.last(); r.Form.Get("grant_type") != "authorization_code" || r.Form.Get("code") != "thecode" {
		t.Errorf("exchange form %v", r.Form)
	}
	au, _ := url.Parse(c.AuthorizeURL(app, "st"))
	if au.Path != "/oauth/authorize" || au.Query().Get("client_id") != "cid" || au.Query().Get("response_type") != "code" ||
		au.Query().Get("scope") != "read write:accounts" || au.Query().Get("state") != "st" {
		t.Errorf("AuthorizeURL %s", au)
	}

	g := newFake(t)
	g.json("POST /oauth/token", 401, `{"error":"invalid_client","error_description":"client authentication failed"}`)
	_, err = New(g.srv.URL).ClientCredentialsToken(ctx, app)
	if !IsStatus(err, 401) || !strings.Contains(err.Error(), "client authentication failed") || strings.Contains(err.Error(), "csecret") {
		t.Fatalf("token error %v", err)
	}
}

// TestSignInAndAuthorize fakes GoToSocial's session-cookie form flow.
func TestSignInAndAuthorize(t *testing.T) {
	f := newFake(t)
	const cookie = "gts-session"
	session := map[string]string{}
	var mu sync.Mutex
	sess := func(r *http.Request) map[string]string {
		mu.Lock()
		defer mu.Unlock()
		c, err := r.Cookie(cookie)
		if err != nil || c.Value != "S1" {
			return nil
		}
		return session
	}
	f.handle("GET /oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept"), "text/html") {
			w.WriteHeader(406)
			return
		}
		mu.Lock()
		session["client_id"] = r.URL.Query().Get("client_id")
		session["redirect_uri"] = r.URL.Query().Get("redirect_uri")
		session["state"] = r.URL.Query().Get("state")
		mu.Unlock()
		// Like GoToSocial: scoped to the configured host, Secure under
		// protocol https, although the client reaches it over loopback HTTP.
		http.SetCookie(w, &http.Cookie{Name: cookie, Value: "S1", Path: "/", Domain: "social.example", Secure: true, HttpOnly: true, MaxAge: 120})
		http.Redirect(w, r, "/auth/sign_in", http.StatusSeeOther)
	})
	f.handle("POST /auth/sign_in", func(w http.ResponseWriter, r *http.Request) {
		s := sess(r)
		if s == nil || r.PostFormValue("username") != "admin@x" || r.PostFormValue("password") != "pw" {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, "<html>nope</html>")
			return
		}
		mu.Lock()
		s["user"] = "U1"
		mu.Unlock()
		http.Redirect(w, r, "/oauth/authorize", http.StatusFound)
	})
	f.handle("POST /oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		s := sess(r)
		if s == nil || s["user"] == "" {
			w.WriteHeader(400)
			return
		}
		http.Redirect(w, r, s["redirect_uri"]+"?code=C0DE&state="+s["state"], http.StatusFound)
	})
	f.handle("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("code") != "C0DE" || r.PostFormValue("client_id") != "cid" {
			w.WriteHeader(400)
			return
		}
		io.WriteString(w, `{"access_token":"usertok"}`)
	})
	app := App{ClientID: "cid", ClientSecret: "cs", RedirectURI: "https://lifeboat.example/cb", Scopes: []string{"read", "write"}}
	c := New(f.srv.URL)
	got, err := c.SignInAndAuthorize(context.Background(), app, "admin@x", "pw")
	if err != nil || got != "usertok" {
		t.Fatalf("SignInAndAuthorize %q %v", got, err)
	}
	_, err = c.SignInAndAuthorize(context.Background(), app, "admin@x", "wrong")
	if !IsStatus(err, 403) || !errors.Is(err, ErrSignInRefused) || !strings.Contains(err.Error(), "email or password refused") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("bad password: %v", err)
	}

	// Unapproved accounts are sent to the waiting page.
	g := newFake(t)
	g.handle("GET /oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/auth/sign_in", http.StatusSeeOther)
	})
	g.handle("POST /auth/sign_in", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/oauth/authorize", http.StatusFound)
	})
	g.handle("POST /oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/auth/wait_for_approval", http.StatusSeeOther)
	})
	if _, err := New(g.srv.URL).SignInAndAuthorize(context.Background(), app, "a", "b"); !errors.Is(err, ErrPendingApproval) {
		t.Fatalf("pending: %v", err)
	}
}

func TestNewBaseURL(t *testing.T) {
	c := New("social.example/")
	if c.BaseURL() != "https://social.example" {
		t.Fatal(c.BaseURL())
	}
	if s := fmt.Sprint(c.WithToken(tok)); strings.Contains(s, tok) {
		t.Fatal("token printed")
	}
}

// TestRelationshipsInBatches: many ids are asked 40 at a time, and every
// answer comes back in order.
func TestRelationshipsInBatches(t *testing.T) {
	f := newFake(t)
	var sizes []int
	f.handle("/api/v1/accounts/relationships", func(w http.ResponseWriter, r *http.Request) {
		ids := r.URL.Query()["id[]"]
		sizes = append(sizes, len(ids))
		var rs []Relationship
		for _, id := range ids {
			rs = append(rs, Relationship{ID: id, Following: id != "7"})
		}
		json.NewEncoder(w).Encode(rs)
	})
	var ids []string
	for i := 0; i < 85; i++ {
		ids = append(ids, fmt.Sprint(i))
	}
	rs, err := f.client().Relationships(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sizes) != "[40 40 5]" || len(rs) != 85 || rs[84].ID != "84" || rs[7].Following || !rs[8].Following {
		t.Fatalf("batches %v, %d answers", sizes, len(rs))
	}
}
