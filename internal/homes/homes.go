// Package homes connects a member's existing fediverse account, on a
// server of their own choosing, to Lifeboat: from the address they type
// (@ana@other.social) it finds their server with WebFinger, registers
// Lifeboat's OAuth app there once per server (kept in the store), and
// after the member allows it, trades the code for their token and reads
// back the account it is for.
//
// Every request goes to a server a stranger named, so the HTTP client
// given must be guarded (internal/netguard): only public addresses,
// bounded waits, capped answers. Errors are typed, for the page to say
// what the member can do about each.
package homes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/netguard"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// Errors a member can act on; each wraps the detail for the log.
var (
	// ErrAddress: the text is not a fediverse address.
	ErrAddress = errors.New("homes: not a fediverse address")
	// ErrNoAccount: the server answers, and has no such account.
	ErrNoAccount = errors.New("homes: no such account")
	// ErrUnreachable: the server does not answer, or answers with an error.
	ErrUnreachable = errors.New("homes: server unreachable")
	// ErrNotMastodon: the server answers, but not as a Mastodon-API server
	// (no WebFinger, or no /api/v2/instance).
	ErrNotMastodon = errors.New("homes: not a Mastodon-API server")
	// ErrForbidden: the address leads to a non-public network address.
	ErrForbidden = errors.New("homes: server on a non-public address")
	// ErrRefused: the server refused the authorisation code.
	ErrRefused = errors.New("homes: authorisation refused")
)

// Address is a fediverse address, user@domain. Domain may carry a port
// (a server on this machine, in tests and the local demo).
type Address struct {
	User, Domain string
}

func (a Address) String() string { return a.User + "@" + a.Domain }

// MaxAddress caps the typed address, in bytes.
const MaxAddress = 320

var (
	userRE   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`)
	domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:[0-9]{1,5})?$`)
)

// ParseAddress reads "@ana@other.social", "ana@other.social" or
// "acct:ana@other.social".
func ParseAddress(s string) (Address, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxAddress {
		return Address{}, fmt.Errorf("%w: %d characters", ErrAddress, len(s))
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "acct:"), "@")
	user, domain, ok := strings.Cut(s, "@")
	domain = strings.ToLower(domain)
	if !ok || !userRE.MatchString(user) || !domainRE.MatchString(domain) || !strings.ContainsAny(domain, ".:") {
		return Address{}, ErrAddress
	}
	return Address{User: user, Domain: domain}, nil
}

// Config is what Homes needs.
type Config struct {
	Apps store.HomeApps
	// HTTP reaches the members' servers: a netguard client.
	HTTP *http.Client
	// Scheme is how servers are reached: "https" (the default, and the
	// only one WebFinger knows); "http" for servers on this machine.
	Scheme string
	// AppName is the name members see on the authorise page.
	AppName string
	// Scopes Lifeboat asks the member for.
	Scopes []string
}

// Homes finds members' servers and connects their accounts.
type Homes struct{ cfg Config }

// New returns Homes for cfg.
func New(cfg Config) *Homes {
	if cfg.Scheme == "" {
		cfg.Scheme = "https"
	}
	if cfg.AppName == "" {
		cfg.AppName = "Lifeboat"
	}
	if cfg.HTTP == nil {
		cfg.HTTP = netguard.Client(netguard.Options{})
	}
	return &Homes{cfg: cfg}
}

// Home is a member's server as found from their address.
type Home struct {
	Address Address
	// Server is the base URL of the server that runs the account: on a
	// server with split domains, the host of the account's self link, not
	// the address's domain.
	Server string
	// Actor is the account's ActivityPub id (the self link): the id
	// aliases and moves name accounts by.
	Actor string
}

// jrd is the part of a WebFinger answer read here.
type jrd struct {
	Subject string `json:"subject"`
	Links   []struct {
		Rel  string `json:"rel"`
		Type string `json:"type"`
		Href string `json:"href"`
	} `json:"links"`
}

// Discover finds the server of the account at a.
func (h *Homes) Discover(ctx context.Context, a Address) (Home, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	q := url.Values{"resource": {"acct:" + a.String()}}
	status, body, err := h.get(ctx, h.cfg.Scheme+"://"+a.Domain+"/.well-known/webfinger?"+q.Encode(), "application/jrd+json, application/json")
	switch {
	case err != nil:
		return Home{}, err
	case status == http.StatusNotFound || status == http.StatusGone:
		// Mastodon and GoToSocial answer 404 for an unknown account; a
		// site that is no fediverse server does too. NodeInfo tells them
		// apart.
		if h.fediverse(ctx, a.Domain) {
			return Home{}, fmt.Errorf("%w: %s", ErrNoAccount, a)
		}
		return Home{}, fmt.Errorf("%w: %s has no WebFinger", ErrNotMastodon, a.Domain)
	case status >= 500:
		return Home{}, fmt.Errorf("%w: %s: WebFinger answered %d", ErrUnreachable, a.Domain, status)
	case status != http.StatusOK:
		return Home{}, fmt.Errorf("%w: %s: WebFinger answered %d", ErrNotMastodon, a.Domain, status)
	}
	var j jrd
	if err := json.Unmarshal(body, &j); err != nil {
		return Home{}, fmt.Errorf("%w: %s: WebFinger answer: %v", ErrNotMastodon, a.Domain, err)
	}
	self := ""
	for _, l := range j.Links {
		if l.Rel == "self" && (l.Type == "application/activity+json" || strings.HasPrefix(l.Type, "application/ld+json")) {
			self = l.Href
			break
		}
	}
	u, err := url.Parse(self)
	if self == "" || err != nil || u.Host == "" || (u.Scheme != h.cfg.Scheme && u.Scheme != "https") || u.User != nil {
		return Home{}, fmt.Errorf("%w: %s: WebFinger gives no ActivityPub self link", ErrNotMastodon, a.Domain)
	}
	home := Home{Address: a, Server: u.Scheme + "://" + u.Host, Actor: self}
	if _, err := h.Client(home.Server).InstanceV2(ctx); err != nil && !lockedDown(err) {
		return Home{}, fmt.Errorf("%s: %w", home.Server, classify(err, ErrNotMastodon))
	}
	return home, nil
}

// lockedDown tells a Mastodon in limited federation mode, which answers
// its API, the instance's description included, only to signed-in users:
// 401 with its JSON error. Registering an app and the OAuth pages stay
// open there, so its members can still connect.
func lockedDown(err error) bool {
	var fe *fedi.Error
	return errors.As(err, &fe) && fe.Status == http.StatusUnauthorized && fe.Message != ""
}

// fediverse reports whether domain serves NodeInfo (every fediverse
// server does, at the address's domain even with split domains).
func (h *Homes) fediverse(ctx context.Context, domain string) bool {
	status, body, err := h.get(ctx, h.cfg.Scheme+"://"+domain+"/.well-known/nodeinfo", "application/json")
	if err != nil || status != http.StatusOK {
		return false
	}
	var ni struct {
		Links []struct{ Rel string } `json:"links"`
	}
	return json.Unmarshal(body, &ni) == nil && len(ni.Links) > 0
}

// get fetches u and reads its answer (capped by the client).
func (h *Homes) get(ctx context.Context, u, accept string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrAddress, err)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", fedi.DefaultUserAgent)
	resp, err := h.cfg.HTTP.Do(req)
	if err != nil {
		return 0, nil, classify(err, ErrUnreachable)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, classify(err, ErrUnreachable)
	}
	return resp.StatusCode, b, nil
}

// classify types a failed request: a refused address, a server down or
// failing, an answer too large (not a server Lifeboat can use), else def.
func classify(err error, def error) error {
	var fe *fedi.Error
	var ne net.Error
	switch {
	case errors.Is(err, netguard.ErrForbidden):
		return fmt.Errorf("%w: %v", ErrForbidden, err)
	case errors.Is(err, netguard.ErrTooLarge):
		return fmt.Errorf("%w: %v", ErrNotMastodon, err)
	case errors.As(err, &fe) && (fe.Status >= 500 || fe.Status == http.StatusTooManyRequests):
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	case errors.As(err, &fe):
		return fmt.Errorf("%w: %v", def, err)
	case errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	return fmt.Errorf("%w: %v", def, err)
}

// Client is the Mastodon-API client for server, through the guarded
// HTTP client; a server that asks to wait is not waited for long (a
// member is looking at the page).
func (h *Homes) Client(server string) *fedi.Client {
	return fedi.New(server, fedi.WithHTTPClient(h.cfg.HTTP), fedi.WithLimits(fedi.Limits{MaxRetries: 1, MaxWait: 5 * time.Second}))
}

// app is Lifeboat's app on server for the callback redirectURI:
// registered the first time, kept in the store after. Two members of a
// new server connecting at once may both register; the store keeps one,
// and both use it (the other stays unused on the server).
func (h *Homes) app(ctx context.Context, server, redirectURI string) (fedi.App, error) {
	a, err := h.cfg.Apps.Get(ctx, server, redirectURI)
	if errors.Is(err, store.ErrNotFound) {
		reg, rerr := h.Client(server).RegisterApp(ctx, h.cfg.AppName, redirectURI, h.cfg.Scopes)
		if rerr != nil {
			return fedi.App{}, fmt.Errorf("register Lifeboat on %s: %w", server, classify(rerr, ErrNotMastodon))
		}
		a, err = h.cfg.Apps.Add(ctx, store.HomeApp{Server: server, RedirectURI: redirectURI, ClientID: reg.ClientID, ClientSecret: reg.ClientSecret})
	}
	if err != nil {
		return fedi.App{}, err
	}
	return fedi.App{ClientID: a.ClientID, ClientSecret: a.ClientSecret, RedirectURI: a.RedirectURI, Scopes: h.cfg.Scopes}, nil
}

// AuthorizeURL is the page on the member's server where they allow
// Lifeboat; the server sends them back to redirectURI with state.
func (h *Homes) AuthorizeURL(ctx context.Context, server, redirectURI, state string) (string, error) {
	app, err := h.app(ctx, server, redirectURI)
	if err != nil {
		return "", err
	}
	return h.Client(server).AuthorizeURL(app, state), nil
}

// Connected is the member's account as their server shows it to the
// token they granted.
type Connected struct {
	ID, Username, DisplayName, URL string
	Token                          string
}

// Connect trades the code the member's server sent back for their token,
// and reads the account it acts for.
func (h *Homes) Connect(ctx context.Context, server, redirectURI, code string) (Connected, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	app, err := h.app(ctx, server, redirectURI)
	if err != nil {
		return Connected{}, err
	}
	c := h.Client(server)
	tok, err := c.ExchangeCode(ctx, app, code)
	if err != nil {
		return Connected{}, classify(err, ErrRefused)
	}
	me, err := c.WithToken(tok).VerifyCredentials(ctx)
	if err != nil {
		return Connected{}, classify(err, ErrRefused)
	}
	if me.ID == "" || !userRE.MatchString(me.Username) {
		return Connected{}, fmt.Errorf("%w: %s shows no account for the token", ErrNotMastodon, server)
	}
	return Connected{ID: me.ID, Username: me.Username, DisplayName: me.DisplayName, URL: me.URL, Token: tok}, nil
}
