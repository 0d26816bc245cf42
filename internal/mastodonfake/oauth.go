package mastodonfake

import (
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// OOB is the redirect URI of apps that show the code instead.
const OOB = "urn:ietf:wg:oauth:2.0:oob"

func htmlEscape(s string) string { return html.EscapeString(s) }

// createApp is POST /api/v1/apps (Doorkeeper application; redirect_uris
// as a string of lines or, since 4.3, an array).
func (s *Server) createApp(c *call) {
	name := strings.TrimSpace(c.p.Get("client_name"))
	uris := arrayParam(c.p, "redirect_uris")
	if len(uris) == 1 {
		uris = strings.Fields(uris[0])
	}
	scopes := strings.Fields(c.p.Get("scopes"))
	if len(scopes) == 0 {
		scopes = []string{"read"}
	}
	if name == "" || len(uris) == 0 {
		writeJSON(c.w, http.StatusUnprocessableEntity, map[string]string{"error": "Validation failed: Application name can't be blank, Redirect URI can't be blank"})
		return
	}
	for _, u := range uris {
		if p, err := url.Parse(u); u != OOB && (err != nil || p.Scheme == "" || p.Fragment != "") {
			writeJSON(c.w, http.StatusUnprocessableEntity, map[string]string{"error": "Validation failed: Redirect URI must be an absolute URI."})
			return
		}
	}
	a := &app{id: s.nextID(), name: name, clientID: secret()[:43], secret: secret(), website: c.p.Get("website"),
		redirectURIs: uris, scopes: scopes}
	s.apps[a.clientID] = a
	writeJSON(c.w, 200, map[string]any{"id": a.id, "name": a.name, "website": a.website, "scopes": a.scopes,
		"redirect_uri": strings.Join(uris, "\n"), "redirect_uris": uris, "client_id": a.clientID,
		"client_secret": a.secret, "client_secret_expires_at": 0, "vapid_key": "BExampleVapidKey="})
}

// MintToken makes a user token for the account with id, as a Rails
// console (Doorkeeper::AccessToken.create!) does on a server one runs.
func (s *Server) MintToken(id string, scopes ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &token{id: s.nextID(), accountID: id, scopes: scopes, createdAt: s.now()}
	v := secret()
	s.tokens[v] = t
	return v
}

func (s *Server) issue(w http.ResponseWriter, a *app, accountID string, scopes []string) {
	t := &token{id: s.nextID(), app: a, accountID: accountID, scopes: scopes, createdAt: s.now()}
	v := secret()
	s.tokens[v] = t
	writeJSON(w, 200, map[string]any{"access_token": v, "token_type": "Bearer", "scope": strings.Join(scopes, " "),
		"created_at": t.createdAt.Unix()})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// scopesOK reports whether want (space separated; empty means the
// default, read) is within the app's scopes, and returns them.
func scopesOK(a *app, want string) ([]string, bool) {
	ws := strings.Fields(want)
	if len(ws) == 0 {
		ws = []string{"read"}
	}
	for _, w := range ws {
		if !slices.Contains(a.scopes, w) {
			return nil, false
		}
	}
	return ws, true
}

// oauthToken is POST /oauth/token: the authorization-code and
// client-credentials grants (Doorkeeper's answers).
func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := params(r)
	id, sec := p.Get("client_id"), p.Get("client_secret")
	if u, pw, ok := r.BasicAuth(); ok {
		id, sec = u, pw
	}
	a := s.apps[id]
	if a == nil || a.secret != sec {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.")
		return
	}
	switch p.Get("grant_type") {
	case "client_credentials":
		scopes, ok := scopesOK(a, p.Get("scope"))
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_scope", "The requested scope is invalid, unknown, or malformed.")
			return
		}
		s.issue(w, a, "", scopes)
	case "authorization_code":
		g := s.codes[p.Get("code")]
		if g == nil || g.app != a || g.redirectURI != p.Get("redirect_uri") || s.now().Sub(g.at) > codeTTL {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.")
			return
		}
		delete(s.codes, p.Get("code"))
		s.issue(w, a, g.accountID, g.scopes)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
	}
}

// session returns the browser's session, making one (and its cookie)
// when there is none.
func (s *Server) session(w http.ResponseWriter, r *http.Request) *session {
	if c, err := r.Cookie("_mastodon_session"); err == nil {
		if se := s.sessions[c.Value]; se != nil {
			return se
		}
	}
	v := secret()
	se := &session{csrf: secret()}
	s.sessions[v] = se
	http.SetCookie(w, &http.Cookie{Name: "_mastodon_session", Value: v, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return se
}

// formPost wraps a web form's POST handler: under the server's lock, the
// browser's session, rack-attack's throttles, then Rails' CSRF check,
// answered as Rails answers a bad token.
func (s *Server) formPost(fn func(w http.ResponseWriter, r *http.Request, se *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		se := s.session(w, r)
		if !s.throttle(w, r, nil) {
			return
		}
		if r.PostFormValue("authenticity_token") != se.csrf {
			page(w, http.StatusUnprocessableEntity, "The change you wanted was rejected", "<p>Invalid authenticity token.</p>")
			return
		}
		fn(w, r, se)
	}
}

// page writes a minimal HTML page.
func page(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + htmlEscape(title) +
		" - Mastodon</title></head><body><main><h1>" + htmlEscape(title) + "</h1>" + body + "</main></body></html>"))
}

func hidden(name, value string) string {
	return `<input type="hidden" name="` + htmlEscape(name) + `" value="` + htmlEscape(value) + `">`
}

// authRequest checks the authorize request's app, redirect URI and
// scopes, answering Doorkeeper's error page when they are wrong.
func (s *Server) authRequest(w http.ResponseWriter, q url.Values) (*app, []string, bool) {
	a := s.apps[q.Get("client_id")]
	if a == nil {
		page(w, http.StatusUnauthorized, "An error has occurred", "<p>Client authentication failed due to unknown client.</p>")
		return nil, nil, false
	}
	if !slices.Contains(a.redirectURIs, q.Get("redirect_uri")) {
		page(w, http.StatusBadRequest, "An error has occurred", "<p>The requested redirect uri is malformed or doesn't match client redirect URI.</p>")
		return nil, nil, false
	}
	if q.Get("response_type") != "code" {
		page(w, http.StatusBadRequest, "An error has occurred", "<p>The authorization server does not support this response type.</p>")
		return nil, nil, false
	}
	scopes, ok := scopesOK(a, q.Get("scope"))
	if !ok {
		page(w, http.StatusBadRequest, "An error has occurred", "<p>The requested scope is invalid, unknown, or malformed.</p>")
		return nil, nil, false
	}
	return a, scopes, true
}

// authorizePage is GET /oauth/authorize: the sign-in form first, then
// the page that asks the user to allow the app. A pending account may
// sign in but cannot authorise anything.
func (s *Server) authorizePage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, scopes, ok := s.authRequest(w, r.URL.Query())
	if !ok {
		return
	}
	se, me := s.signedInOrAway(w, r)
	if me == nil {
		return
	}
	if !me.approved {
		page(w, http.StatusForbidden, "Account pending review", "<p id=\"pending\">Your application is pending review by our staff. You will receive an e-mail once it is approved.</p>")
		return
	}
	q := r.URL.Query()
	var b strings.Builder
	b.WriteString("<p>" + htmlEscape(a.name) + " would like permission to access your account @" + htmlEscape(me.username) +
		". It is a third-party application.</p><ul>")
	for _, sc := range scopes {
		b.WriteString("<li>" + htmlEscape(sc) + "</li>")
	}
	b.WriteString(`</ul><form method="post" action="/oauth/authorize">` + hidden("authenticity_token", se.csrf))
	for _, k := range []string{"client_id", "redirect_uri", "state", "response_type", "scope"} {
		b.WriteString(hidden(k, q.Get(k)))
	}
	b.WriteString(`<button type="submit" id="allow">Authorize</button></form>`)
	page(w, http.StatusOK, "Authorization required", b.String())
}

func (s *Server) authorizePost(w http.ResponseWriter, r *http.Request, se *session) {
	a, scopes, ok := s.authRequest(w, r.PostForm)
	if !ok {
		return
	}
	me := s.accounts[se.accountID]
	if me == nil || !me.approved {
		http.Redirect(w, r, "/auth/sign_in", http.StatusFound)
		return
	}
	code := secret()
	uri := r.PostForm.Get("redirect_uri")
	s.codes[code] = &grant{app: a, accountID: me.id, redirectURI: uri, scopes: scopes, at: s.now()}
	if uri == OOB {
		http.Redirect(w, r, "/oauth/authorize/native?code="+code, http.StatusFound)
		return
	}
	u, _ := url.Parse(uri)
	q := u.Query()
	q.Set("code", code)
	if st := r.PostForm.Get("state"); st != "" {
		q.Set("state", st)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (s *Server) nativeCode(w http.ResponseWriter, r *http.Request) {
	page(w, http.StatusOK, "Authorization code", `<p>Copy this authorization code and paste it to the application.</p><input readonly id="code" value="`+htmlEscape(r.URL.Query().Get("code"))+`">`)
}

func (s *Server) signInForm(w http.ResponseWriter, status int, se *session, alert string) {
	body := ""
	if alert != "" {
		body = `<p class="flash-message alert" role="alert">` + htmlEscape(alert) + `</p>`
	}
	body += `<form method="post" action="/auth/sign_in">` + hidden("authenticity_token", se.csrf) +
		`<label>E-mail address <input type="email" name="user[email]" autocomplete="username"></label>` +
		`<label>Password <input type="password" name="user[password]" autocomplete="current-password"></label>` +
		`<button type="submit" id="sign-in">Log in</button></form>`
	page(w, status, "Log in", body)
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signInForm(w, http.StatusOK, s.session(w, r), "")
}

// signInPost is Devise's sign-in: an unconfirmed email is refused
// (confirmable), a pending account may sign in.
func (s *Server) signInPost(w http.ResponseWriter, r *http.Request, se *session) {
	a := s.byEmail(r.PostFormValue("user[email]"))
	switch {
	case a == nil || a.password != r.PostFormValue("user[password]"):
		s.signInForm(w, http.StatusUnauthorized, se, "Invalid E-mail address or password.")
		return
	case !a.confirmed():
		s.signInForm(w, http.StatusUnauthorized, se, "You have to confirm your email address before continuing.")
		return
	}
	se.accountID = a.id
	to := se.returnTo
	se.returnTo = ""
	if to == "" {
		to = "/home"
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// codeTTL is Doorkeeper's authorization_code_expires_in.
const codeTTL = 10 * time.Minute
