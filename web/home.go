package web

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/escape/invite"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/homes"
	"github.com/lifeboat-social/lifeboat/internal/netguard"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// "I already have an account": a member who keeps an account on a
// server of their own gives its address on the join, pledge or invite
// page instead of taking a new account in the room. Lifeboat finds the
// server (WebFinger), registers its app there once, and sends the member
// to authorise it; the callback keeps the member's account row with that
// server and their token. The account waits for its member
// (store.Account.Waiting): it enters the room (the mesh, the lists, the
// counts) only when the member arrives from the invite page
// (homeArrive), and the arrival engine then seeds the mesh across
// servers from it. A connected account of someone who does not pledge,
// or whose pledge's condition is never met, is never followed.
//
// The OAuth state names the member and the page they came from, and is
// signed; a cookie in the browser that started holds its nonce. A state
// cannot be replayed for another member (it is signed with theirs), nor
// finished in another browser (the nonce), nor after 30 minutes.

// HomesConfig sets how Lifeboat reaches members' own servers.
type HomesConfig struct {
	// Off: the pages do not offer "I already have an account".
	Off bool
	// AllowPrivate lets members' servers be on loopback and private
	// addresses: tests and the local demo. Public servers refuse them, so
	// that a stranger cannot make Lifeboat probe its own network.
	AllowPrivate bool
	// HTTP reaches servers over plain http (servers on this machine);
	// otherwise https only, as WebFinger requires.
	HTTP bool
	// Transport is the base transport (a local CA's roots, say); nil
	// means the default.
	Transport *http.Transport
}

// HomeArrivals is an Arrivals that can take into the room a member whose
// account lives on their own server (the account row the callback
// keeps): it seeds the mesh across servers, idempotent like Complete.
type HomeArrivals interface {
	Arrive(ctx context.Context, group, email string) (ArrivalResult, error)
}

// Where a member started connecting their own account, and where they
// go back to.
const (
	viaJoin   = "join"
	viaPledge = "pledge"
	viaInvite = "invite"
)

// homeTTL is how long a started connection may take.
const homeTTL = 30 * time.Minute

// homeState is what the OAuth state carries, signed.
type homeState struct {
	Group  string `json:"g"`
	Member string `json:"m"` // invite.MemberID
	Via    string `json:"v"`
	Server string `json:"s"` // the server's base URL
	Domain string `json:"d"` // the address's domain
	Join   int64  `json:"j,omitempty"`
	Exp    int64  `json:"e"`
	Nonce  string `json:"n"`
}

// homeForm is the "I already have an account" form on a page.
type homeForm struct {
	On        bool   // offered here
	Action    string // where the form posts
	Use       bool   // a connected account can take the member into the room from here
	Address   string // as the member typed it, to show again
	Error     string
	Connected string // the account connected already, @user@domain
}

func newHomes(cfg HomesConfig, st store.Store) *homes.Homes {
	if cfg.Off {
		return nil
	}
	return homes.New(homes.Config{Apps: st.HomeApps(), Scheme: cfg.Scheme(), Scopes: arrival.MemberScopes, HTTP: cfg.Client()})
}

// Client is the guarded HTTP client for servers members name: their
// own, and the old ones they move from (move.Config.HTTP).
func (c HomesConfig) Client() *http.Client {
	return netguard.Client(netguard.Options{AllowPrivate: c.AllowPrivate, Transport: c.Transport})
}

// Clients makes the arrival engine's API clients (arrival.Config.Client):
// the destination through the ordinary client, and every other server —
// a member's own, whose address a stranger typed — through the guarded
// one, on every request of the mesh and not only when the member
// connected: a name that resolved to a public address then may point
// inside the network later.
func (c HomesConfig) Clients(destination string) func(baseURL string) *fedi.Client {
	guard := c.Client()
	return func(baseURL string) *fedi.Client {
		if baseURL == destination {
			return fedi.New(baseURL)
		}
		return fedi.New(baseURL, fedi.WithHTTPClient(guard))
	}
}

// Scheme is how members' servers are reached (move.Config.Scheme).
func (c HomesConfig) Scheme() string {
	if c.HTTP {
		return "http"
	}
	return "https"
}

func homeCookieName(secure bool) string {
	if secure {
		return "__Host-lb_home"
	}
	return "lb_home"
}

// noHomes answers as for a missing page when the server does not offer
// "I already have an account", and says so.
func (s *Server) noHomes(w http.ResponseWriter, r *http.Request) bool {
	if s.homes != nil {
		return false
	}
	s.errorPage(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
	return true
}

// homeMessage is what the member reads about a failed connection.
func homeMessage(err error, address string) (int, string) {
	host := address
	if a, perr := homes.ParseAddress(address); perr == nil {
		host = a.Domain
	}
	switch {
	case errors.Is(err, homes.ErrAddress):
		return http.StatusUnprocessableEntity, "A fediverse address has two parts, your username and your server, like @alice@social.example."
	case errors.Is(err, homes.ErrNoAccount):
		return http.StatusUnprocessableEntity, host + " has no account " + address + ". Check the spelling: copy the address from your profile there."
	case errors.Is(err, homes.ErrForbidden):
		return http.StatusUnprocessableEntity, host + " is not on the public internet, so Lifeboat cannot connect to it. Give the address of an account on a public server."
	case errors.Is(err, homes.ErrNotMastodon):
		return http.StatusUnprocessableEntity, host + " does not answer as a Mastodon-compatible server (Mastodon, GoToSocial, and others), so Lifeboat cannot connect to your account there."
	case errors.Is(err, homes.ErrUnreachable):
		return http.StatusBadGateway, host + " does not answer just now. Try again in a few minutes; if it stays down, you can take a new account instead."
	case errors.Is(err, homes.ErrRefused):
		return http.StatusBadGateway, "Your server did not let Lifeboat in. Start again from your page, and choose to allow Lifeboat on your server."
	}
	return http.StatusBadGateway, "We could not reach your server just now. Please try again in a moment."
}

// homeError tells the errors of finding a member's server, which
// homeMessage words.
func homeError(err error) bool {
	for _, e := range []error{homes.ErrAddress, homes.ErrNoAccount, homes.ErrForbidden, homes.ErrNotMastodon, homes.ErrUnreachable} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// startHome finds the server of the address the member typed, and shows
// the page that sends them there to allow Lifeboat. On a failure it
// returns the status and what to tell the member, for the calling page
// to show with what they typed.
func (s *Server) startHome(w http.ResponseWriter, r *http.Request, m groups.Member, via string, address string) (int, string, bool) {
	home, err := s.discoverHome(r.Context(), address)
	if err == nil {
		err = s.sendHome(w, r, m, via, time.Time{}, home, "")
	}
	if err != nil {
		status, msg := s.homeFailed(err, via, address)
		return status, msg, false
	}
	return 0, "", true
}

// discoverHome finds the server of a typed address.
func (s *Server) discoverHome(ctx context.Context, address string) (homes.Home, error) {
	a, err := homes.ParseAddress(address)
	if err != nil {
		return homes.Home{}, err
	}
	return s.homes.Discover(ctx, a)
}

// homeFailed logs a failed connection and words it for the member.
func (s *Server) homeFailed(err error, via, address string) (int, string) {
	s.log.Warn("connect an account elsewhere", "group", s.g.Name, "via", via, "err", safetext.Line(err.Error()))
	return homeMessage(err, address)
}

// sendHome shows the page that sends the member to their server to
// allow Lifeboat (registering Lifeboat there first if need be); note is
// said on it first. joinedAt binds a join page's state to that join.
func (s *Server) sendHome(w http.ResponseWriter, r *http.Request, m groups.Member, via string, joinedAt time.Time, home homes.Home, note string) error {
	st := homeState{Group: s.g.Name, Member: invite.MemberID(s.g.Name, m.Email), Via: via, Server: home.Server, Domain: home.Address.Domain,
		Exp: s.now().Add(homeTTL).Unix(), Nonce: randomString()}
	if !joinedAt.IsZero() {
		st.Join = joinedAt.UnixMicro()
	}
	u, err := s.homes.AuthorizeURL(r.Context(), home.Server, s.link("/home/callback"), s.signHome(st))
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: homeCookieName(s.secure), Value: st.Nonce, Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: int(homeTTL / time.Second)})
	s.render(w, r, http.StatusOK, "home", "Connect your account",
		homeView{Address: "@" + home.Address.String(), Server: hostOf(home.Server), URL: u, Note: note, Via: via})
	return nil
}

type homeView struct{ Address, Server, URL, Note, Via string }

func (s *Server) signHome(st homeState) string {
	b, _ := json.Marshal(st)
	v := base64.RawURLEncoding.EncodeToString(b)
	return v + "." + s.mac("home", v)
}

// openHome checks a state from the callback: signed here, for this
// group, not expired, started in this browser.
func (s *Server) openHome(r *http.Request, state string) (homeState, bool) {
	v, sig, ok := strings.Cut(state, ".")
	if !ok || len(state) > 2048 || subtle.ConstantTimeCompare([]byte(sig), []byte(s.mac("home", v))) != 1 {
		return homeState{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	var st homeState
	if err != nil || json.Unmarshal(b, &st) != nil || st.Group != s.g.Name || s.now().Unix() > st.Exp {
		return homeState{}, false
	}
	c, err := r.Cookie(homeCookieName(s.secure))
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(st.Nonce)) != 1 {
		return homeState{}, false
	}
	return st, true
}

// homeMember finds the person a state names: a member for the pledge and
// invite pages; for the join page, the join it was started from (not one
// made again since).
func (s *Server) homeMember(ctx context.Context, st homeState) (groups.Member, bool, error) {
	if st.Via != viaJoin {
		return s.memberByID(ctx, st.Member)
	}
	joins, err := s.st.Joins().List(ctx, s.g.Name)
	if err != nil {
		return groups.Member{}, false, err
	}
	for _, j := range joins {
		if invite.MemberID(s.g.Name, j.Email) == st.Member && j.CreatedAt.UnixMicro() == st.Join {
			return groups.Member{Name: j.Name, Email: j.Email}, true, nil
		}
	}
	return groups.Member{}, false, nil
}

// homeCallback is where the member's server sends them back after they
// allowed (or refused) Lifeboat.
func (s *Server) homeCallback(w http.ResponseWriter, r *http.Request) {
	if s.limited(s.redeemLimit, w, r) {
		return
	}
	if s.noHomes(w, r) {
		return
	}
	q := r.URL.Query()
	st, ok := s.openHome(r, q.Get("state"))
	if !ok {
		s.errorPage(w, r, http.StatusBadRequest, "This connection did not start here",
			"It was started in another browser, or more than 30 minutes ago. Go back to your page (the link in your email) and give your address again.")
		return
	}
	code := q.Get("code")
	if q.Get("error") != "" || code == "" || len(code) > 1024 {
		s.errorPage(w, r, http.StatusBadRequest, "Lifeboat was not allowed",
			"Without your permission Lifeboat cannot follow the group for you from your account. Go back to your page to try again, or take a new account instead.")
		return
	}
	ctx := r.Context()
	m, ok, err := s.homeMember(ctx, st)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "You are not on the list",
			"This connection belongs to someone who is no longer on the group's list.")
		return
	}
	if step, _ := s.step(ctx, m.Email); step != stepNew {
		s.errorPage(w, r, http.StatusConflict, "You have an account in the room already",
			"You made an account on "+s.serverName()+" with your invite, so Lifeboat keeps that one. Open your invite link to go on.")
		return
	}
	c, err := s.homes.Connect(ctx, st.Server, s.link("/home/callback"), code)
	if err != nil {
		status, msg := s.homeFailed(err, st.Via, st.Domain)
		s.errorPage(w, r, status, "Not connected", msg)
		return
	}
	acc := store.Account{Group: s.g.Name, Email: m.Email, Server: st.Server, ID: c.ID,
		Username: c.Username, Acct: c.Username + "@" + st.Domain, Token: c.Token, Waiting: true}
	_, in, err := s.member(ctx, m.Email)
	switch {
	case err != nil:
	case in:
		err = s.st.Accounts().Put(ctx, acc)
	default:
		// Someone who joined and is not in yet (email unconfirmed, or the
		// lead has not decided): the account waits in the journal, and is
		// kept as connected when they are let in (settleHomes).
		b, _ := json.Marshal(pendingHome{Account: acc, Joined: st.Join})
		s.journalDone(ctx, pendingHomeKey(st.Member), b)
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: homeCookieName(s.secure), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure})
	s.log.Info("account elsewhere connected", "group", s.g.Name, "via", st.Via, "server", safetext.Line(hostOf(st.Server)))
	switch st.Via {
	case viaJoin:
		done := "review"
		if s.hasMail() {
			done = "sent"
		}
		http.Redirect(w, r, s.path("/join?done="+done+"&home=1"), http.StatusSeeOther)
	case viaPledge:
		link, err := s.PledgeLink(m.Email)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		http.Redirect(w, r, link+"?done=home", http.StatusSeeOther)
	default:
		s.homeArrive(w, r, m, c.URL)
	}
}

// homeArrive takes a member whose own account is connected into the
// room, from the invite page: the engine seeds the mesh across servers.
func (s *Server) homeArrive(w http.ResponseWriter, r *http.Request, m groups.Member, profile string) {
	ctx := r.Context()
	ha, ok := s.cfg.Arrivals.(HomeArrivals)
	if !ok {
		s.internal(w, r, errors.New("the arrival engine cannot take members whose account is on another server"))
		return
	}
	if _, arrived := s.arrived(ctx, m.Email); !arrived {
		res, err := ha.Arrive(ctx, s.g.Name, m.Email)
		if err != nil {
			var pe PublicError
			msg := "Your account is connected, but we could not finish taking you into the room. Open your invite link to try again in a moment."
			if errors.As(err, &pe) {
				msg = pe.PublicMessage()
			}
			s.log.Error("arrive from another server", "group", s.g.Name, "err", safetext.Line(err.Error()))
			s.errorPage(w, r, http.StatusBadGateway, "Not finished yet", msg)
			return
		}
		if res.ProfileURL == "" {
			res.ProfileURL = profile
		}
		b, _ := json.Marshal(res)
		s.markRedeemed(ctx, m.Email)
		s.journalDone(ctx, doneKey(m.Email), b)
		s.log.Info("arrived from another server", "group", s.g.Name, "following", res.Following, "followers", res.Followers)
	}
	http.Redirect(w, r, s.path("/arrive"), http.StatusSeeOther)
}

// connectedHome is the member's own account when one is connected: the
// "@user@domain" to show, or "".
func (s *Server) connectedHome(ctx context.Context, email string) string {
	a, err := s.st.Accounts().Get(ctx, s.g.Name, email)
	if err != nil || a.Acct == "" || !strings.Contains(a.Acct, "@") {
		return ""
	}
	if s.existing() && !a.Remote(strings.TrimRight(s.g.Destination.Server, "/")) {
		return ""
	}
	return "@" + a.Acct
}

// homeFormFor is the form as a page shows it for email; action is where
// it posts (the invite page's takes "use" too).
func (s *Server) homeFormFor(ctx context.Context, email, action, address, msg string) homeForm {
	if step, _ := s.step(ctx, email); s.homes == nil || step != stepNew {
		return homeForm{} // a member with an account in the room keeps it
	}
	return homeForm{On: true, Action: s.path(action), Use: action == "/arrive/home", Address: address, Error: msg,
		Connected: s.connectedHome(ctx, email)}
}

// pledgeHome takes the pledge page's "I already have an account" form.
func (s *Server) pledgeHome(w http.ResponseWriter, r *http.Request) {
	if s.limited(s.pledgeLimit, w, r) {
		return
	}
	m, tok, ok := s.tokenMember(w, r, invite.Pledge)
	if !ok || !s.parseForm(w, r) || s.noHomes(w, r) {
		return
	}
	address := strings.TrimSpace(r.PostFormValue("address"))
	if status, msg, ok := s.startHome(w, r, m, viaPledge, address); !ok {
		s.showPledgeHome(w, r, status, m, tok, "", s.homeFormFor(r.Context(), m.Email, "/pledge/"+tok+"/home", address, msg))
	}
}

// arriveHome takes the invite page's "I already have an account" form:
// with an address, the member connects it; with "use", the account they
// connected on their pledge page takes them into the room.
func (s *Server) arriveHome(w http.ResponseWriter, r *http.Request) {
	m, a, ok := s.arrivalForm(w, r)
	if !ok || s.noHomes(w, r) {
		return
	}
	ctx := r.Context()
	if step, _ := s.step(ctx, m.Email); step != stepNew {
		s.showStep(w, r, http.StatusOK, m, a, "", "")
		return
	}
	if r.PostFormValue("action") == "use" {
		if s.connectedHome(ctx, m.Email) == "" {
			s.showInviteHome(w, r, http.StatusConflict, m, "", "", s.homeFormFor(ctx, m.Email, "/arrive/home", "", "No account of yours is connected yet: give its address."))
			return
		}
		s.homeArrive(w, r, m, "")
		return
	}
	address := strings.TrimSpace(r.PostFormValue("address"))
	if status, msg, ok := s.startHome(w, r, m, viaInvite, address); !ok {
		s.showInviteHome(w, r, status, m, "", "", s.homeFormFor(ctx, m.Email, "/arrive/home", address, msg))
	}
}

// pendingHome is an account connected from the join page by someone not
// let in yet, kept (sealed) in the journal until they are; then it is
// connected, waiting for them to arrive.
type pendingHome struct {
	Account store.Account `json:"account"`
	Joined  int64         `json:"joined"` // the join's time, in µs: a join made again is another
}

func pendingHomeKey(member string) string { return "home:join:" + member }

// settleHomes keeps the accounts connected from the join page as their
// people's (connected, waiting for them to arrive) once they are let in,
// and forgets those of people who left or were declined: whichever way
// that happened (this server, the lead's CLI), the next tick settles it,
// and no token outlives its join.
func (s *Server) settleHomes(ctx context.Context) error {
	steps, err := s.st.Journal().List(ctx, s.run(), pendingHomeKey(""))
	if err != nil {
		return err
	}
	var errs []error
	for _, step := range steps {
		var p pendingHome
		if step.Status != store.StepDone || json.Unmarshal(step.Result, &p) != nil || p.Account.Email == "" {
			continue
		}
		j, err := s.st.Joins().Get(ctx, s.g.Name, p.Account.Email)
		switch {
		case errors.Is(err, store.ErrNotFound), err == nil && (j.CreatedAt.UnixMicro() != p.Joined || j.Decision == store.JoinDeclined):
		case err != nil:
			errs = append(errs, err)
			continue
		case campaign.Admitted(s.g, j):
			// An account made or connected since (err == nil) wins. This
			// one waits for its member's arrival like every connected
			// account (older entries did not say so).
			_, err := s.st.Accounts().Get(ctx, s.g.Name, j.Email)
			if errors.Is(err, store.ErrNotFound) {
				p.Account.Waiting = true
				err = s.st.Accounts().Put(ctx, p.Account)
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
		default:
			continue // not decided yet
		}
		s.journalDone(ctx, step.Key, []byte("{}"))
	}
	return errors.Join(errs...)
}
