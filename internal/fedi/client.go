// Package fedi is Lifeboat's client for Mastodon-API servers (Mastodon and
// GoToSocial). It wraps github.com/mattn/go-mastodon where that library fits
// and calls the API directly where it does not (sign-up, v2 instance, admin
// listing, GoToSocial import, the sign-in form flow).
//
// Rate limiting is owned here: every request, go-mastodon's included, goes
// through one RoundTripper that keeps a budget per token (or per host for
// unauthenticated calls), reads X-RateLimit-* headers, waits for resets, and
// retries 429 and throttling 503 answers a bounded number of times.
package fedi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	mastodon "github.com/mattn/go-mastodon"
	"github.com/tomnomnom/linkheader"
)

// Client talks to one server with at most one token. It is safe for
// concurrent use; WithToken makes copies that share the rate-limit budgets.
type Client struct {
	base  *url.URL
	token string
	hc    *http.Client // its Transport is the rate-limiting transport
	tr    *transport
	md    *mastodon.Client
}

// Option configures New.
type Option func(*options)

type options struct {
	hc     *http.Client
	limits Limits
	now    func() time.Time
}

// WithHTTPClient sets the HTTP client whose Transport (and Timeout) carry the
// requests; the rate-limiting transport is put on top of its Transport. A
// Timeout also bounds the waits for rate-limit budgets: prefer contexts.
func WithHTTPClient(hc *http.Client) Option { return func(o *options) { o.hc = hc } }

// WithLimits tunes rate limiting and retries.
func WithLimits(l Limits) Option { return func(o *options) { o.limits = l } }

// WithClock sets the clock that rate-limit resets are read against
// (default time.Now): a test that drives a server's clock drives the
// client's with it.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// sharedTransport keeps connections open for the many concurrent requests
// that bulk work sends to one server: net/http's default keeps only two
// idle connections per host, so 32 workers would open (and, over TLS,
// handshake) a new connection for most requests.
var sharedTransport http.RoundTripper = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	return t
}()

// DefaultUserAgent is the User-Agent of every request.
const DefaultUserAgent = "Lifeboat (+https://github.com/lifeboat-social/lifeboat)"

// New returns a client for the server at baseURL (e.g. "https://social.example").
// A bare host gets https://.
func New(baseURL string, opts ...Option) *Client {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if !strings.Contains(baseURL, "://") {
		baseURL = "https://" + baseURL
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || u.Host == "" {
		// Keep the shape; every call will fail with a clear error.
		u = &url.URL{Scheme: "https", Host: "invalid.invalid"}
	}
	u.RawQuery, u.Fragment = "", ""
	base := sharedTransport
	var timeout time.Duration
	if o.hc != nil {
		if o.hc.Transport != nil {
			base = o.hc.Transport
		}
		timeout = o.hc.Timeout
	}
	tr := &transport{
		base:   base,
		ua:     DefaultUserAgent,
		limits: o.limits.withDefaults(),
		reg:    &registry{budgets: map[string]*budget{}},
		now:    time.Now,
	}
	if o.now != nil {
		tr.now = o.now
	}
	c := &Client{base: u, tr: tr}
	c.hc = &http.Client{
		Transport: tr,
		Timeout:   timeout,
		// API calls never need redirects; following one would drop the
		// Authorization header at best.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c.md = c.newMastodon()
	return c
}

// WithToken returns a client for the same server, with the same transport and
// rate-limit budgets, that authenticates with token.
func (c *Client) WithToken(token string) *Client {
	n := &Client{base: c.base, token: token, hc: c.hc, tr: c.tr}
	n.md = n.newMastodon()
	return n
}

// BaseURL is the server's base URL.
func (c *Client) BaseURL() string { return c.base.String() }

func (c *Client) newMastodon() *mastodon.Client {
	m := mastodon.NewClient(&mastodon.Config{Server: c.base.String(), AccessToken: c.token})
	m.Client = *c.hc
	m.UserAgent = c.tr.ua
	return m
}

// String never shows the token.
func (c *Client) String() string {
	if c.token != "" {
		return "fedi.Client(" + c.base.Host + ", token set)"
	}
	return "fedi.Client(" + c.base.Host + ")"
}

// viaMastodon runs a go-mastodon call and turns its error into an *Error
// carrying the server's full answer.
func (c *Client) viaMastodon(ctx context.Context, method, path string, call func(context.Context) error) error {
	ctx, capt := withCapture(ctx)
	err := call(ctx)
	if err == nil {
		return nil
	}
	return c.wrapErr(method, path, err, capt)
}

func (c *Client) wrapErr(method, path string, err error, capt *capture) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if capt != nil && capt.err != nil {
		return capt.err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its URL may hold a query; the path is enough
	}
	return fmt.Errorf("fedi: %s %s: %w", method, path, err)
}

// request is one direct API call.
type request struct {
	method string
	path   string     // absolute path, or a full URL (Link-header pages)
	query  url.Values // GET parameters
	form   url.Values // form body
	body   io.Reader  // other body (multipart); with contentType
	ctype  string
	auth   bool // send the token
	accept string
}

// do sends req and decodes a JSON answer into out (if non-nil). Any 2xx is
// success (GoToSocial answers 202 to some calls). It returns the response
// headers for Link paging.
func (c *Client) do(ctx context.Context, req request, out any) (http.Header, error) {
	u, err := c.resolve(req.path)
	if err != nil {
		return nil, err
	}
	if req.query != nil {
		u.RawQuery = req.query.Encode()
	}
	var body io.Reader
	ctype := req.ctype
	switch {
	case req.form != nil:
		body, ctype = strings.NewReader(req.form.Encode()), "application/x-www-form-urlencoded"
	case req.body != nil:
		body = req.body
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("fedi: %s %s: %w", req.method, u.Path, err)
	}
	if ctype != "" {
		hr.Header.Set("Content-Type", ctype)
	}
	if req.accept != "" {
		hr.Header.Set("Accept", req.accept)
	}
	if req.auth && c.token != "" {
		hr.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, c.wrapErr(req.method, u.Path, err, nil)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.Header, parseError(req.method, u.Path, resp.StatusCode, b)
	}
	if out == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return resp.Header, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("fedi: %s %s: read answer: %w", req.method, u.Path, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("fedi: %s %s: decode answer: %w", req.method, u.Path, err)
	}
	return resp.Header, nil
}

// resolve turns an API path (optionally with a query) or an absolute URL
// from a Link header into a URL on this server. Only the path and query of an
// absolute URL are used: servers write their public name into Link headers,
// which may differ from the base URL the client was given (a loopback
// address), and the token must never go to another host.
func (c *Client) resolve(p string) (*url.URL, error) {
	ref, err := url.Parse(p)
	if err != nil {
		return nil, fmt.Errorf("fedi: bad path %q: %w", p, err)
	}
	u := *c.base
	if ref.IsAbs() {
		u.Path = ref.Path
	} else {
		u.Path = strings.TrimRight(c.base.Path, "/") + ref.Path
	}
	u.RawPath = ""
	u.RawQuery = ref.RawQuery
	return &u, nil
}

// maxPages bounds Link-header paging, in case a server loops.
const maxPages = 1000

// pages fetches path and every rel="next" page after it, appending each
// page's JSON array into out.
func pages[T any](ctx context.Context, c *Client, path string, query url.Values) ([]T, error) {
	var all []T
	req := request{method: http.MethodGet, path: path, query: query, auth: true}
	seen := map[string]bool{}
	for range maxPages {
		var page []T
		h, err := c.do(ctx, req, &page)
		if err != nil {
			return all, err
		}
		all = append(all, page...)
		next := nextLink(h.Get("Link"))
		if next == "" || len(page) == 0 || seen[next] {
			return all, nil
		}
		seen[next] = true
		req.path, req.query = next, nil
	}
	return all, fmt.Errorf("fedi: GET %s: more than %d pages", path, maxPages)
}

func nextLink(h string) string {
	if h == "" {
		return ""
	}
	for _, l := range linkheader.Parse(h) {
		if l.Rel == "next" {
			return l.URL
		}
	}
	return ""
}
