// Package webmember is a group member at a browser, played by an HTTP
// client: it opens the invite link, fills in Lifeboat's forms and the
// destination server's own (GoToSocial's sign-up, email confirmation,
// sign-in and authorise pages) and follows the links, as a person would.
// The existing-server demo's members and the tests use it; pages are
// read for their forms only, never trusted for anything else.
package webmember

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Page is where the member's browser stands.
type Page struct {
	URL    *url.URL
	Status int
	Body   string
}

// Has reports whether the page holds s.
func (p Page) Has(s string) bool { return strings.Contains(p.Body, s) }

// Member is one member's browser: its own cookies, nothing shared.
type Member struct {
	c *http.Client
}

// New returns a member with a fresh browser profile.
func New() *Member {
	return &Member{c: &http.Client{Jar: &jar{cookies: map[string]map[string]string{}}, Timeout: 2 * time.Minute}}
}

// jar keeps cookies per host and port, ignoring Domain, Path and Secure:
// GoToSocial scopes its session cookie to its configured host, which on
// loopback carries a port that net/http/cookiejar refuses as a domain.
// Cookies never go to another host:port.
type jar struct {
	mu      sync.Mutex
	cookies map[string]map[string]string
}

func (j *jar) SetCookies(u *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	m := j.cookies[u.Host]
	if m == nil {
		m = map[string]string{}
		j.cookies[u.Host] = m
	}
	for _, c := range cs {
		if c.MaxAge < 0 || c.Value == "" || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
			delete(m, c.Name)
			continue
		}
		m[c.Name] = c.Value
	}
}

func (j *jar) Cookies(u *url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for n, v := range j.cookies[u.Host] {
		out = append(out, &http.Cookie{Name: n, Value: v})
	}
	return out
}

// Get opens rawURL and follows redirects.
func (m *Member) Get(ctx context.Context, rawURL string) (Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return Page{}, err
	}
	return m.do(req)
}

// Post submits a form to target (relative to page) and follows redirects.
func (m *Member) Post(ctx context.Context, page Page, target string, form url.Values) (Page, error) {
	u, err := page.URL.Parse(html.UnescapeString(target))
	if err != nil {
		return Page{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return Page{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Lifeboat's pages refuse cross-site posts by Origin, as browsers send it.
	req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	return m.do(req)
}

func (m *Member) do(req *http.Request) (Page, error) {
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := m.c.Do(req)
	if err != nil {
		return Page{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Page{}, err
	}
	return Page{URL: resp.Request.URL, Status: resp.StatusCode, Body: string(b)}, nil
}

var (
	csrfRE      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	authorizeRE = regexp.MustCompile(`href="([^"]+)" id="authorize"`)
	formRE      = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
)

// ErrNoForm: the page lacks what the next step needs; the error names
// the page.
var ErrNoForm = errors.New("the page has no such form")

func need(p Page, what string, m []string) (string, error) {
	if m == nil {
		return "", fmt.Errorf("%w: %s on %s (%d)", ErrNoForm, what, p.URL, p.Status)
	}
	return m[1], nil
}

// CreateAccount fills in Lifeboat's account form on page (the invite
// page): the account on a server Lifeboat runs, or the sign-up Lifeboat
// makes on an existing server.
func (m *Member) CreateAccount(ctx context.Context, page Page, username, password string) (Page, error) {
	csrf, err := need(page, "csrf token", csrfRE.FindStringSubmatch(page.Body))
	if err != nil {
		return page, err
	}
	return m.Post(ctx, page, "/arrive", url.Values{"csrf": {csrf}, "username": {username}, "password": {password}, "password2": {password}})
}

// ClaimAccount tells Lifeboat the username the member chose on the
// server's own sign-up page.
func (m *Member) ClaimAccount(ctx context.Context, page Page, username string) (Page, error) {
	csrf, err := need(page, "csrf token", csrfRE.FindStringSubmatch(page.Body))
	if err != nil {
		return page, err
	}
	return m.Post(ctx, page, "/arrive", url.Values{"csrf": {csrf}, "action": {"signed-up"}, "username": {username}})
}

// SignUpOnGoToSocial fills in GoToSocial's own sign-up form (v0.17.3's
// /signup: email, password, username, reason, agreement).
func (m *Member) SignUpOnGoToSocial(ctx context.Context, signUpURL, email, username, password, reason string) (Page, error) {
	p, err := m.Get(ctx, signUpURL)
	if err != nil {
		return p, err
	}
	if !p.Has(`action="/signup"`) {
		return p, fmt.Errorf("%w: sign-up on %s (%d)", ErrNoForm, p.URL, p.Status)
	}
	p, err = m.Post(ctx, p, "/signup", url.Values{"email": {email}, "password": {password}, "username": {username},
		"reason": {reason}, "agreement": {"true"}, "locale": {"en"}})
	if err == nil && p.Status != http.StatusOK {
		err = fmt.Errorf("sign up on %s: %d", p.URL.Host, p.Status)
	}
	return p, err
}

// ConfirmEmail follows the server's confirmation link and presses the
// button on the page it opens (GoToSocial confirms on a POST).
//
// GoToSocial v0.17.3 mails the link before it stores the token, so a
// link followed at once can find nothing (404) for a moment: no person
// is that fast, a program is, and tries again for up to 30 seconds.
func (m *Member) ConfirmEmail(ctx context.Context, link string) error {
	var p Page
	var err error
	for wait := time.Now().Add(30 * time.Second); ; {
		if p, err = m.Get(ctx, link); err != nil {
			return err
		}
		if p.Status != http.StatusNotFound || time.Now().After(wait) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	action, err := need(p, "confirmation form", formRE.FindStringSubmatch(p.Body))
	if err != nil {
		return err
	}
	p, err = m.Post(ctx, p, action, url.Values{})
	if err != nil {
		return err
	}
	if p.Status != http.StatusOK {
		return fmt.Errorf("confirm email: %d at %s", p.Status, p.URL)
	}
	return nil
}

// Connect follows the page's "connect" link to the server, signs in
// there with email and password if asked, allows Lifeboat, and returns
// the page Lifeboat shows back.
func (m *Member) Connect(ctx context.Context, page Page, email, password string) (Page, error) {
	href, err := need(page, "connect link", authorizeRE.FindStringSubmatch(page.Body))
	if err != nil {
		return page, err
	}
	p, err := m.Get(ctx, html.UnescapeString(href))
	if err != nil {
		return p, err
	}
	if strings.HasSuffix(p.URL.Path, "/sign_in") {
		if p, err = m.Post(ctx, p, "/auth/sign_in", url.Values{"username": {email}, "password": {password}}); err != nil {
			return p, err
		}
		if p.Status >= 400 {
			// GoToSocial v0.17.3 knows an unconfirmed email only as
			// "unconfirmed": signing in with it is refused.
			return p, ErrSignInRefused
		}
	}
	switch {
	case strings.HasSuffix(p.URL.Path, "/check_your_email"):
		return p, ErrNotConfirmed
	case strings.HasSuffix(p.URL.Path, "/wait_for_approval"):
		return p, ErrNotApproved
	}
	if strings.HasSuffix(p.URL.Path, "/oauth/authorize") {
		return m.Post(ctx, p, "/oauth/authorize", url.Values{})
	}
	return p, nil
}

// What the server says when the member connects too early.
var (
	ErrSignInRefused = errors.New("the server refused the sign-in")
	ErrNotConfirmed  = errors.New("the server wants the email confirmed first")
	ErrNotApproved   = errors.New("the server has not approved the account yet")
)
