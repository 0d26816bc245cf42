// Package move brings a member's existing fediverse account into the
// room: the member has a new account on the destination (made as for
// anyone, from their invite), and moves their old account there with the
// account migration the servers support. Lifeboat names the old account
// as an alias of the new one (it holds the new account's token), then
// the old account moves: through its server's API where it has one
// (GoToSocial, with the member's password for that one request), else by
// the member in their old server's settings (Mastodon), while Lifeboat
// watches the old account for the move. The servers then move the
// followers: each follower's server sends the new account a follow, and
// since those people already followed the member, Lifeboat accepts their
// requests (accounts are locked on GoToSocial).
//
// A move's state (the old account, the new one, and who followed the old
// account when the move began) is journaled per member, so a page
// reloaded, a server restarted or a pass run again picks up where it was.
package move

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/homes"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// Errors a caller branches on.
var (
	// ErrAddress: the old address is not user@domain.
	ErrAddress = errors.New("move: the old address is not of the form user@domain")
	// ErrNotArrived: the member has no account on the destination yet.
	ErrNotArrived = errors.New("move: the member has no account in the room yet")
	// ErrNotBegun: no move was begun for the member.
	ErrNotBegun = errors.New("move: no move begun for this member")
	// ErrSameAccount: the old address is the new account.
	ErrSameAccount = errors.New("move: the old address is the new account")
	// ErrNoMoveAPI: the old server moves accounts only in its web
	// settings; the member moves there (Guide) and Check watches.
	ErrNoMoveAPI = errors.New("move: the old server moves accounts only in its settings")
	// ErrPassword: the old server refused the password.
	ErrPassword = errors.New("move: the old server refused the password")
	// ErrRefused: the old server refused the move; the *Refused says why.
	ErrRefused = errors.New("move: the old server refused the move")
	// ErrMovedElsewhere: the old account moved, but not into the room.
	ErrMovedElsewhere = errors.New("move: the old account moved to another account")
	// ErrNoToken: a move through the API needs the member's token on the
	// old server (Authorized or KeepToken) first.
	ErrNoToken = errors.New("move: no token for the old account")
	// ErrWrongAccount: the token kept for the old server is another
	// account's than the old address.
	ErrWrongAccount = errors.New("move: the token is for another account than the old address")
)

// Refused is the old server's refusal of a move, in its own words (a
// cooldown, an alias it has not seen yet): safe to show the member once
// escaped, it names no secret.
type Refused struct{ Reason string }

func (r *Refused) Error() string        { return "move: the old server refused the move: " + r.Reason }
func (r *Refused) Is(target error) bool { return target == ErrRefused }

// Config is what a Mover works with.
type Config struct {
	Store store.Store
	Group string
	// Destination is the destination's base URL: the new accounts live
	// there.
	Destination string
	// Client makes API clients for the destination; default fedi.New.
	// Tests pass one that trusts their servers' certificates.
	Client func(baseURL string) *fedi.Client
	// HTTP reaches the old servers, whose addresses members typed, and
	// finds accounts' ActivityPub ids: a netguard client (the default
	// refuses non-public addresses), as for "I already have an account".
	HTTP *http.Client
	// Scheme is how old servers are reached: "https" (the default); "http"
	// for servers on this machine.
	Scheme string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Mover moves members' accounts into one group's room.
type Mover struct {
	cfg   Config
	homes *homes.Homes // discovery, Lifeboat's app and every request on the old servers
	run   string
	locks sync.Map // email -> *sync.Mutex: one step of a member's move at a time
}

// New returns a Mover for cfg.
func New(cfg Config) *Mover {
	if cfg.Client == nil {
		cfg.Client = func(u string) *fedi.Client { return fedi.New(u) }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Destination = strings.TrimRight(cfg.Destination, "/")
	return &Mover{cfg: cfg, run: "move:" + cfg.Group,
		homes: homes.New(homes.Config{Apps: cfg.Store.HomeApps(), HTTP: cfg.HTTP, Scheme: cfg.Scheme, Scopes: oldScopes})}
}

// Plan is one member's move, as journaled.
type Plan struct {
	Email string `json:"email"`
	// From is the old address (user@domain), FromServer its server's
	// base URL, FromURI its ActivityPub id and FromID its id there
	// (empty when the server did not say).
	From       string `json:"from"`
	FromServer string `json:"from_server"`
	FromURI    string `json:"from_uri"`
	FromID     string `json:"from_id,omitempty"`
	// Software is the old server's (NodeInfo), e.g. "gotosocial".
	Software string `json:"software"`
	// To is the new account's address, ToServer the destination's base
	// URL and ToURI the account's ActivityPub id.
	To       string `json:"to"`
	ToServer string `json:"to_server"`
	ToURI    string `json:"to_uri"`
	// Aliased: the new account names the old one as its alias, set by
	// Lifeboat at AliasedAt (a move right after is retried while the
	// old server has not seen it yet). AliasByHand: the destination sets aliases only in its
	// web settings (Mastodon), so the member adds it there first (Guide);
	// the old server checks it when the account moves.
	Aliased     bool      `json:"aliased"`
	AliasedAt   time.Time `json:"aliased_at,omitzero"`
	AliasByHand bool      `json:"alias_by_hand"`
	// Followers are the addresses that followed the old account while
	// the move was under way, as Lifeboat saw them: their follow
	// requests to the new account are accepted.
	Followers []string `json:"followers"`
	// Requested: the old server accepted a move through its API, and
	// moves the account in the background.
	Requested bool `json:"requested,omitempty"`
	// Moved: the old account has moved to the new one (at MovedAt, as
	// Lifeboat first saw it); MovedFrom is recorded on the member's
	// account. Complete: every follower noted follows the new account.
	Moved    bool      `json:"moved"`
	MovedAt  time.Time `json:"moved_at,omitzero"`
	Complete bool      `json:"complete,omitempty"`
}

// ByAPI tells whether the old server takes the move through its API
// (GoToSocial's POST /api/v1/accounts/move); otherwise the member moves
// in its settings (Guide).
func (p Plan) ByAPI() bool { return p.Software == "gotosocial" }

// Guide is what a member needs to move by hand: where, and what to type.
// Renderers word it; it holds no words of its own.
type Guide struct {
	// SettingsURL is the old server's page for moving the account.
	SettingsURL string
	// Handle is the new account as the member types it there.
	Handle string
	// AliasURL is the destination's page for aliases, when the member
	// must add the alias by hand (AliasByHand); Alias is what to type.
	AliasURL, Alias string
}

// Guide returns the steps of a move by hand for p.
func (p Plan) Guide() Guide {
	g := Guide{Handle: "@" + p.To, Alias: "@" + p.From}
	switch p.Software {
	case "gotosocial":
		g.SettingsURL = p.FromServer + "/settings/user/migration"
	default:
		// Mastodon, and the servers that copy its settings paths.
		g.SettingsURL = p.FromServer + "/settings/migration"
	}
	if p.AliasByHand {
		g.AliasURL = p.ToServer + "/settings/aliases"
	}
	return g
}

// Status is where a move stands after Check.
type Status struct {
	Plan
	// Accepted is how many follow requests from old followers this pass
	// accepted; Arrived how many old followers now follow the new account.
	Accepted, Arrived int
}

func (m *Mover) lock(email string) func() {
	mu, _ := m.locks.LoadOrStore(strings.ToLower(email), &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	return mu.(*sync.Mutex).Unlock
}

// Begin starts moving the account at from (user@domain) into the
// member's new account: it finds both accounts' ActivityPub ids, names
// the old account as an alias of the new one, and notes who follows the
// old account (with the member's token there when Lifeboat keeps one,
// else where the server shows them publicly). Calling it again
// refreshes the plan.
func (m *Mover) Begin(ctx context.Context, email, from string) (Plan, error) {
	defer m.lock(email)()
	addr, err := homes.ParseAddress(from)
	if err != nil {
		return Plan{}, fmt.Errorf("%w: %v", ErrAddress, err)
	}
	fromAddr := strings.ToLower(addr.String())
	acc, err := m.newAccount(ctx, email)
	if err != nil {
		return Plan{}, err
	}
	p, err := m.plan(ctx, email)
	if err != nil && !errors.Is(err, ErrNotBegun) {
		return Plan{}, err
	}
	if p.From != fromAddr {
		if p.From != "" {
			// Another old account than before: the token kept for the
			// first is no use for it.
			if err := m.KeepToken(ctx, email, ""); err != nil {
				return p, err
			}
		}
		p = Plan{Email: strings.ToLower(email), From: fromAddr, ToServer: m.cfg.Destination}
	}
	dest := m.cfg.Client(m.cfg.Destination)
	if p.To == "" {
		if p.To, err = m.address(ctx, dest, acc); err != nil {
			return p, err
		}
	}
	if p.To == p.From {
		return p, ErrSameAccount
	}
	if p.FromURI == "" {
		// The account's domain may name another host than the server's
		// (accounts @example.org on social.example.org): the server is
		// where the account itself lives.
		from, err := m.find(ctx, p.From)
		if err != nil {
			return p, fmt.Errorf("find the old account %s: %w", p.From, err)
		}
		p.FromURI, p.FromServer = from.Actor, from.Server
	}
	if p.ToURI == "" {
		to, err := m.find(ctx, p.To)
		if err != nil {
			return p, fmt.Errorf("find the new account %s: %w", p.To, err)
		}
		p.ToURI = to.Actor
	}
	old := m.homes.Client(p.FromServer)
	if p.Software == "" {
		ni, err := old.NodeInfo(ctx)
		if err != nil {
			return p, fmt.Errorf("read what software %s runs: %w", p.FromServer, err)
		}
		p.Software = strings.ToLower(ni.Software.Name)
	}
	oldToken, err := m.token(ctx, email)
	if err != nil {
		return p, err
	}
	m.noteFollowers(ctx, &p, oldToken)
	if err := m.save(ctx, p); err != nil {
		return p, err
	}
	if !p.Aliased && !p.AliasByHand {
		mv, err := dest.WithToken(acc.Token).Alias(ctx, []string{p.FromURI})
		switch {
		case fedi.IsStatus(err, http.StatusNotFound):
			p.AliasByHand = true
			return p, m.save(ctx, p)
		case err != nil:
			return p, fmt.Errorf("name %s as an alias of %s: %w", p.From, p.To, err)
		}
		p.Aliased, p.AliasedAt = slices.Contains(mv.Source.AlsoKnownAs, p.FromURI), m.cfg.Now()
		if !p.Aliased {
			return p, fmt.Errorf("name %s as an alias of %s: the server did not keep it", p.From, p.To)
		}
		if err := m.save(ctx, p); err != nil {
			return p, err
		}
	}
	return p, nil
}

// MoveByAPI moves the old account through its server's API, with the
// member's token there (KeepToken) and their password, which is used for
// this one request and kept nowhere. The server moves the followers in
// the background; Check watches and accepts them.
func (m *Mover) MoveByAPI(ctx context.Context, email, password string) (Plan, error) {
	defer m.lock(email)()
	p, err := m.plan(ctx, email)
	if err != nil {
		return p, err
	}
	if !p.ByAPI() {
		return p, ErrNoMoveAPI
	}
	oldToken, err := m.token(ctx, email)
	if err != nil {
		return p, err
	}
	if oldToken == "" {
		return p, ErrNoToken
	}
	old := m.homes.Client(p.FromServer).WithToken(oldToken)
	// The token moves whichever account it belongs to: make sure it is
	// the old address's.
	me, err := old.VerifyCredentials(ctx)
	if err != nil {
		return p, fmt.Errorf("read the account of the token on %s: %w", p.FromServer, err)
	}
	if !strings.EqualFold(me.Username, user(p.From)) {
		return p, ErrWrongAccount
	}
	m.noteFollowers(ctx, &p, oldToken)
	if err := m.save(ctx, p); err != nil {
		return p, err
	}
	err = old.Move(ctx, password, p.ToURI)
	for aliasUnseen(err) && m.cfg.Now().Before(p.AliasedAt.Add(aliasSettle)) {
		// GoToSocial can go on seeing the new account without the alias
		// for some seconds after Lifeboat set it (about ten against two
		// local servers). A member quick to confirm meets that, and
		// would be told to wait minutes.
		// Lifeboat tries again until the alias has had time to reach the
		// old server, then passes on the server's words.
		select {
		case <-ctx.Done():
			return p, ctx.Err()
		case <-time.After(aliasRetry):
		}
		err = old.Move(ctx, password, p.ToURI)
	}
	var fe *fedi.Error
	switch {
	case err == nil:
		p.Requested = true
		return p, m.save(ctx, p)
	case errors.As(err, &fe) && fe.Status == http.StatusBadRequest:
		// GoToSocial answers 400 to a missing or wrong password; the
		// other 400s are about moved_to_uri, which Lifeboat got from
		// WebFinger.
		return p, ErrPassword
	case errors.As(err, &fe) && fe.Status == http.StatusUnprocessableEntity:
		return p, &Refused{Reason: fe.Message}
	}
	return p, fmt.Errorf("move %s to %s: %w", p.From, p.To, err)
}

// aliasSettle is how long after Lifeboat set the alias a move that the
// old server refuses for want of it is tried again (every aliasRetry):
// GoToSocial sees a new alias within seconds, more on a busy server.
const (
	aliasSettle = time.Minute
	aliasRetry  = 3 * time.Second
)

// aliasUnseen tells whether err is GoToSocial's refusal of a move to an
// account it sees without the alias (422, naming alsoKnownAs).
func aliasUnseen(err error) bool {
	var fe *fedi.Error
	return errors.As(err, &fe) && fe.Status == http.StatusUnprocessableEntity && strings.Contains(fe.Message, "alsoKnownAs")
}

// Check looks at the old account: once it has moved to the new one, it
// records MovedFrom on the member's account and accepts the follow
// requests of the old account's followers. Until then it notes the
// followers again (people who followed meanwhile). It reads the old
// account with the member's token there when Lifeboat keeps one, else
// publicly (Mastodon shows accounts to anyone). Run it again while
// followers' servers still send their follows: federation delivers them
// over minutes.
func (m *Mover) Check(ctx context.Context, email string) (Status, error) {
	defer m.lock(email)()
	p, err := m.plan(ctx, email)
	if err != nil {
		return Status{Plan: p}, err
	}
	if !p.Moved {
		oldToken, err := m.token(ctx, email)
		if err != nil {
			return Status{Plan: p}, err
		}
		moved, err := m.movedTo(ctx, p, oldToken)
		if err != nil {
			return Status{Plan: p}, err
		}
		if moved == nil {
			m.noteFollowers(ctx, &p, oldToken)
			return Status{Plan: p}, m.save(ctx, p)
		}
		if !m.sameAccount(p, *moved) {
			return Status{Plan: p}, fmt.Errorf("%w: %s", ErrMovedElsewhere, moved.URL)
		}
		acc, err := m.newAccount(ctx, email)
		if err != nil {
			return Status{Plan: p}, err
		}
		acc.MovedFrom = p.From
		if err := m.cfg.Store.Accounts().Put(ctx, acc); err != nil {
			return Status{Plan: p}, err
		}
		p.Moved, p.MovedAt = true, m.cfg.Now()
		if err := m.save(ctx, p); err != nil {
			return Status{Plan: p}, err
		}
	}
	st, err := m.accept(ctx, p)
	if err == nil && !p.Complete && st.Arrived >= len(p.Followers) {
		st.Complete = true
		err = m.save(ctx, st.Plan)
	}
	return st, err
}

// followWindow is how long after a move Pass keeps accepting followers:
// servers retry deliveries for a few days, and a follower whose server
// is gone for longer is not coming.
const followWindow = 7 * 24 * time.Hour

// Pass checks every move under way that needs no one's action: moves by
// hand not yet seen, moves the old server is making, and moved accounts
// whose followers are still coming (for a week). It is what keeps
// accepting followers after the member has closed the page. One move's
// failure does not stop the others; Pass returns them all.
func (m *Mover) Pass(ctx context.Context) error {
	plans, err := m.Pending(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range plans {
		switch {
		case p.Complete,
			!p.Moved && p.ByAPI() && !p.Requested, // waits for the member
			p.Moved && m.cfg.Now().Sub(p.MovedAt) > followWindow:
			continue
		}
		if _, err := m.Check(ctx, p.Email); err != nil {
			errs = append(errs, fmt.Errorf("the move of %s: %w", p.From, err))
		}
	}
	return errors.Join(errs...)
}

// Pending returns the moves of the group that have begun, for a pass
// that keeps accepting followers (Check on each).
func (m *Mover) Pending(ctx context.Context) ([]Plan, error) {
	steps, err := m.cfg.Store.Journal().List(ctx, m.run, "member:")
	if err != nil {
		return nil, err
	}
	out := make([]Plan, 0, len(steps))
	for _, s := range steps {
		var p Plan
		if err := json.Unmarshal(s.Result, &p); err != nil {
			return nil, fmt.Errorf("read the move %s: %w", s.Key, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Plan returns the member's move, or ErrNotBegun.
func (m *Mover) Plan(ctx context.Context, email string) (Plan, error) { return m.plan(ctx, email) }

// accept accepts the new account's follow requests from the old
// account's followers and counts the old followers who follow it now.
func (m *Mover) accept(ctx context.Context, p Plan) (Status, error) {
	st := Status{Plan: p}
	acc, err := m.newAccount(ctx, p.Email)
	if err != nil {
		return st, err
	}
	dest := m.cfg.Client(m.cfg.Destination).WithToken(acc.Token)
	old := map[string]bool{}
	for _, f := range p.Followers {
		old[f] = true
	}
	reqs, err := dest.FollowRequests(ctx)
	if err != nil {
		return st, fmt.Errorf("read the follow requests of %s: %w", p.To, err)
	}
	for _, r := range reqs {
		if !old[normal(r.Acct, domain(p.To))] {
			continue // not an old follower: the member decides
		}
		if _, err := dest.AuthorizeFollowRequest(ctx, r.ID); err != nil && !fedi.IsStatus(err, http.StatusNotFound) {
			return st, fmt.Errorf("accept the follow request of %s: %w", r.Acct, err)
		}
		st.Accepted++
	}
	followers, err := dest.Followers(ctx, acc.ID)
	if err != nil {
		return st, fmt.Errorf("read the followers of %s: %w", p.To, err)
	}
	for _, f := range followers {
		if old[normal(f.Acct, domain(p.To))] {
			st.Arrived++
		}
	}
	return st, nil
}

// movedTo returns the account the old one moved to, nil while it has not.
func (m *Mover) movedTo(ctx context.Context, p Plan, oldToken string) (*fedi.Account, error) {
	old := m.homes.Client(p.FromServer)
	var mv fedi.Moving
	var err error
	if oldToken != "" && p.FromID != "" {
		mv, err = old.WithToken(oldToken).AccountMoving(ctx, p.FromID)
	} else {
		mv, err = old.LookupMoving(ctx, user(p.From))
	}
	if err != nil {
		return nil, fmt.Errorf("look at the old account %s: %w", p.From, err)
	}
	return mv.Moved, nil
}

// sameAccount tells whether moved (as the old server shows it) is the
// new account: by address, or by its profile URL on the destination.
func (m *Mover) sameAccount(p Plan, moved fedi.Account) bool {
	if normal(moved.Acct, domain(p.From)) == p.To {
		return true
	}
	return moved.URL == m.cfg.Destination+"/@"+user(p.To)
}

// noteFollowers adds the old account's present followers to the plan.
// It is best effort: a server that hides them (or has moved them on
// already) leaves the followers noted before.
func (m *Mover) noteFollowers(ctx context.Context, p *Plan, oldToken string) {
	old := m.homes.Client(p.FromServer)
	if oldToken != "" {
		old = old.WithToken(oldToken)
	}
	name := user(p.From)
	if p.FromID == "" {
		var a fedi.Account
		var err error
		if oldToken != "" {
			a, err = old.VerifyCredentials(ctx)
			if err == nil && !strings.EqualFold(a.Username, name) {
				return // the token is another account's
			}
		} else {
			a, err = old.Lookup(ctx, name)
		}
		if err != nil {
			return
		}
		p.FromID = a.ID
	}
	fs, err := old.Followers(ctx, p.FromID)
	if err != nil {
		return
	}
	for _, f := range fs {
		if a := normal(f.Acct, domain(p.From)); !slices.Contains(p.Followers, a) {
			p.Followers = append(p.Followers, a)
		}
	}
	slices.Sort(p.Followers)
}

// newAccount is the member's account on the destination.
func (m *Mover) newAccount(ctx context.Context, email string) (store.Account, error) {
	acc, err := m.cfg.Store.Accounts().Get(ctx, m.cfg.Group, email)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (acc.Token == "" || acc.Remote(m.cfg.Destination))) {
		return acc, ErrNotArrived
	}
	return acc, err
}

// address is the new account's address: as recorded, or its username at
// the destination's domain.
func (m *Mover) address(ctx context.Context, dest *fedi.Client, acc store.Account) (string, error) {
	if _, err := homes.ParseAddress(acc.Acct); err == nil {
		return strings.ToLower(acc.Acct), nil
	}
	d, err := dest.Domain(ctx)
	if err != nil {
		return "", fmt.Errorf("read the destination's domain: %w", err)
	}
	return strings.ToLower(acc.Username + "@" + d), nil
}

// find is the account at addr as WebFinger names it: its ActivityPub id
// and the server it lives on.
func (m *Mover) find(ctx context.Context, addr string) (homes.Home, error) {
	a, err := homes.ParseAddress(addr)
	if err != nil {
		return homes.Home{}, fmt.Errorf("%w: %v", ErrAddress, err)
	}
	return m.homes.Discover(ctx, a)
}

func (m *Mover) plan(ctx context.Context, email string) (Plan, error) {
	var p Plan
	found, err := m.get(ctx, key(email), &p)
	if err == nil && !found {
		err = ErrNotBegun
	}
	return p, err
}

func (m *Mover) save(ctx context.Context, p Plan) error { return m.put(ctx, key(p.Email), p) }

// put journals v as the result of key, done.
func (m *Mover) put(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	j := m.cfg.Store.Journal()
	if _, err := j.Start(ctx, m.run, key); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return j.Finish(ctx, m.run, key, b)
}

// get reads the result of key into out; found is false when there is none.
func (m *Mover) get(ctx context.Context, key string, out any) (found bool, err error) {
	s, err := m.cfg.Store.Journal().Get(ctx, m.run, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(s.Result, out); err != nil {
		return false, fmt.Errorf("read %s of the moves of %s: %w", key, m.cfg.Group, err)
	}
	return true, nil
}

func key(email string) string { return "member:" + strings.ToLower(email) }

// tokenKey keeps the member's token on the old server, sealed at rest
// like every journal result, apart from the plan that callers see.
func tokenKey(email string) string { return "token:" + strings.ToLower(email) }

// KeepToken keeps the member's token on their old server, for the move
// through its API and for reading the old account. Lifeboat gets it
// through OAuth (AuthorizeURL, Authorized), or already holds it for a
// member who joined with that account.
func (m *Mover) KeepToken(ctx context.Context, email, token string) error {
	return m.put(ctx, tokenKey(email), token)
}

// HoldsToken tells whether Lifeboat keeps a token for the member's old
// account (the move through the old server's API needs one).
func (m *Mover) HoldsToken(ctx context.Context, email string) (bool, error) {
	tok, err := m.token(ctx, email)
	return tok != "", err
}

// token is the member's kept token on the old server, empty when none.
func (m *Mover) token(ctx context.Context, email string) (string, error) {
	var tok string
	_, err := m.get(ctx, tokenKey(email), &tok)
	return tok, err
}

// user and domain are the parts of an address Begin has checked.
func user(addr string) string   { u, _, _ := strings.Cut(addr, "@"); return u }
func domain(addr string) string { _, d, _ := strings.Cut(addr, "@"); return d }

// normal is acct (as a server lists it: bare for its own accounts) as a
// full address, lower-cased; home is the listing server's domain.
func normal(acct, home string) string {
	acct = strings.ToLower(strings.TrimPrefix(acct, "@"))
	if acct != "" && !strings.Contains(acct, "@") {
		acct += "@" + home
	}
	return acct
}
