// Package arrival brings members onto their destination and fills the room:
// it makes each member's account (on servers Lifeboat runs), gets the
// member's token, and seeds the mesh — every arrived member follows every
// other, and each has a list of the group, wherever their accounts live
// (a member may keep an account on another server). Arrivals may come one at a time
// or all at once; the mesh grows incrementally and every step is journaled,
// so a run killed at any point and started again finishes exactly.
package arrival

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
)

// MemberScopes are what Lifeboat asks a member to grant: reading the
// account, following, lists and one post.
var MemberScopes = []string{"read", "write", "follow"}

// Config is what an Engine works with.
type Config struct {
	Store  store.Store
	Group  *groups.Group
	Server *provision.Server
	Emit   progress.Func
	// Workers bounds concurrent requests to the server: by default the
	// server's own Concurrency hint, else 32 (a public GoToSocial throttles
	// beyond about 16 per core; see bench/mesh for the local figures).
	Workers int
	// Client makes API clients, one per server: the destination's and
	// each remote member's own (their account's Server); default
	// fedi.New. Benchmarks and tests pass one with another transport.
	Client func(baseURL string) *fedi.Client
	// Logins keeps the passwords Lifeboat makes for members it signs in
	// itself (the demo's); the store holds none. Without it, Join takes
	// the member's own password and members authorise Lifeboat through
	// OAuth.
	Logins Logins
	// Clock tells the time of rate-limit waits; default the real one.
	Clock Clock
	// FollowWait is how long Seed waits for follows between servers to
	// arrive by federation before it reports the stragglers
	// (*StragglersError); default DefaultFollowWait.
	FollowWait time.Duration
}

// Engine runs arrivals for one group on one server.
type Engine struct {
	cfg  Config
	run  string // journal run: one per group and server
	base *fedi.Client

	mu      sync.Mutex
	apps    map[string]fedi.App     // by redirect URI
	clients map[string]*fedi.Client // by server base URL
	known   map[string]string       // journaled ids and domains (remembered)
	waiting map[string]int          // by server: requests waiting for it to answer

	clock    Clock
	seedMu   sync.Mutex  // one Seed at a time: two would send the same follows
	resuming atomic.Bool // a ResumeLater goroutine runs
}

// New returns an engine for cfg.
func New(cfg Config) *Engine {
	if cfg.Workers <= 0 {
		cfg.Workers = cfg.Server.Concurrency
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 32
	}
	if cfg.Client == nil {
		cfg.Client = func(u string) *fedi.Client { return fedi.New(u) }
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.FollowWait <= 0 {
		cfg.FollowWait = DefaultFollowWait
	}
	e := &Engine{
		cfg:     cfg,
		run:     journalRun(cfg.Group.Name, cfg.Server.URL),
		apps:    map[string]fedi.App{},
		clients: map[string]*fedi.Client{},
		known:   map[string]string{},
		waiting: map[string]int{},
		clock:   cfg.Clock,
	}
	e.base = e.client(cfg.Server.URL)
	return e
}

func (e *Engine) journal() store.Journal { return e.cfg.Store.Journal() }

// once runs fn under the journal key unless it is done already, and
// returns its result. prev tells fn whether an earlier attempt started and
// may have had effects, so it reconciles with the server before acting.
func (e *Engine) once(ctx context.Context, key string, fn func(prev store.StepStatus) ([]byte, error)) ([]byte, error) {
	j := e.journal()
	prev, err := j.Start(ctx, e.run, key)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err == nil && prev.Status == store.StepDone {
		// Start counted an attempt; put the entry back as it was.
		if err := j.Finish(ctx, e.run, key, prev.Result); err != nil {
			return nil, err
		}
		return prev.Result, nil
	}
	res, ferr := fn(prev.Status)
	if ferr != nil {
		j.Fail(ctx, e.run, key, ferr.Error())
		return nil, ferr
	}
	return res, j.Finish(ctx, e.run, key, res)
}

// app returns the member app for redirectURI, registering it once per
// server (journaled, so a restart reuses it).
func (e *Engine) app(ctx context.Context, redirectURI string) (fedi.App, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a, ok := e.apps[redirectURI]; ok {
		return a, nil
	}
	res, err := e.once(ctx, "app:"+redirectURI, func(store.StepStatus) ([]byte, error) {
		var a fedi.App
		err := transient(ctx, func() (err error) {
			a, err = e.base.RegisterApp(ctx, "Lifeboat", redirectURI, MemberScopes)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("register app: %w", err)
		}
		return json.Marshal(a)
	})
	if err != nil {
		return fedi.App{}, err
	}
	var a fedi.App
	if err := json.Unmarshal(res, &a); err != nil {
		return fedi.App{}, err
	}
	e.apps[redirectURI] = a
	return a, nil
}

// Enter takes into the room a member whose own account elsewhere is
// connected (store.Account.Waiting): they have arrived. Until then the
// account is in no one's mesh or list. The arrival is written before
// anything is seeded, so a process killed in between leaves the member
// in the room, and the next Seed (this member's retry, or anyone's
// arrival) makes their place in the mesh. Entering twice is harmless.
func (e *Engine) Enter(ctx context.Context, email string) error {
	return e.cfg.Store.Accounts().Enter(ctx, e.cfg.Group.Name, email)
}

// Join makes the member's account on a server Lifeboat runs. username
// defaults to the group file's wish, then the email's local part.
//
// password is the member's own, used for the one request that makes the
// account and then forgotten: never stored. Empty, Lifeboat makes one and
// keeps it in Config.Logins, outside the store, before the sign-up, so
// that SignIn, and a retry after a crash, find it there.
//
// The account's row (with the username) is written before the sign-up:
// a retry asks for the same username and email, which the account maker
// answers with the account made before, never a second one. A member who
// chooses again after a refusal (a taken username) gets the new choice.
func (e *Engine) Join(ctx context.Context, email, username, password string) error {
	if e.cfg.Server.Accounts == nil {
		return errors.New("this destination makes no accounts: members sign up on the server themselves")
	}
	m, ok := e.cfg.Group.Member(email)
	if !ok {
		// Someone who joined from the join page: the caller checked their
		// invite, which only members on the roster get.
		j, err := e.cfg.Store.Joins().Get(ctx, e.cfg.Group.Name, email)
		if err != nil {
			return fmt.Errorf("%s is not a member of %s: %w", email, e.cfg.Group.Name, err)
		}
		m = groups.Member{Name: j.Name, Email: j.Email}
	}
	email = strings.ToLower(m.Email)
	if password == "" && e.cfg.Logins == nil {
		return errors.New("join: no password given and no logins file to keep one in")
	}
	acc, err := e.roomAccount(ctx, email)
	switch {
	case err == nil && acc.ID != "":
		return nil // joined already
	case err == nil && password != "" && username != "" && username != acc.Username:
		// the member's new choice after the server refused the last one
		acc.Username = username
		if err := e.cfg.Store.Accounts().Put(ctx, acc); err != nil {
			return err
		}
	case err == nil:
		username = acc.Username // an earlier attempt chose it
	case errors.Is(err, store.ErrNotFound):
		if password == "" {
			if _, kept := e.cfg.Logins.Login(email); kept {
				// kept by a run whose store is gone: its account may
				// exist with that password; a new one would not sign in
				return fmt.Errorf("join %s: %w", email, ErrPasswordLost)
			}
		}
		if username == "" {
			username = e.cfg.Group.Username(m.Email)
		}
		acc = store.Account{Group: e.cfg.Group.Name, Email: email, Server: e.cfg.Server.URL, Username: username}
		if err := e.cfg.Store.Accounts().Put(ctx, acc); err != nil {
			return err
		}
	default:
		return err
	}
	if password == "" {
		if password, err = e.madePassword(email, username); err != nil {
			return err
		}
	}
	id, err := e.cfg.Server.Accounts.CreateAccount(ctx, username, email, password)
	if err != nil {
		return fmt.Errorf("create account for %s: %w", email, err)
	}
	acc.ID = id
	return e.cfg.Store.Accounts().Put(ctx, acc)
}

// madePassword is the password Lifeboat made for the member, kept in
// Config.Logins; it is made and kept now if there is none yet (the
// account is not made before it is kept).
func (e *Engine) madePassword(email, username string) (string, error) {
	if l, ok := e.cfg.Logins.Login(email); ok {
		return l.Password, nil
	}
	l := Login{Email: email, Username: username, Password: provision.NewPassword(), Server: e.cfg.Server.URL}
	if err := e.cfg.Logins.Keep(l); err != nil {
		return "", err
	}
	return l.Password, nil
}

// SignIn gets the member's token by driving the server's own sign-in and
// authorise forms with the password Lifeboat made and kept in
// Config.Logins (servers Lifeboat runs).
func (e *Engine) SignIn(ctx context.Context, email string) error {
	email = strings.ToLower(email)
	acc, err := e.cfg.Store.Accounts().Get(ctx, e.cfg.Group.Name, email)
	if err != nil {
		return fmt.Errorf("sign in %s: %w", email, err)
	}
	if acc.Token != "" {
		return nil
	}
	var login Login
	if e.cfg.Logins != nil {
		login, _ = e.cfg.Logins.Login(email)
	}
	if login.Password == "" {
		return fmt.Errorf("sign in %s: %w", email, ErrPasswordLost)
	}
	app, err := e.app(ctx, "urn:ietf:wg:oauth:2.0:oob")
	if err != nil {
		return err
	}
	var tok string
	err = transient(ctx, func() (err error) {
		tok, err = e.base.SignInAndAuthorize(ctx, app, email, login.Password)
		return err
	})
	if errors.Is(err, fedi.ErrSignInRefused) {
		return fmt.Errorf("sign in %s: %w", email, ErrPasswordLost)
	}
	if err != nil {
		return fmt.Errorf("sign in %s: %w", email, err)
	}
	return e.saveToken(ctx, acc, tok)
}

// ErrPasswordLost: Lifeboat cannot sign in an account it made: the
// server refuses the kept password, none is kept, or a password is kept
// for an account the store has no record of. The account predates the
// store's record of it: the records of an earlier run were lost, as when
// the state database is deleted while the server keeps its accounts.
// GoToSocial's running server caches its users, so the password cannot
// simply be set again from outside.
var ErrPasswordLost = errors.New("the password Lifeboat made for this account is refused or not kept: the account was made by an earlier run whose records are gone")

// AuthorizeURL is where a member's browser goes to authorise Lifeboat.
func (e *Engine) AuthorizeURL(ctx context.Context, redirectURI, state string) (string, error) {
	app, err := e.app(ctx, redirectURI)
	if err != nil {
		return "", err
	}
	return e.base.AuthorizeURL(app, state), nil
}

// Authorized exchanges an authorization code for the member's token.
func (e *Engine) Authorized(ctx context.Context, email, code, redirectURI string) error {
	app, err := e.app(ctx, redirectURI)
	if err != nil {
		return err
	}
	tok, err := e.base.ExchangeCode(ctx, app, code)
	if err != nil {
		return fmt.Errorf("exchange code: %w", err)
	}
	email = strings.ToLower(email)
	acc, err := e.roomAccount(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		acc = store.Account{Group: e.cfg.Group.Name, Email: email, Server: e.cfg.Server.URL}
	} else if err != nil {
		return err
	}
	return e.saveToken(ctx, acc, tok)
}

// roomAccount is the member's account row, as Join and Authorized build
// on it: ErrNotFound also when the row is an account the member
// connected on another server and has not taken into the room. A member
// who takes an account on the destination instead arrives with that one,
// which replaces the connected one (and its token).
func (e *Engine) roomAccount(ctx context.Context, email string) (store.Account, error) {
	acc, err := e.cfg.Store.Accounts().Get(ctx, e.cfg.Group.Name, email)
	if err == nil && acc.Waiting && acc.Remote(e.cfg.Server.URL) {
		return store.Account{}, fmt.Errorf("%s takes an account here instead of the one connected on %s: %w", email, acc.Server, store.ErrNotFound)
	}
	return acc, err
}

// saveToken stores the token together with the account's id and
// username as the server sees them (the token is the proof). The member
// has arrived: their token on the destination is their arrival.
func (e *Engine) saveToken(ctx context.Context, acc store.Account, tok string) error {
	var me fedi.Account
	err := transient(ctx, func() (err error) {
		me, err = e.base.WithToken(tok).VerifyCredentials(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("check token of %s: %w", acc.Email, err)
	}
	acc.Token, acc.ID, acc.Username, acc.Waiting = tok, me.ID, me.Username, false
	return e.cfg.Store.Accounts().Put(ctx, acc)
}
