// Package web is the group's web server: the landing page with the
// pledge count, personal pledge pages with thresholds, the launch that
// sends every going member a personal invite, the redemption of those
// invites (account, OAuth, follow seeding through the arrival engine),
// and the public "we made it" page with a starter pack.
//
// Pages are server-rendered html/template, with no script. Everything a
// member does is bound to a signed token from their email (package
// invite); forms carry a CSRF token; pledging and redeeming are rate
// limited per IP. Several servers may share one PostgreSQL store: the
// launch and each redemption happen once, whichever process gets them.
package web

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/invite"
	"github.com/lifeboat-social/lifeboat/escape/move"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/homes"
	"github.com/lifeboat-social/lifeboat/internal/mailer"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
)

// Arrivals is the arrival engine as the web server sees it.
type Arrivals interface {
	// CreateAccount makes the member's account on a destination Lifeboat runs (local or new); idempotent per member.
	CreateAccount(ctx context.Context, group, email, username, password string) error
	// AuthorizeURL is where the member's browser goes to authorise Lifeboat; redirectURI is this server's /callback.
	AuthorizeURL(ctx context.Context, group, redirectURI, state string) (string, error)
	// Complete exchanges the code for the member's token, seeds follows both ways, the group list and the welcome; idempotent.
	Complete(ctx context.Context, group, email, code, redirectURI string) (ArrivalResult, error)
	// Destination is the base URL of the server the group arrives on,
	// "" while it is not known: the group's accounts elsewhere are remote
	// members'.
	Destination() string
}

// SignUps is the door of an existing server (one the group does not
// run): *existing.Door has it.
type SignUps interface {
	// ViaAPI: Lifeboat signs members up with what they type on the invite
	// page; otherwise they sign up on Page and say which username.
	ViaAPI() bool
	Page() string
	// Domain is the domain of the server's handles.
	Domain() string
	// SignUp makes the account; a taken username fails with
	// provision.ErrUsernameTaken, an email that has an account with
	// existing.ErrEmailTaken.
	SignUp(ctx context.Context, username, email, password, reason string) error
	// Exists reports whether the server has an account username.
	Exists(ctx context.Context, username string) (bool, error)
}

// ArrivalResult is what a member finds on arrival; the final page shows it.
type ArrivalResult struct {
	Server, Acct, ProfileURL, ListTitle string
	Following, Followers                int
	// Remote is how many of the group's other arrived members keep their
	// accounts on other servers; they are counted in Following and
	// Followers too.
	Remote int
}

// PublicError may be implemented by errors from Arrivals whose message is
// safe, and useful, to show the member (e.g. "that username is taken").
// Other errors are logged and the member sees a generic message.
type PublicError interface {
	error
	PublicMessage() string
}

// Config is what the server needs. Group, Store and BaseURL are
// required; without Mail nothing can be sent, and without Arrivals
// invites cannot be redeemed.
type Config struct {
	Group    *groups.Group
	File     string // the group file's path, recorded in the store
	Store    store.Store
	Mail     mailer.Sender
	Arrivals Arrivals
	// Ready says whether the destination can take the group: the launch
	// waits for it (see campaign.Launch). nil: nothing to wait for.
	Ready provision.Readiness
	// Homes is how members who keep an account on their own server
	// ("I already have an account") are connected; the zero value offers
	// it, reaching public servers only.
	Homes HomesConfig
	// SignUps is the existing server's door (existing destinations only):
	// how members get their account there.
	SignUps SignUps
	// Moves moves arrived members' accounts from elsewhere into the room
	// (the /move page); nil: the page is not offered.
	Moves *move.Mover
	// BaseURL is this server's public URL: links in mail and the OAuth
	// callback (BaseURL + "/callback") use it. https makes cookies Secure.
	BaseURL string
	// Rules are the destination's rules as shown before pledging and
	// redeeming (from scouting it); optional.
	Rules []string
	// UploadMax caps a member's uploaded export in bytes; 0 means
	// DefaultUploadMax. JoinUploadMax caps one sent with a join, from
	// the join page anyone may use; 0 means DefaultJoinUploadMax, and it
	// is never more than UploadMax.
	UploadMax, JoinUploadMax int64
	// Uploads is where uploads are spooled and how many are received at
	// once; share one among every group of a process. nil: the server's
	// own, with the defaults, spooling in the system's temporary
	// directory.
	Uploads *Uploads
	// InviteTTL is how long invites stay valid after launch; default 14 days.
	InviteTTL time.Duration
	// PledgeRate and RedeemRate limit requests per IP per minute on the
	// pledge and redemption pages, PageRate on every page; 0 means the
	// defaults (30, 20 and 240), negative means no limit.
	PledgeRate, RedeemRate, PageRate int
	// TrustProxy takes the client address from X-Forwarded-For (the
	// right-most hop that is not the proxy) instead of the connection.
	TrustProxy bool
	// TickEvery is how often Run checks the launch, deadline, nudges and
	// unsent mail; default 30s.
	TickEvery time.Duration
	Log       *slog.Logger
	Now       func() time.Time
}

// noMail is the sender of a server without SMTP: every send fails (and
// stays unsent in the journal, so a later run with SMTP sends it).
type noMail struct{}

func (noMail) Send(context.Context, mailer.Message) error {
	return errors.New("no SMTP server configured (--smtp-addr or LIFEBOAT_SMTP_ADDR)")
}

// Server serves one group.
type Server struct {
	cfg     Config
	g       *groups.Group
	st      store.Store
	key     ed25519.PrivateKey
	pub     ed25519.PublicKey
	macKey  []byte                   // for CSRF tokens and cookies, derived from the group key
	base    string                   // BaseURL's path: "" at the root, "/g/NAME" in a directory
	members map[string]groups.Member // by invite.MemberID
	mail    *mailer.Journal
	secure  bool
	log     *slog.Logger
	now     func() time.Time

	pledgeLimit, redeemLimit, pageLimit *limiter
	kick                                chan struct{} // asks Run for a tick now
	mailq                               chan mailJob
	mailWG                              sync.WaitGroup
	handler                             http.Handler
	locks                               sync.Map // member email -> *sync.Mutex, see memberLock
	cards                               cardCache
	dir                                 *Directory   // the directory serving this group among others; nil when alone
	homes                               *homes.Homes // nil: "I already have an account" is not offered
	uploads                             *Uploads
}

// New checks cfg, records the group and its members in the store (keeping
// the state and signing key it has), and builds the server.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Group == nil || cfg.Store == nil {
		return nil, errors.New("web: group and store are required")
	}
	if cfg.Mail == nil {
		cfg.Mail = noMail{}
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("web: base URL %q: want http(s)://host[:port]", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.InviteTTL == 0 {
		cfg.InviteTTL = 14 * 24 * time.Hour
	}
	if cfg.TickEvery == 0 {
		cfg.TickEvery = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{
		cfg: cfg, g: cfg.Group, st: cfg.Store, log: cfg.Log, now: cfg.Now,
		secure:  u.Scheme == "https",
		base:    strings.TrimRight(u.Path, "/"),
		members: make(map[string]groups.Member, len(cfg.Group.Members)),
		kick:    make(chan struct{}, 1),
		mailq:   make(chan mailJob, 4096),
	}
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	for _, m := range s.g.Members {
		s.members[invite.MemberID(s.g.Name, m.Email)] = m
	}
	s.mail = &mailer.Journal{Sender: cfg.Mail, Steps: s.st.Journal(), Run: "web:" + s.g.Name}
	s.pledgeLimit = newLimiter(rateOr(cfg.PledgeRate, 30))
	s.redeemLimit = newLimiter(rateOr(cfg.RedeemRate, 20))
	s.pageLimit = newLimiter(rateOr(cfg.PageRate, 240))
	s.homes = newHomes(cfg.Homes, cfg.Store)
	if s.uploads = cfg.Uploads; s.uploads == nil {
		if s.uploads, err = NewUploads("", 0, 0); err != nil {
			return nil, err
		}
	}
	s.handler = s.routes()
	return s, nil
}

func rateOr(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

// sync writes the group and members to the store and loads the key.
func (s *Server) sync(ctx context.Context) error {
	if err := s.st.Groups().Put(ctx, store.Group{Name: s.g.Name, Title: s.g.Title, File: s.cfg.File}); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	ms := make([]store.Member, len(s.g.Members))
	for i, m := range s.g.Members {
		ms[i] = store.Member{Group: s.g.Name, Email: m.Email, Name: m.Name, Handle: m.Handle, Username: m.Username}
	}
	if err := s.st.Members().Sync(ctx, s.g.Name, ms); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	sg, err := s.st.Groups().Get(ctx, s.g.Name)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	if len(sg.SigningKey) != ed25519.PrivateKeySize {
		return errors.New("web: the group's signing key in the store is not an Ed25519 key")
	}
	s.key = ed25519.PrivateKey(sg.SigningKey)
	s.pub = s.key.Public().(ed25519.PublicKey)
	mac := hmac.New(sha256.New, s.key.Seed())
	mac.Write([]byte("lifeboat web cookies and csrf"))
	s.macKey = mac.Sum(nil)
	return nil
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Run sends queued mail and ticks (launch, deadline, nudges, resuming
// unsent mail) until ctx ends.
func (s *Server) Run(ctx context.Context) {
	for range 2 {
		s.mailWG.Add(1)
		go s.mailWorker(ctx)
	}
	if s.cfg.Moves != nil {
		go s.movePasses(ctx)
	}
	t := time.NewTicker(s.cfg.TickEvery)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("tick", "err", err)
		}
		select {
		case <-ctx.Done():
			s.mailWG.Wait()
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// poke asks Run for a tick soon (after a confirmation, say).
func (s *Server) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// link is an absolute URL on this server.
func (s *Server) link(path string) string { return s.cfg.BaseURL + path }

// path is a path on this server as the browser sees it: under the
// group's prefix when it is one of several groups a directory serves.
func (s *Server) path(p string) string { return s.base + p }

// JoinURL is where a stranger joins the group: its join page, or the
// landing page on a server that has none.
func (s *Server) JoinURL() string {
	if s.joinable() {
		return s.link("/join")
	}
	return s.link("/")
}

// Serve serves h on ln with the timeouts and limits a public server
// needs, until ctx ends; then it shuts down gracefully.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      5 * time.Minute, // follow seeding for a big group takes a while
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}

// GroupName and GroupTitle are the served group's.
func (s *Server) GroupName() string  { return s.g.Name }
func (s *Server) GroupTitle() string { return s.g.Title }
