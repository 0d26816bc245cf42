// Package mastodonfake is a stand-in for a Mastodon 4.x server on
// loopback, for the tests of Lifeboat's Mastodon paths: no
// Mastodon can run where the tests run (it needs Ruby, PostgreSQL, Redis
// and Sidekiq). It keeps state like the real server and enforces the
// rules Lifeboat depends on, as Mastodon's source states them:
//
//   - sign-up through the API (POST /api/v1/accounts, app token with
//     write:accounts) or the server's own page (/auth/sign_up, rules
//     first, then the form with the reason field when approval is
//     required); the account's email is confirmed through a link mailed
//     over SMTP (to internal/mailbox in tests); on an approval-mode server
//     an admin approves it (POST /api/v1/admin/accounts/:id/approve);
//     user tokens of unconfirmed or pending accounts are refused (403);
//   - OAuth: apps, the authorize page behind the sign-in form, the
//     authorization-code and client-credentials grants, scopes;
//   - account migration in the web settings (aliases, the move, the
//     30-day cooldown) and the moved account's "moved" (migration.go);
//   - follows (Mastodon accounts are unlocked by default, so a follow is
//     made at once), relationships, lists (only accounts one follows),
//     statuses, WebFinger, the v2 instance and NodeInfo;
//   - rate limits (app/lib/rate_limiter.rb and config/initializers/
//     rack_attack.rb): follows 400 per account per 24 h in windows aligned
//     on the epoch (so they reopen at 00:00 UTC), statuses 300 per 3 h,
//     300 API requests per 5 minutes per token, 1,500 per user, 300 per
//     address unauthenticated, 5 API sign-ups per 30 minutes per address,
//     each answered with 429 and X-RateLimit-Limit, X-RateLimit-Remaining
//     and X-RateLimit-Reset (ISO 8601); successful API answers carry the
//     same headers for the nearest limit. Mastodon sends no Retry-After.
//
// Time comes from Config.Now, so a test drives the clock (a day passes
// in a statement) and never sleeps.
//
// What it leaves out: federation, media, timelines and streaming, two-
// factor sign-in, captchas, and Mastodon's exemption of loopback from
// rack-attack's throttles (a real server exempts 127.0.0.1; the tests
// connect from there and must see the limits a remote client sees: set
// ExemptLoopback to have the real behaviour).
package mastodonfake

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Registration modes, as Mastodon's admin settings name them.
const (
	Open     = "open"
	Approved = "approved" // sign-ups wait for an admin
	None     = "none"
)

// Config is the server's settings. The zero value is an approval-mode
// server with Mastodon's default limits.
type Config struct {
	Title string
	// Domain of handles; default the listener's host:port.
	Domain string
	// Version is what /api/v2/instance and NodeInfo say; default 4.5.3.
	Version string
	// Mode is Open, Approved (default) or None.
	Mode string
	// ReasonRequired: an approval-mode sign-up must give a reason
	// (Setting.require_invite_text).
	ReasonRequired bool
	// SignUpURL is announced as registrations.url (Mastodon: the single
	// sign-on provider's sign-up page, SSO_ACCOUNT_SIGN_UP); empty: null.
	SignUpURL string
	// MinAge is registrations.min_age (Mastodon 4.4+, the server's
	// minimum age; its sign-up then asks for a date of birth); 0: null.
	MinAge int
	Rules  []string
	// SMTPAddr receives confirmation mail (host:port, no TLS, no auth).
	SMTPAddr string
	// Now is the clock; default time.Now.
	Now func() time.Time

	// Limits; 0 means Mastodon's value. Tests lower FollowLimit to see a
	// day's window close on a small group.
	FollowLimit    int           // 400
	FollowPeriod   time.Duration // 24 h
	StatusLimit    int           // 300 per 3 h
	TokenLimit     int           // 300 per 5 min
	UserLimit      int           // 1,500 per 5 min
	AnonLimit      int           // 300 per 5 min per address
	SignUpLimit    int           // 5 per 30 min per address
	FollowingCap   int           // 7,500: beyond it, at most followers × 1.1
	ExemptLoopback bool          // rack-attack's "allow from localhost"

	// LimitedFederation is Mastodon's limited federation mode
	// (LIMITED_FEDERATION_MODE): the API answers only signed-in users
	// (401 "This method requires an authenticated user"), the instance's
	// description included; registering an app stays open
	// (Api::V1::AppsController skips the check), and so do WebFinger and
	// the OAuth pages.
	LimitedFederation bool
}

func (c *Config) defaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.FollowLimit, 400)
	def(&c.StatusLimit, 300)
	def(&c.TokenLimit, 300)
	def(&c.UserLimit, 1500)
	def(&c.AnonLimit, 300)
	def(&c.SignUpLimit, 5)
	def(&c.FollowingCap, 7500)
	if c.FollowPeriod == 0 {
		c.FollowPeriod = 24 * time.Hour
	}
	if c.Mode == "" {
		c.Mode = Approved
	}
	if c.Version == "" {
		c.Version = "4.5.3"
	}
	if c.Title == "" {
		c.Title = "Mastodon"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Server is a running stand-in.
type Server struct {
	URL string // base URL, no trailing slash

	cfg  Config
	http *httptest.Server

	mu       sync.Mutex
	seq      int
	accounts map[string]*account // by id
	apps     map[string]*app     // by client_id
	tokens   map[string]*token   // by access token
	codes    map[string]*grant   // authorization codes
	sessions map[string]*session // by cookie
	confirm  map[string]string   // confirmation token -> account id
	follows  map[[2]string]time.Time
	lists    map[string]*list
	statuses []*status
	remotes  map[string]*remoteAccount // by ActivityPub id
	// remoteFollows are follows of remote accounts asked by local ones
	// ([follower id, target uri]); no server delivers them.
	remoteFollows [][2]string
	counters      map[string]int // rate-limit windows: key -> count
	stats         Stats
}

// Stats counts what the server did, for tests to check.
type Stats struct {
	FollowsMade    int // follows created (not repeats)
	FollowRepeats  int // follow calls for a follow that stood
	FollowsLimited int // follows refused with 429 by the follow limit
	Throttled      int // requests refused with 429 by rack-attack
	ConfirmMails   int
	SignUps        int
	Approvals      int
}

type account struct {
	id, username, email, password string
	reason                        string
	createdAt, confirmedAt        time.Time
	approved, admin, locked       bool
	locale                        string
	// Migration (migration.go): the accounts this one is also known as
	// (ActivityPub ids), where it moved, and when it moved.
	aliases    []string
	movedTo    *remoteAccount
	migrations []time.Time
}

func (a *account) confirmed() bool { return !a.confirmedAt.IsZero() }

type app struct {
	id, name, clientID, secret, website string
	redirectURIs                        []string
	scopes                              []string
}

type token struct {
	id        string
	app       *app
	accountID string // empty: an app token (client credentials)
	scopes    []string
	createdAt time.Time
}

type grant struct {
	app         *app
	accountID   string
	redirectURI string
	scopes      []string
	at          time.Time
}

type session struct {
	accountID string
	csrf      string
	returnTo  string
	accept    string // the rules page's token (sign-up)
}

type list struct {
	id, owner, title string
	members          []string
}

type status struct {
	id, account, text, visibility string
	at                            time.Time
}

// Start runs a stand-in on a loopback port.
func Start(cfg Config) *Server {
	cfg.defaults()
	s := &Server{cfg: cfg,
		accounts: map[string]*account{}, apps: map[string]*app{}, tokens: map[string]*token{},
		codes: map[string]*grant{}, sessions: map[string]*session{}, confirm: map[string]string{},
		follows: map[[2]string]time.Time{}, lists: map[string]*list{}, counters: map[string]int{},
		remotes: map[string]*remoteAccount{},
		seq:     109_000_000_000_000_000}
	s.http = httptest.NewServer(s.routes())
	s.URL = s.http.URL
	if s.cfg.Domain == "" {
		s.cfg.Domain = strings.TrimPrefix(s.URL, "http://")
	}
	return s
}

// Close stops the server.
func (s *Server) Close() { s.http.Close() }

// AnnounceSignUpURL sets registrations.url, for a sign-up page that
// lives at an address known only once the server runs.
func (s *Server) AnnounceSignUpURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.SignUpURL = u
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Server) now() time.Time { return s.cfg.Now().UTC() }

// nextID is a Mastodon-like numeric id (a snowflake there).
func (s *Server) nextID() string {
	s.seq++
	return strconv.Itoa(s.seq)
}

func secret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// AccountOptions is an account made from outside the API, as tootctl or
// the admin's own sign-up would.
type AccountOptions struct {
	Username, Email, Password string
	Confirmed, Approved       bool
	Admin                     bool // the Owner role: Manage Users, admin scopes
}

// ErrTaken is CreateAccount's answer for a username or email in use;
// Field says which.
type ErrTaken struct{ Field string }

func (e ErrTaken) Error() string { return e.Field + " has already been taken" }

// CreateAccount makes an account the way `tootctl accounts create` does
// (its password is made for it when none is given) and returns its id.
func (s *Server) CreateAccount(o AccountOptions) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.Password == "" {
		o.Password = secret()
	}
	a, errs := s.newAccount(o.Username, o.Email, o.Password, "en")
	if len(errs) > 0 {
		for f := range errs {
			return "", ErrTaken{Field: f}
		}
	}
	if o.Confirmed {
		a.confirmedAt = s.now()
	}
	a.approved = o.Approved || s.cfg.Mode == Open
	a.admin = o.Admin
	return a.id, nil
}

// Account is what a test may read of an account.
type Account struct {
	ID, Username, Email, Reason string
	Confirmed, Approved         bool
}

// Lookup returns the local account username, if any.
func (s *Server) Lookup(username string) (Account, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byUsername(username)
	if a == nil {
		return Account{}, false
	}
	return Account{ID: a.id, Username: a.username, Email: a.email, Reason: a.reason, Confirmed: a.confirmed(), Approved: a.approved}, true
}

// SetPassword changes an account's password, as a Rails console does
// (user.password = …; save!).
func (s *Server) SetPassword(username, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byUsername(username)
	if a == nil {
		return fmt.Errorf("no account %s", username)
	}
	a.password = password
	return nil
}

// FollowedAt reports whether the account with id a follows b, and since
// when (the server's clock).
func (s *Server) FollowedAt(a, b string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.follows[[2]string{a, b}]
	return at, ok
}

// FollowCount is the number of follows between local accounts.
func (s *Server) FollowCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.follows)
}

func (s *Server) byUsername(u string) *account {
	for _, a := range s.accounts {
		if strings.EqualFold(a.username, u) {
			return a
		}
	}
	return nil
}

func (s *Server) byEmail(e string) *account {
	for _, a := range s.accounts {
		if strings.EqualFold(a.email, e) {
			return a
		}
	}
	return nil
}

// newAccount validates and stores a new account; errs holds Mastodon's
// per-field validation errors (ERR_TAKEN, ERR_INVALID, ERR_BLANK, …).
func (s *Server) newAccount(username, email, password, locale string) (*account, map[string][]detail) {
	errs := map[string][]detail{}
	switch {
	case username == "":
		errs["username"] = []detail{{"ERR_BLANK", "can't be blank"}}
	case !usernameOK(username):
		errs["username"] = []detail{{"ERR_INVALID", "must contain only letters, numbers and underscores"}}
	case s.byUsername(username) != nil:
		errs["username"] = []detail{{"ERR_TAKEN", "is already taken"}}
	}
	switch {
	case email == "":
		errs["email"] = []detail{{"ERR_BLANK", "can't be blank"}}
	case !strings.Contains(email, "@"):
		errs["email"] = []detail{{"ERR_INVALID", "is invalid"}}
	case s.byEmail(email) != nil:
		errs["email"] = []detail{{"ERR_TAKEN", "is already taken"}}
	}
	if n := len(password); n < 8 || n > 72 {
		errs["password"] = []detail{{"ERR_INVALID", "must be 8 to 72 characters"}}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	a := &account{id: s.nextID(), username: username, email: strings.ToLower(email), password: password,
		createdAt: s.now(), locale: locale}
	s.accounts[a.id] = a
	return a, nil
}

func usernameOK(u string) bool {
	if len(u) > 30 {
		return false
	}
	for _, r := range u {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

type detail struct {
	Error       string `json:"error"`
	Description string `json:"description"`
}

// remote is the client's address as rack-attack keys it.
func remote(r *http.Request) string {
	h, _, _ := net.SplitHostPort(r.RemoteAddr)
	return h
}
