package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/escape/invite"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
)

// A member's path from the invite link to a full room. An invite is one
// account per member, not one click: the link opens the member's path
// at the step they reached, in any browser, any number of times, until
// they have arrived. Lifeboat's side never makes a second account for a
// member: account creation runs once per member (a lock here, the
// journal across processes), and both server kinds refuse a second
// account for the same email.

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,30}$`)

// Steps of a member's path, in order.
const (
	stepNew       = iota // no account yet: the form (or the server's sign-up page)
	stepSigningUp        // an account is being made (another request holds it)
	stepAccount          // the account exists (approval pending on an existing server)
	stepArrived          // authorised and in the mesh
)

// signingUpFor is how long a sign-up that was started and never finished
// counts as under way; after that it was a crash and is tried again.
const signingUpFor = 2 * time.Minute

type inviteView struct {
	Name, Email, Username, Error string
	Existing, ViaAPI             bool
	Server, SignUpURL, Proof     string
	Home                         homeForm
	// Moves: the arrived page will offer to move an old account here
	// (/move), so the invite says so beside "I already have an account".
	Moves bool
}

// arrivedView is the arrived page: what the member found on arrival,
// and the room's mesh now ("312 of 380 follows made; the rest after
// 00:00 UTC tomorrow" where the server's daily follow limit holds the
// rest back).
type arrivedView struct {
	ArrivalResult
	Progress string
	Moves    bool // the member may move an old account here (/move)
}

type accountView struct {
	URL, Server, Handle, Email string
	Existing, Created          bool
}

// Journal keys of a member's arrival, in the server's run.
func accountKey(email string) string { return "arrive:account:" + strings.ToLower(email) }
func doneKey(email string) string    { return "arrive:done:" + strings.ToLower(email) }

// accountRecord is what the journal keeps of a member's account: the
// username (empty when the server had one for the email already and did
// not say which). Never the password.
type accountRecord struct {
	Username string `json:"username"`
}

func (s *Server) existing() bool { return s.g.Destination.Type == groups.DestExisting }

// invitePage opens the member's path: it binds this browser to the
// member (the OAuth round trip comes back to it) and shows where the
// member stands.
func (s *Server) invitePage(w http.ResponseWriter, r *http.Request) {
	if s.limited(s.redeemLimit, w, r) {
		return
	}
	if _, ok := s.inviteMember(w, r); !ok {
		return
	}
	http.Redirect(w, r, s.path("/arrive"), http.StatusSeeOther)
}

// inviteMember checks the invite in the path and binds this browser to
// its member. A used invite still opens the path: "used" means the
// member started it, and they may go on in another browser.
func (s *Server) inviteMember(w http.ResponseWriter, r *http.Request) (groups.Member, bool) {
	inv, err := invite.Check(r.Context(), s.st.Invites(), s.pub, r.PathValue("token"), s.now())
	if errors.Is(err, invite.ErrUsed) {
		if _, arrived := s.arrived(r.Context(), inv.Email); arrived || s.now().Before(inv.ExpiresAt) || inv.ExpiresAt.IsZero() {
			err = nil
		} else {
			err = invite.ErrExpired
		}
	}
	if err != nil {
		s.tokenError(w, r, err)
		return groups.Member{}, false
	}
	m, ok, err := s.member(r.Context(), inv.Email)
	if err != nil {
		s.internal(w, r, err)
		return groups.Member{}, false
	}
	if !ok {
		s.tokenError(w, r, invite.ErrUnknown)
		return groups.Member{}, false
	}
	id := invite.MemberID(s.g.Name, m.Email)
	if a, ok := s.getArrival(r); !ok || a.Member != id {
		s.setArrival(w, arrivalCookie{Member: id, Nonce: randomString(), Expires: s.now().Add(24 * time.Hour)})
	}
	return m, true
}

// arrivalMember is the member whose path this browser opened.
func (s *Server) arrivalMember(w http.ResponseWriter, r *http.Request) (groups.Member, arrivalCookie, bool) {
	a, ok := s.getArrival(r)
	if ok {
		m, ok, err := s.memberByID(r.Context(), a.Member)
		if err != nil {
			s.internal(w, r, err)
			return groups.Member{}, arrivalCookie{}, false
		}
		if ok {
			return m, a, true
		}
	}
	s.errorPage(w, r, http.StatusForbidden, "Open your invite link first",
		"This page continues your invite. Open the invite link from your email, in this browser or any other.")
	return groups.Member{}, arrivalCookie{}, false
}

// step is where the member stands, read from the journal.
func (s *Server) step(ctx context.Context, email string) (int, accountRecord) {
	if _, ok := s.arrived(ctx, email); ok {
		return stepArrived, accountRecord{}
	}
	st, err := s.st.Journal().Get(ctx, s.run(), accountKey(email))
	switch {
	case err != nil:
		return stepNew, accountRecord{}
	case st.Status == store.StepDone:
		var rec accountRecord
		json.Unmarshal(st.Result, &rec)
		return stepAccount, rec
	case st.Status == store.StepStarted && s.now().Sub(st.UpdatedAt) < signingUpFor:
		return stepSigningUp, accountRecord{}
	}
	return stepNew, accountRecord{}
}

func (s *Server) arrivePage(w http.ResponseWriter, r *http.Request) {
	if s.limited(s.redeemLimit, w, r) {
		return
	}
	m, a, ok := s.arrivalMember(w, r)
	if !ok {
		return
	}
	s.showStep(w, r, http.StatusOK, m, a, "", "")
}

// showStep renders the member's current step; username and msg refill
// the form after a refused try.
func (s *Server) showStep(w http.ResponseWriter, r *http.Request, status int, m groups.Member, a arrivalCookie, username, msg string) {
	ctx := r.Context()
	step, rec := s.step(ctx, m.Email)
	switch step {
	case stepArrived:
		res, _ := s.arrived(ctx, m.Email)
		v := arrivedView{ArrivalResult: res, Moves: s.cfg.Moves != nil}
		refresh := 0
		if room, err := arrival.ReadRoom(ctx, s.st, s.g, s.destination()); err != nil {
			s.log.Error("read the room", "group", s.g.Name, "err", err)
		} else if v.Progress = room.Progress(s.now()); room.Follows < room.FollowsTotal {
			refresh = 300 // the room is still filling: show it as it grows
		}
		s.renderEvery(w, r, status, "arrived", "You have arrived", refresh, v)
	case stepSigningUp:
		s.renderEvery(w, r, status, "error", "Your account is being made", 3,
			errorView{Heading: "Your account is being made", Message: "This takes a few seconds; this page updates itself."})
	case stepAccount:
		s.showAccount(w, r, status, m, a, rec, false)
	default:
		s.showInvite(w, r, status, m, username, msg)
	}
}

func (s *Server) showInvite(w http.ResponseWriter, r *http.Request, status int, m groups.Member, username, msg string) {
	s.showInviteHome(w, r, status, m, username, msg, s.homeFormFor(r.Context(), m.Email, "/arrive/home", "", ""))
}

// showInviteHome is showInvite with the "I already have an account" form
// as given.
func (s *Server) showInviteHome(w http.ResponseWriter, r *http.Request, status int, m groups.Member, username, msg string, home homeForm) {
	if username == "" {
		username = s.g.Username(m.Email)
	}
	v := inviteView{Name: firstName(m.Name), Email: m.Email, Username: username, Error: msg, ViaAPI: true, Home: home,
		Moves: s.cfg.Moves != nil}
	if s.existing() {
		if s.cfg.SignUps == nil {
			s.internal(w, r, errors.New("no sign-up door for the existing server (it could not be scouted when serve started)"))
			return
		}
		reason, err := s.reason(r.Context(), m.Email)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		v.Existing, v.Server, v.Proof = true, hostOf(s.g.Destination.Server), reason
		v.ViaAPI, v.SignUpURL = s.cfg.SignUps.ViaAPI(), s.cfg.SignUps.Page()
	}
	s.render(w, r, status, "invite", "Your invite", v)
}

// reason is the sign-up reason carrying the member's admission proof,
// which the server's admin (`lifeboat admin watch`) checks: bound to the
// member's email, inside the admitted window. It fits every server's
// reason field.
func (s *Server) reason(ctx context.Context, email string) (string, error) {
	proof, _, err := admission.MemberProof(ctx, s.st, s.g.Name, s.g.Destination.Server, email)
	if err != nil {
		return "", fmt.Errorf("no admission request for %s: run `lifeboat request` and have the admin accept it: %w", s.g.Destination.Server, err)
	}
	reason := admission.Reason(s.g.Title, proof)
	if n := utf8.RuneCountInString(reason); n < existing.MinReason || n > existing.MaxReason {
		return "", fmt.Errorf("the sign-up reason has %d characters; servers take %d to %d", n, existing.MinReason, existing.MaxReason)
	}
	return reason, nil
}

// showAccount is the step after the account exists: on an existing
// server, confirming the email and the admin's approval come first.
// The page updates itself, so a member who finishes in another browser
// sees it here too.
func (s *Server) showAccount(w http.ResponseWriter, r *http.Request, status int, m groups.Member, a arrivalCookie, rec accountRecord, created bool) {
	if s.cfg.Arrivals == nil {
		s.internal(w, r, errors.New("no arrival engine configured"))
		return
	}
	u, err := s.cfg.Arrivals.AuthorizeURL(r.Context(), s.g.Name, s.link("/callback"), a.Nonce)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	v := accountView{URL: u, Server: hostOf(u), Email: m.Email, Existing: s.existing(), Created: created}
	if rec.Username != "" {
		v.Handle = "@" + rec.Username + "@" + v.Server
		if s.cfg.SignUps != nil && s.existing() {
			v.Handle = "@" + rec.Username + "@" + s.cfg.SignUps.Domain()
		}
	}
	title := "Connect your account"
	if v.Existing {
		title = "Confirm your email"
	}
	s.renderEvery(w, r, status, "authorize", title, 30, v)
}

// checkAccountForm validates the username and password fields; msg is
// what to tell the member when they are not acceptable.
func checkAccountForm(r *http.Request) (username, password, msg string) {
	username = strings.TrimSpace(r.PostFormValue("username"))
	password = r.PostFormValue("password")
	switch {
	case !usernameRE.MatchString(username):
		return "", "", "Choose a username of 1 to 30 letters, digits or _."
	case utf8.RuneCountInString(password) < 8 || len(password) > 64:
		return username, "", "Choose a password of 8 to 64 characters."
	case password != r.PostFormValue("password2"):
		return username, "", "The two passwords differ; type them again."
	}
	return username, password, ""
}

// invitePost is the form posted from an invite page opened before this
// server redirected invite links to /arrive.
func (s *Server) invitePost(w http.ResponseWriter, r *http.Request) {
	if s.limited(s.redeemLimit, w, r) {
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	m, ok := s.inviteMember(w, r)
	if !ok {
		return
	}
	a, _ := s.getArrival(r)
	if a.Member != invite.MemberID(s.g.Name, m.Email) {
		// the cookie was set on this response: nothing to continue yet
		http.Redirect(w, r, s.path("/arrive"), http.StatusSeeOther)
		return
	}
	s.makeAccount(w, r, m, a)
}

func (s *Server) arrivePost(w http.ResponseWriter, r *http.Request) {
	if m, a, ok := s.arrivalForm(w, r); ok {
		s.makeAccount(w, r, m, a)
	}
}

// arrivalForm reads a form posted on the member's path, within the
// redemption limit, and finds the member; on failure it has answered.
func (s *Server) arrivalForm(w http.ResponseWriter, r *http.Request) (groups.Member, arrivalCookie, bool) {
	if s.limited(s.redeemLimit, w, r) || !s.parseForm(w, r) {
		return groups.Member{}, arrivalCookie{}, false
	}
	return s.arrivalMember(w, r)
}

// memberLock serialises account creation per member in this process;
// the journal's "started" mark does it across processes.
func (s *Server) memberLock(email string) *sync.Mutex {
	l, _ := s.locks.LoadOrStore(strings.ToLower(email), &sync.Mutex{})
	return l.(*sync.Mutex)
}

// makeAccount makes the member's account from the posted form, once: a
// member who has one (made in another browser, say) is shown their step.
func (s *Server) makeAccount(w http.ResponseWriter, r *http.Request, m groups.Member, a arrivalCookie) {
	ctx := r.Context()
	claimed := s.existing() && r.PostFormValue("action") == "signed-up"
	var username, password, msg string
	if claimed {
		username = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("username")), "@"))
		if !usernameRE.MatchString(username) {
			msg = "Type the username you chose on the server: letters, digits and _, up to 30."
		}
	} else {
		username, password, msg = checkAccountForm(r)
	}
	if msg != "" {
		s.showInvite(w, r, http.StatusUnprocessableEntity, m, username, msg)
		return
	}
	lock := s.memberLock(m.Email)
	lock.Lock()
	defer lock.Unlock()
	if step, _ := s.step(ctx, m.Email); step != stepNew {
		s.showStep(w, r, http.StatusOK, m, a, "", "")
		return
	}
	// The journal's entry is the lock across processes: Start is atomic
	// and says what stood there before.
	j := s.st.Journal()
	prev, err := j.Start(ctx, s.run(), accountKey(m.Email))
	switch {
	case err != nil && !errors.Is(err, store.ErrNotFound):
		s.internal(w, r, err)
		return
	case err == nil && prev.Status == store.StepDone:
		// made by another process since we looked: put it back
		s.journalDone(ctx, accountKey(m.Email), prev.Result)
		s.showStep(w, r, http.StatusOK, m, a, "", "")
		return
	case err == nil && prev.Status == store.StepStarted && s.now().Sub(prev.UpdatedAt) < signingUpFor:
		// another process is making it now
		s.showStep(w, r, http.StatusOK, m, a, "", "")
		return
	}
	switch {
	case claimed:
		err = s.claimAccount(ctx, username)
	case s.existing():
		err = s.signUp(ctx, m, username, password)
	case s.cfg.Arrivals == nil:
		err = errors.New("no arrival engine configured")
	default:
		err = s.cfg.Arrivals.CreateAccount(ctx, s.g.Name, m.Email, username, password)
	}
	if errors.Is(err, existing.ErrEmailTaken) {
		// The server has this member's account already (an earlier try,
		// or the server's own page): go on with it.
		username, err = "", nil
	}
	if err != nil {
		j.Fail(context.WithoutCancel(ctx), s.run(), accountKey(m.Email), err.Error())
		status, say := s.accountError(err, username)
		s.showInvite(w, r, status, m, username, say)
		return
	}
	b, _ := json.Marshal(accountRecord{Username: username})
	s.journalDone(ctx, accountKey(m.Email), b)
	s.markRedeemed(ctx, m.Email)
	s.log.Info("account made", "group", s.g.Name, "existing", s.existing())
	s.showAccount(w, r, http.StatusOK, m, a, accountRecord{Username: username}, !s.existing())
}

// signUp signs the member up on the existing server through its API,
// with their admission proof as the reason; the password goes to the
// server in this one request and is kept nowhere.
func (s *Server) signUp(ctx context.Context, m groups.Member, username, password string) error {
	if s.cfg.SignUps == nil || !s.cfg.SignUps.ViaAPI() {
		return errNoAPISignUp
	}
	reason, err := s.reason(ctx, m.Email)
	if err != nil {
		return err
	}
	return s.cfg.SignUps.SignUp(ctx, username, m.Email, password, reason)
}

var errNoAPISignUp = errors.New("this server takes sign-ups on its own page only")

// errNoAccount: a member said they signed up as a name the server does
// not know (yet).
var errNoAccount = errors.New("no such account on the server")

// claimAccount takes the member's word that they signed up on the
// server's own page as username, once the server knows the name. The
// name is only shown back to them: the account Lifeboat acts for is the
// one the member authorises.
func (s *Server) claimAccount(ctx context.Context, username string) error {
	ok, err := s.cfg.SignUps.Exists(ctx, username)
	if err != nil {
		return err
	}
	if !ok {
		return errNoAccount
	}
	return nil
}

// accountError is the status and sentence for a refused account.
func (s *Server) accountError(err error, username string) (int, string) {
	var pe PublicError
	switch {
	case errors.Is(err, provision.ErrUsernameTaken):
		return http.StatusConflict, "The username " + username + " is taken on " + s.serverName() + ". Choose another one."
	case errors.Is(err, errNoAccount):
		return http.StatusUnprocessableEntity, s.serverName() + " shows no account " + username + " yet. Sign up on its page first; if you have, confirm the email the server sent you, then type the username again."
	case errors.Is(err, existing.ErrFull):
		return http.StatusServiceUnavailable, s.serverName() + " takes no more sign-ups today. Open this link again tomorrow: it keeps your place."
	case errors.Is(err, errNoAPISignUp):
		return http.StatusConflict, "Sign up on the server's own page, then tell us the username you chose."
	case errors.As(err, &pe):
		return http.StatusBadGateway, pe.PublicMessage()
	}
	s.log.Error("make account", "group", s.g.Name, "err", err)
	return http.StatusBadGateway, "We could not make the account just now. Please try again in a moment."
}

func (s *Server) serverName() string {
	if s.existing() {
		return hostOf(s.g.Destination.Server)
	}
	return "the group's server"
}

// markRedeemed records that the member's invite has been used to make an
// account (for the organiser's counts); the link keeps working until
// the member has arrived.
func (s *Server) markRedeemed(ctx context.Context, email string) {
	invs, err := s.st.Invites().List(ctx, s.g.Name)
	if err != nil {
		s.log.Error("list invites", "err", err)
		return
	}
	for _, inv := range invs {
		if strings.EqualFold(inv.Email, email) && inv.RedeemedAt.IsZero() {
			if err := s.st.Invites().Redeem(ctx, inv.TokenHash, s.now()); err != nil && !errors.Is(err, store.ErrConflict) {
				s.log.Error("mark invite used", "err", err)
			}
		}
	}
}

// callback is where the destination sends the member back after they
// authorised Lifeboat.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	if s.limited(s.redeemLimit, w, r) {
		return
	}
	m, a, ok := s.arrivalMember(w, r)
	if !ok {
		return
	}
	code, ok := s.oauthReturn(w, r, a, "Open your invite link again in this browser and follow the steps from there.")
	if !ok {
		return
	}
	if code == "" {
		s.errorPage(w, r, http.StatusBadRequest, "Lifeboat was not allowed",
			"Without your permission Lifeboat cannot follow the group for you. Open your invite link to try again.")
		return
	}
	if s.cfg.Arrivals == nil {
		s.internal(w, r, errors.New("no arrival engine configured"))
		return
	}
	ctx := r.Context()
	if _, ok := s.arrived(ctx, m.Email); !ok {
		res, err := s.cfg.Arrivals.Complete(ctx, s.g.Name, m.Email, code, s.link("/callback"))
		if err != nil {
			var pe PublicError
			msg := "We could not finish connecting your account. Open your invite link to try again in a moment."
			if errors.As(err, &pe) {
				msg = pe.PublicMessage()
			}
			s.log.Error("complete arrival", "group", s.g.Name, "err", err)
			s.errorPage(w, r, http.StatusBadGateway, "Not finished yet", msg)
			return
		}
		b, _ := json.Marshal(res)
		s.journalDone(ctx, doneKey(m.Email), b)
		s.log.Info("arrived", "group", s.g.Name, "following", res.Following, "followers", res.Followers)
	}
	// A redirect, so a reload does not reuse the one-time code.
	http.Redirect(w, r, s.path("/arrive"), http.StatusSeeOther)
}

// arrived returns the stored result of the member's arrival.
func (s *Server) arrived(ctx context.Context, email string) (ArrivalResult, bool) {
	st, err := s.st.Journal().Get(ctx, s.run(), doneKey(email))
	if err != nil || st.Status != store.StepDone {
		return ArrivalResult{}, false
	}
	var res ArrivalResult
	return res, json.Unmarshal(st.Result, &res) == nil
}

func (s *Server) run() string { return "web:" + s.g.Name }

func (s *Server) journalDone(ctx context.Context, key string, result []byte) {
	ctx = context.WithoutCancel(ctx)
	if _, err := s.st.Journal().Start(ctx, s.run(), key); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("journal", "key", key, "err", err)
		return
	}
	if err := s.st.Journal().Finish(ctx, s.run(), key, result); err != nil {
		s.log.Error("journal", "key", key, "err", err)
	}
}
