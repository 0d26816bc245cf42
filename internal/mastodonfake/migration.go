package mastodonfake

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Account migration, as Mastodon does it: only in the web settings, no
// REST API (config/routes/api.rb has none).
//
//   - /settings/aliases (Settings::AliasesController, AccountAlias): the
//     new account names the old one; the address is resolved
//     (ResolveAccountService) and its ActivityPub id added to the
//     account's alsoKnownAs.
//   - /settings/migration (Settings::MigrationsController,
//     AccountMigration, MoveService): the old account moves to the new
//     one, given the current password; the target must name this account
//     in its alsoKnownAs, and an account moves at most once in 30 days
//     (COOLDOWN_PERIOD). The account then redirects (moved_to_account,
//     "moved" in the REST API), its local followers unfollow it and
//     follow the target (MoveWorker, UnfollowFollowWorker), and its
//     user is no longer functional: API calls that need a user answer
//     403 (User#functional?, Api::BaseController#require_user!).
//
// Remote accounts are resolved as ResolveAccountService does, by
// WebFinger at the address's domain and then the actor document, over
// the scheme of the fake's own URL (http on loopback, where Mastodon
// uses https). No activity is delivered: a follow of a remote account is
// kept as asked (RemoteFollows), and the Move is not sent to the
// followers' servers.

// cooldown is AccountMigration::COOLDOWN_PERIOD.
const cooldown = 30 * 24 * time.Hour

// remoteAccount is an account of another server, as resolved.
type remoteAccount struct {
	id, username, domain, uri, url string
	alsoKnownAs                    []string
}

func (r *remoteAccount) acct() string { return r.username + "@" + r.domain }

// migrationRoutes adds the settings pages and the actor documents.
func (s *Server) migrationRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /users/{name}", s.actor)
	m.HandleFunc("GET /settings/aliases", s.settingsPage(s.aliasesForm))
	m.HandleFunc("POST /settings/aliases", s.formPost(s.signedIn(s.aliasesPost)))
	m.HandleFunc("GET /settings/migration", s.settingsPage(s.migrationForm))
	m.HandleFunc("POST /settings/migration", s.formPost(s.signedIn(s.migrationPost)))
	// Rails answers a route it does not have (*unmatched_route) with 404,
	// whatever the method: POST /api/v1/accounts/alias or /move included.
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { apiError(w, http.StatusNotFound, "Not Found") })
}

// actor is the account's ActivityPub document (ActivityPub::
// ActorSerializer), the part that migration reads.
func (s *Server) actor(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byUsername(r.PathValue("name"))
	if !visible(a) {
		http.NotFound(w, r)
		return
	}
	doc := map[string]any{
		"@context": []string{"https://www.w3.org/ns/activitystreams"},
		"id":       s.uri(a), "type": "Person", "preferredUsername": a.username,
		"url": s.URL + "/@" + a.username, "inbox": s.uri(a) + "/inbox",
		"alsoKnownAs": a.aliases,
	}
	if a.movedTo != nil {
		doc["movedTo"] = a.movedTo.uri
	}
	w.Header().Set("Content-Type", "application/activity+json")
	json.NewEncoder(w).Encode(doc)
}

func (s *Server) uri(a *account) string { return s.URL + "/users/" + a.username }

// settingsPage serves a settings page to a signed-in browser; others go
// to the sign-in form and come back.
func (s *Server) settingsPage(form func(w http.ResponseWriter, se *session, me *account, status int, alert string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if se, me := s.signedInOrAway(w, r); me != nil {
			form(w, se, me, http.StatusOK, "")
		}
	}
}

// signedInOrAway returns the browser's session and its account; a
// browser not signed in is sent to the sign-in form (nil account), to
// come back here after.
func (s *Server) signedInOrAway(w http.ResponseWriter, r *http.Request) (*session, *account) {
	se := s.session(w, r)
	me := s.accounts[se.accountID]
	if me == nil {
		se.returnTo = r.URL.RequestURI()
		http.Redirect(w, r, "/auth/sign_in", http.StatusFound)
	}
	return se, me
}

func (s *Server) signedIn(fn func(w http.ResponseWriter, r *http.Request, se *session, me *account)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, se *session) {
		me := s.accounts[se.accountID]
		if me == nil {
			http.Redirect(w, r, "/auth/sign_in", http.StatusFound)
			return
		}
		fn(w, r, se, me)
	}
}

func (s *Server) aliasesForm(w http.ResponseWriter, se *session, me *account, status int, alert string) {
	var b strings.Builder
	if alert != "" {
		b.WriteString(`<p class="error" role="alert">` + htmlEscape(alert) + `</p>`)
	}
	b.WriteString(`<form method="post" action="/settings/aliases">` + hidden("authenticity_token", se.csrf) +
		`<label>Handle of the old account <input name="account_alias[acct]"></label>` +
		`<button type="submit">Create alias</button></form><ul id="aliases">`)
	for _, u := range me.aliases {
		b.WriteString("<li>" + htmlEscape(u) + "</li>")
	}
	b.WriteString("</ul>")
	page(w, status, "Account aliases", b.String())
}

// aliasesPost creates an alias (AccountAlias): the address must resolve,
// to an account other than this one, not already an alias.
func (s *Server) aliasesPost(w http.ResponseWriter, r *http.Request, se *session, me *account) {
	target, err := s.resolve(r.PostFormValue("account_alias[acct]"))
	switch {
	case err != nil:
		s.aliasesForm(w, se, me, http.StatusOK, "Handle of the old account could not be found")
		return
	case target.uri == s.uri(me):
		s.aliasesForm(w, se, me, http.StatusOK, "Handle of the old account cannot be current account")
		return
	case slices.Contains(me.aliases, target.uri):
		s.aliasesForm(w, se, me, http.StatusOK, "Uri has already been taken")
		return
	}
	me.aliases = append(me.aliases, target.uri)
	http.Redirect(w, r, "/settings/aliases", http.StatusFound)
}

func (s *Server) migrationForm(w http.ResponseWriter, se *session, me *account, status int, alert string) {
	var b strings.Builder
	if me.movedTo != nil {
		b.WriteString(`<p id="redirecting">Your account is redirecting to ` + htmlEscape(me.movedTo.acct()) + `.</p>`)
	}
	if alert != "" {
		b.WriteString(`<p class="error" role="alert">` + htmlEscape(alert) + `</p>`)
	}
	b.WriteString(`<form method="post" action="/settings/migration">` + hidden("authenticity_token", se.csrf) +
		`<label>Handle of the new account <input name="account_migration[acct]"></label>` +
		`<label>Current password <input type="password" name="account_migration[current_password]"></label>` +
		`<button type="submit">Move followers</button></form>`)
	page(w, status, "Account migration", b.String())
}

// migrationPost is AccountMigration#save_with_challenge and MoveService.
func (s *Server) migrationPost(w http.ResponseWriter, r *http.Request, se *session, me *account) {
	if me.password != r.PostFormValue("account_migration[current_password]") {
		s.migrationForm(w, se, me, http.StatusOK, "Current password is invalid")
		return
	}
	now := s.now()
	for _, at := range me.migrations {
		if now.Sub(at) < cooldown {
			s.migrationForm(w, se, me, http.StatusOK, "You are on cooldown")
			return
		}
	}
	target, err := s.resolve(r.PostFormValue("account_migration[acct]"))
	switch {
	case err != nil:
		s.migrationForm(w, se, me, http.StatusOK, "Handle of the new account could not be found")
		return
	case !slices.Contains(target.alsoKnownAs, s.uri(me)):
		s.migrationForm(w, se, me, http.StatusOK, "Handle of the new account is not an alias of this account")
		return
	case me.movedTo != nil && me.movedTo.uri == target.uri:
		s.migrationForm(w, se, me, http.StatusOK, "Handle of the new account is the same account you've already moved to")
		return
	case target.uri == s.uri(me):
		s.migrationForm(w, se, me, http.StatusOK, "Handle of the new account cannot be current account")
		return
	}
	me.migrations = append(me.migrations, now)
	me.movedTo = target
	// MoveWorker: the target is remote, so each local follower unfollows
	// the old account and asks to follow the new one.
	for k := range s.follows {
		if k[1] == me.id {
			delete(s.follows, k)
			s.remoteFollows = append(s.remoteFollows, [2]string{k[0], target.uri})
		}
	}
	http.Redirect(w, r, "/settings/migration", http.StatusFound)
}

// resolve finds the account at acct (user@domain, a leading @ allowed):
// a local one, or a remote one through WebFinger and its actor document,
// refreshed each time as ResolveAccountService does for a stale account.
func (s *Server) resolve(acct string) (*remoteAccount, error) {
	acct = strings.TrimPrefix(strings.TrimSpace(acct), "@")
	user, domain, ok := strings.Cut(acct, "@")
	if !ok || user == "" || domain == "" || strings.ContainsAny(domain, "/?#@") {
		return nil, fmt.Errorf("not an address: %q", acct)
	}
	if strings.EqualFold(domain, s.cfg.Domain) {
		a := s.byUsername(user)
		if !visible(a) {
			return nil, fmt.Errorf("no account %s", user)
		}
		return &remoteAccount{id: a.id, username: a.username, domain: s.cfg.Domain, uri: s.uri(a),
			url: s.URL + "/@" + a.username, alsoKnownAs: a.aliases}, nil
	}
	scheme, _, _ := strings.Cut(s.URL, "://")
	var jrd struct {
		Links []struct{ Rel, Type, Href string } `json:"links"`
	}
	if err := fetchJSON(scheme+"://"+domain+"/.well-known/webfinger?resource="+url.QueryEscape("acct:"+user+"@"+domain),
		"application/jrd+json", &jrd); err != nil {
		return nil, err
	}
	self := ""
	for _, l := range jrd.Links {
		if l.Rel == "self" && strings.Contains(l.Type, "activity+json") {
			self = l.Href
		}
	}
	if self == "" {
		return nil, fmt.Errorf("webfinger %s names no actor", acct)
	}
	var doc struct {
		ID                string   `json:"id"`
		PreferredUsername string   `json:"preferredUsername"`
		URL               string   `json:"url"`
		AlsoKnownAs       []string `json:"alsoKnownAs"`
	}
	if err := fetchJSON(self, "application/activity+json", &doc); err != nil {
		return nil, err
	}
	if doc.ID != self {
		return nil, fmt.Errorf("actor %s names itself %s", self, doc.ID)
	}
	ra := s.remotes[doc.ID]
	if ra == nil {
		ra = &remoteAccount{id: s.nextID()}
		s.remotes[doc.ID] = ra
	}
	ra.username, ra.domain, ra.uri, ra.url, ra.alsoKnownAs = doc.PreferredUsername, domain, doc.ID, doc.URL, doc.AlsoKnownAs
	return ra, nil
}

func fetchJSON(u, accept string, out any) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", accept)
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

// remoteJSON is a remote account in the REST API (REST::AccountSerializer).
func (s *Server) remoteJSON(r *remoteAccount) map[string]any {
	return map[string]any{"id": r.id, "username": r.username, "acct": r.acct(), "url": r.url, "uri": r.uri,
		"display_name": "", "locked": false, "bot": false, "note": "", "emojis": []any{}, "fields": []any{}}
}

// RemoteFollows returns the local accounts (usernames) that asked to
// follow the remote account with ActivityPub id uri: after a move, the
// old account's followers. No server delivers these follows here.
func (s *Server) RemoteFollows(uri string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, f := range s.remoteFollows {
		if f[1] == uri {
			out = append(out, s.accounts[f[0]].username)
		}
	}
	slices.Sort(out)
	return out
}

// Follow makes the local account follower follow the local account
// followee, as the follower would from their app.
func (s *Server) Follow(follower, followee string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, b := s.byUsername(follower), s.byUsername(followee)
	if a == nil || b == nil {
		return fmt.Errorf("no account %s or %s", follower, followee)
	}
	s.follows[[2]string{a.id, b.id}] = s.now()
	return nil
}

// Settings opens a settings page (signing in with email and password
// when the server asks) and submits its form with fields, as the member
// does when a guide sends them there. The answer is the page the server
// shows after: the form again, with an alert when it refused.
func (b *Browser) Settings(ctx context.Context, pageURL, email, password string, fields url.Values) (Page, error) {
	p, err := b.Get(ctx, pageURL)
	if err != nil {
		return p, err
	}
	if strings.HasSuffix(p.URL.Path, "/auth/sign_in") {
		if p, err = b.post(ctx, p, "/auth/sign_in", url.Values{"user[email]": {email}, "user[password]": {password}}); err != nil {
			return p, err
		}
		if p.Status == http.StatusUnauthorized {
			return p, ErrSignInRefused
		}
	}
	target, _ := url.Parse(pageURL)
	return b.post(ctx, p, target.Path, fields)
}

// Alert is the alert a page shows, if any.
func (p Page) Alert() string {
	m := alertRE.FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

var alertRE = regexp.MustCompile(`role="alert">([^<]*)<`)
