package mastodonfake

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// Browser is a person at a browser on the stand-in's own pages (sign-up,
// confirmation, sign-in, authorise), played by an HTTP client with its
// own cookies. Tests use it where the member leaves Lifeboat's pages.
type Browser struct {
	hc *http.Client
}

// NewBrowser returns a browser with a fresh profile.
func NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{hc: &http.Client{Jar: jar,
		// Stop at a redirect off the server: the caller follows it with
		// the browser it keeps for that site.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != via[0].URL.Host {
				return http.ErrUseLastResponse
			}
			return nil
		}}}
}

// Page is where the browser stands.
type Page struct {
	URL    *url.URL
	Status int
	Body   string
	// Location is a redirect off the server, not followed.
	Location string
}

func (b *Browser) do(req *http.Request) (Page, error) {
	resp, err := b.hc.Do(req)
	if err != nil {
		return Page{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	p := Page{URL: resp.Request.URL, Status: resp.StatusCode, Body: string(body)}
	if resp.StatusCode/100 == 3 {
		p.Location = resp.Header.Get("Location")
	}
	return p, nil
}

// Get opens u.
func (b *Browser) Get(ctx context.Context, u string) (Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Page{}, err
	}
	return b.do(req)
}

// post submits form to target on the page's server, with the page's
// authenticity token.
func (b *Browser) post(ctx context.Context, p Page, target string, form url.Values) (Page, error) {
	m := tokenRE.FindStringSubmatch(p.Body)
	if m == nil {
		return p, fmt.Errorf("%s has no form: %d", p.URL, p.Status)
	}
	form.Set("authenticity_token", html.UnescapeString(m[1]))
	u, _ := p.URL.Parse(target)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return p, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	tokenRE  = regexp.MustCompile(`name="authenticity_token" value="([^"]+)"`)
	acceptRE = regexp.MustCompile(`href="(/auth/sign_up\?accept=[^"]+)"`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// SignUp accepts the rules on the sign-up page and fills in the form.
func (b *Browser) SignUp(ctx context.Context, signUpURL, username, email, password, reason string) (Page, error) {
	p, err := b.Get(ctx, signUpURL)
	if err != nil {
		return p, err
	}
	m := acceptRE.FindStringSubmatch(p.Body)
	if m == nil {
		return p, fmt.Errorf("the sign-up page shows no rules to accept: %d", p.Status)
	}
	u, _ := p.URL.Parse(html.UnescapeString(m[1]))
	if p, err = b.Get(ctx, u.String()); err != nil {
		return p, err
	}
	accept := ""
	for _, h := range hiddenRE.FindAllStringSubmatch(p.Body, -1) {
		if h[1] == "accept" {
			accept = html.UnescapeString(h[2])
		}
	}
	p, err = b.post(ctx, p, "/auth", url.Values{"accept": {accept},
		"user[account_attributes][username]": {username}, "user[email]": {email},
		"user[password]": {password}, "user[password_confirmation]": {password},
		"user[invite_request_attributes][text]": {reason}, "user[agreement]": {"1"},
		"user[website]": {""}, "user[confirm_password]": {""}})
	if err == nil && p.Status != http.StatusOK {
		err = fmt.Errorf("sign-up refused (%d): %s", p.Status, p.Body)
	}
	return p, err
}

// ErrPending: the account may sign in but waits for the admin.
var ErrPending = errors.New("the account is pending review")

// ErrSignInRefused: the server refused the sign-in (an unconfirmed
// email, or a wrong password).
var ErrSignInRefused = errors.New("the server refused the sign-in")

// Authorize opens an authorize URL, signs in with email and password if
// asked, allows the app, and returns the redirect back to the app (the
// code in its query), which it does not follow.
func (b *Browser) Authorize(ctx context.Context, authorizeURL, email, password string) (string, error) {
	p, err := b.Get(ctx, authorizeURL)
	if err != nil {
		return "", err
	}
	if strings.HasSuffix(p.URL.Path, "/auth/sign_in") {
		if p, err = b.post(ctx, p, "/auth/sign_in", url.Values{"user[email]": {email}, "user[password]": {password}}); err != nil {
			return "", err
		}
		if p.Status == http.StatusUnauthorized {
			return "", ErrSignInRefused
		}
	}
	if p.Status == http.StatusForbidden && strings.Contains(p.Body, `id="pending"`) {
		return "", ErrPending
	}
	form := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(p.Body, -1) {
		form.Set(h[1], html.UnescapeString(h[2]))
	}
	if p, err = b.post(ctx, p, "/oauth/authorize", form); err != nil {
		return "", err
	}
	switch {
	case p.URL.Path == "/oauth/authorize/native": // an out-of-band app: the code is shown
		return p.URL.String(), nil
	case p.Location == "":
		return "", fmt.Errorf("authorise: no redirect back (%d at %s)", p.Status, p.URL)
	}
	return p.Location, nil
}
