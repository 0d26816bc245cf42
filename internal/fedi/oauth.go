package fedi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	mastodon "github.com/mattn/go-mastodon"
)

// OOB is the out-of-band redirect URI: the server shows the code instead of
// redirecting.
const OOB = "urn:ietf:wg:oauth:2.0:oob"

// App is a registered OAuth application.
type App struct {
	ClientID     string
	ClientSecret string
	RedirectURI  string
	Scopes       []string
}

func (a App) scope() string { return strings.Join(a.Scopes, " ") }

// Errors from SignInAndAuthorize when the server will not let the account in
// yet; the arrival engine branches on them.
var (
	ErrNotConfirmed    = errors.New("fedi: account email not confirmed")
	ErrPendingApproval = errors.New("fedi: account pending approval")
	ErrDisabled        = errors.New("fedi: account disabled")
	// ErrSignInRefused: the server refused the email and password.
	ErrSignInRefused = errors.New("fedi: email or password refused")
)

// refused is the server's answer to a refused sign-in: it reads as the
// answer and is both ErrSignInRefused and the *Error.
type refused struct{ e *Error }

func (r refused) Error() string   { return r.e.Error() }
func (r refused) Unwrap() []error { return []error{ErrSignInRefused, r.e} }

// RegisterApp registers an OAuth application (POST /api/v1/apps). An empty
// redirectURI means OOB.
func (c *Client) RegisterApp(ctx context.Context, name, redirectURI string, scopes []string) (App, error) {
	if redirectURI == "" {
		redirectURI = OOB
	}
	var app *mastodon.Application
	err := c.viaMastodon(ctx, http.MethodPost, "/api/v1/apps", func(ctx context.Context) error {
		var err error
		app, err = mastodon.RegisterApp(ctx, &mastodon.AppConfig{
			Client:       *c.hc,
			Server:       c.base.String(),
			ClientName:   name,
			RedirectURIs: redirectURI,
			Scopes:       strings.Join(scopes, " "),
			Website:      "https://github.com/lifeboat-social/lifeboat",
		})
		return err
	})
	if err != nil {
		return App{}, err
	}
	if app.RedirectURI != "" {
		redirectURI = app.RedirectURI
	}
	return App{ClientID: app.ClientID, ClientSecret: app.ClientSecret, RedirectURI: redirectURI,
		Scopes: append([]string(nil), scopes...)}, nil
}

// ClientCredentialsToken gets an app token (grant client_credentials) with all
// of app's scopes; Mastodon would otherwise default to "read", too little for
// sign-up.
func (c *Client) ClientCredentialsToken(ctx context.Context, app App) (string, error) {
	return c.token_(ctx, url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {app.ClientID},
		"client_secret": {app.ClientSecret},
		"redirect_uri":  {app.RedirectURI},
		"scope":         {app.scope()},
	})
}

// AuthorizeURL is the page where a user grants app access; the server
// redirects to app.RedirectURI with code and state.
func (c *Client) AuthorizeURL(app App, state string) string {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + "/oauth/authorize"
	q := url.Values{
		"client_id":     {app.ClientID},
		"redirect_uri":  {app.RedirectURI},
		"response_type": {"code"},
		"scope":         {app.scope()},
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// ExchangeCode trades an authorization code for a user token.
func (c *Client) ExchangeCode(ctx context.Context, app App, code string) (string, error) {
	return c.token_(ctx, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"client_id":     {app.ClientID},
		"client_secret": {app.ClientSecret},
		"redirect_uri":  {app.RedirectURI},
		"scope":         {app.scope()},
	})
}

func (c *Client) token_(ctx context.Context, form url.Values) (string, error) {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/oauth/token", form: form}, &tok); err != nil {
		return "", err
	}
	if tok.AccessToken == "" {
		return "", &Error{Status: http.StatusOK, Method: http.MethodPost, Path: "/oauth/token", Message: "answer has no access_token"}
	}
	return tok.AccessToken, nil
}

// SignInAndAuthorize drives the authorization-code flow through the server's
// own sign-in and authorize forms, as a browser would, and returns a user
// token. It is for servers Lifeboat runs (GoToSocial): GET /oauth/authorize →
// POST /auth/sign_in (username=email, password) → POST /oauth/authorize →
// redirect with code → POST /oauth/token. Mastodon's forms (CSRF, Devise) are
// not supported. It returns ErrNotConfirmed, ErrPendingApproval or ErrDisabled
// when the server sends the user to those pages.
func (c *Client) SignInAndAuthorize(ctx context.Context, app App, email, password string) (string, error) {
	hc := &http.Client{
		Transport:     c.tr,
		Jar:           &hostJar{host: c.base.Host},
		Timeout:       c.hc.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	state := "lifeboat"
	// form sends one browser-like request and returns the redirect target.
	form := func(step, method, target string, body url.Values) (*url.URL, error) {
		u, err := c.base.Parse(target)
		if err != nil {
			return nil, err
		}
		var req *http.Request
		if body != nil {
			req, err = http.NewRequestWithContext(ctx, method, u.String(), strings.NewReader(body.Encode()))
			if err == nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		} else {
			req, err = http.NewRequestWithContext(ctx, method, u.String(), nil)
		}
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		resp, err := hc.Do(req)
		if err != nil {
			return nil, c.wrapErr(method, u.Path, err, nil)
		}
		defer resp.Body.Close()
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			e := parseError(method, u.Path, resp.StatusCode, b)
			if e.Message == "" {
				e.Message = step + ": expected a redirect"
			} else {
				e.Message = step + ": " + e.Message
			}
			return nil, e
		}
		loc, err := u.Parse(resp.Header.Get("Location"))
		if err != nil {
			return nil, fmt.Errorf("fedi: %s: bad redirect: %w", step, err)
		}
		return loc, nil
	}
	pending := func(loc *url.URL) error {
		switch {
		case strings.HasSuffix(loc.Path, "/check_your_email"):
			return ErrNotConfirmed
		case strings.HasSuffix(loc.Path, "/wait_for_approval"):
			return ErrPendingApproval
		case strings.HasSuffix(loc.Path, "/account_disabled"):
			return ErrDisabled
		}
		return nil
	}

	loc, err := form("open authorize page", http.MethodGet, c.AuthorizeURL(app, state), nil)
	if err != nil {
		return "", err
	}
	if loc.Host == c.base.Host && strings.HasSuffix(loc.Path, "/sign_in") {
		loc, err = form("sign in", http.MethodPost, loc.String(), url.Values{"username": {email}, "password": {password}})
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Status >= 400 && e.Status < 500 {
				e.Message = "sign in: email or password refused"
				return "", refused{e}
			}
			return "", err
		}
	}
	if err := pending(loc); err != nil {
		return "", err
	}
	loc, err = form("authorize", http.MethodPost, "/oauth/authorize", url.Values{})
	if err != nil {
		return "", err
	}
	if err := pending(loc); err != nil {
		return "", err
	}
	code := loc.Query().Get("code")
	if code == "" {
		return "", &Error{Status: http.StatusFound, Method: http.MethodPost, Path: "/oauth/authorize",
			Message: "authorize: redirect carries no code (to " + loc.Path + ")"}
	}
	if s := loc.Query().Get("state"); s != "" && s != state {
		return "", &Error{Status: http.StatusFound, Method: http.MethodPost, Path: "/oauth/authorize",
			Message: "authorize: state mismatch"}
	}
	return c.ExchangeCode(ctx, app, code)
}

// SignUp is a new account's details for POST /api/v1/accounts.
type SignUp struct {
	Username  string
	Email     string
	Password  string
	Reason    string // shown to admins on approval-mode servers
	Locale    string // default "en"
	Agreement bool   // the user accepted the server's rules; servers refuse false
}

// SignUp creates an account (POST /api/v1/accounts) and returns the new
// user's token. c must carry an app token (ClientCredentialsToken) with
// write:accounts. A taken name fails with a 422 (Mastodon) or 409 (GoToSocial) *Error.
//
// GoToSocial v0.17.3 creates the account but then answers 500 (it fails to
// make the token); treat a 5xx as "maybe created" and look the account up
// with AdminAccounts, approve and confirm it, then SignInAndAuthorize.
func (c *Client) SignUp(ctx context.Context, s SignUp) (string, error) {
	locale := s.Locale
	if locale == "" {
		locale = "en"
	}
	form := url.Values{
		"username":  {s.Username},
		"email":     {s.Email},
		"password":  {s.Password},
		"agreement": {fmt.Sprint(s.Agreement)},
		"locale":    {locale},
	}
	if s.Reason != "" {
		form.Set("reason", s.Reason)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/accounts", form: form, auth: true}, &tok); err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// hostJar keeps the session cookies of one host, ignoring their Domain and
// Secure attributes: GoToSocial scopes its session cookie to its configured
// host and marks it Secure under protocol https, while Lifeboat may reach its
// own server by a loopback address over plain HTTP. Cookies never go to any
// other host.
type hostJar struct {
	host    string
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func (j *hostJar) SetCookies(u *url.URL, cs []*http.Cookie) {
	if u.Host != j.host {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cookies == nil {
		j.cookies = map[string]*http.Cookie{}
	}
	for _, c := range cs {
		if c.MaxAge < 0 || c.Value == "" {
			delete(j.cookies, c.Name)
			continue
		}
		j.cookies[c.Name] = &http.Cookie{Name: c.Name, Value: c.Value}
	}
}

func (j *hostJar) Cookies(u *url.URL) []*http.Cookie {
	if u.Host != j.host {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]*http.Cookie, 0, len(j.cookies))
	for _, c := range j.cookies {
		out = append(out, c)
	}
	return out
}
