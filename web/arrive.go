package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lifeboat-social/lifeboat/admission"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/invite"
	"github.com/lifeboat-social/lifeboat/store"
)

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,30}$`)

type inviteView struct {
	Name, Username, Action, Error, Expires string
	Existing                               bool
	Server, SignUpURL, Proof               string
}

type authorizeView struct {
	URL, Server string
	Created     bool
}

// Journal keys of a member's arrival, in the server's run.
func accountKey(email string) string { return "arrive:account:" + strings.ToLower(email) }
func doneKey(email string) string    { return "arrive:done:" + strings.ToLower(email) }

func (s *Server) invitePage(w http.ResponseWriter, r *http.Request) {
	if s.limited(s.redeemLimit, w, r) {
		return
	}
	tok := r.PathValue("token")
	inv, err := invite.Check(r.Context(), s.st.Invites(), s.pub, tok, s.now())
	if errors.Is(err, invite.ErrUsed) {
		if a, ok := s.getArrival(r); ok && a.Member == invite.MemberID(s.g.Name, inv.Email) {
			http.Redirect(w, r, "/arrive", http.StatusSeeOther)
			return
		}
	}
	if err != nil {
		s.tokenError(w, r, err)
		return
	}
	m, ok := s.g.Member(inv.Email)
	if !ok {
		s.tokenError(w, r, invite.ErrUnknown)
		return
	}
	s.showInvite(w, r, http.StatusOK, m, "/invite/"+tok, inv.ExpiresAt, "", "")
}

func (s *Server) showInvite(w http.ResponseWriter, r *http.Request, status int, m groups.Member, action string, expires time.Time, username, msg string) {
	if username == "" {
		username = s.g.Username(m.Email)
	}
	v := inviteView{Name: firstName(m.Name), Username: username, Action: action, Error: msg,
		Expires: expires.UTC().Format("2 January 2006")}
	if s.g.Destination.Type == groups.DestExisting {
		v.Existing, v.Server = true, hostOf(s.g.Destination.Server)
		v.SignUpURL = strings.TrimRight(s.g.Destination.Server, "/") + "/auth/sign_up"
		// The proof the server's admin (`lifeboat admin watch`) checks:
		// bound to this member's email, inside the admitted window.
		proof, _, err := admission.MemberProof(r.Context(), s.st, s.g.Name, s.g.Destination.Server, m.Email)
		if err != nil {
			s.internal(w, r, fmt.Errorf("no admission request for %s: run `lifeboat request` and have the admin accept it: %w", s.g.Destination.Server, err))
			return
		}
		v.Proof = admission.Reason(s.g.Title, proof)
	}
	s.render(w, r, status, "invite", "Your invite", v)
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

func (s *Server) invitePost(w http.ResponseWriter, r *http.Request) {
	if s.limited(s.redeemLimit, w, r) {
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	tok := r.PathValue("token")
	existing := s.g.Destination.Type == groups.DestExisting
	// Check the form before the token is used up.
	inv, err := invite.Check(ctx, s.st.Invites(), s.pub, tok, s.now())
	if err != nil {
		s.tokenError(w, r, err)
		return
	}
	m, ok := s.g.Member(inv.Email)
	if !ok {
		s.tokenError(w, r, invite.ErrUnknown)
		return
	}
	var username, password, msg string
	if !existing {
		if username, password, msg = checkAccountForm(r); msg != "" {
			s.showInvite(w, r, http.StatusUnprocessableEntity, m, "/invite/"+tok, inv.ExpiresAt, username, msg)
			return
		}
	}
	// Exactly one request wins the token; it binds this browser to the
	// member's arrival with a cookie, so a failure below can be retried
	// on /arrive without the (now used) link.
	if _, err := invite.Redeem(ctx, s.st.Invites(), s.pub, tok, s.now()); err != nil {
		s.tokenError(w, r, err)
		return
	}
	a := arrivalCookie{Member: invite.MemberID(s.g.Name, m.Email), Nonce: randomString(), Expires: s.now().Add(24 * time.Hour)}
	s.setArrival(w, a)
	s.log.Info("invite redeemed", "group", s.g.Name)
	if !existing && !s.createAccount(w, r, m, username, password, inv.ExpiresAt) {
		return
	}
	s.showAuthorize(w, r, m, a, !existing)
}

// createAccount asks the arrival engine for the account and journals it;
// on failure it has shown the form again, on /arrive.
func (s *Server) createAccount(w http.ResponseWriter, r *http.Request, m groups.Member, username, password string, expires time.Time) bool {
	if s.cfg.Arrivals == nil {
		s.internal(w, r, errors.New("no arrival engine configured"))
		return false
	}
	ctx := r.Context()
	err := s.cfg.Arrivals.CreateAccount(ctx, s.g.Name, m.Email, username, password)
	if err != nil {
		var pe PublicError
		msg := "We could not create the account just now. Please try again in a moment."
		if errors.As(err, &pe) {
			msg = pe.PublicMessage()
		} else {
			s.log.Error("create account", "group", s.g.Name, "err", err)
		}
		s.showInvite(w, r, http.StatusBadGateway, m, "/arrive", expires, username, msg)
		return false
	}
	s.journalDone(ctx, accountKey(m.Email), []byte(`{"username":`+jsonString(username)+`}`))
	return true
}

func (s *Server) showAuthorize(w http.ResponseWriter, r *http.Request, m groups.Member, a arrivalCookie, created bool) {
	if s.cfg.Arrivals == nil {
		s.internal(w, r, errors.New("no arrival engine configured"))
		return
	}
	u, err := s.cfg.Arrivals.AuthorizeURL(r.Context(), s.g.Name, s.link("/callback"), a.Nonce)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "authorize", "Connect your account", authorizeView{URL: u, Server: hostOf(u), Created: created})
}

// arrivalMember is the member whose arrival this browser started.
func (s *Server) arrivalMember(w http.ResponseWriter, r *http.Request) (groups.Member, arrivalCookie, bool) {
	a, ok := s.getArrival(r)
	if ok {
		if m, ok := s.members[a.Member]; ok {
			return m, a, true
		}
	}
	s.errorPage(w, r, http.StatusForbidden, "Open your invite link first",
		"This page continues an invite started in this browser. Open the invite link from your email here.")
	return groups.Member{}, arrivalCookie{}, false
}

func (s *Server) arrivePage(w http.ResponseWriter, r *http.Request) {
	if s.limited(s.redeemLimit, w, r) {
		return
	}
	m, a, ok := s.arrivalMember(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if res, ok := s.arrived(ctx, m.Email); ok {
		s.render(w, r, http.StatusOK, "arrived", "You have arrived", res)
		return
	}
	created := s.g.Destination.Type == groups.DestExisting
	if !created {
		st, err := s.st.Journal().Get(ctx, s.run(), accountKey(m.Email))
		created = err == nil && st.Status == store.StepDone
	}
	if created {
		s.showAuthorize(w, r, m, a, false)
		return
	}
	s.showInvite(w, r, http.StatusOK, m, "/arrive", a.Expires, "", "")
}

func (s *Server) arrivePost(w http.ResponseWriter, r *http.Request) {
	if s.limited(s.redeemLimit, w, r) {
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	m, a, ok := s.arrivalMember(w, r)
	if !ok {
		return
	}
	if s.g.Destination.Type == groups.DestExisting {
		s.showAuthorize(w, r, m, a, false)
		return
	}
	username, password, msg := checkAccountForm(r)
	if msg != "" {
		s.showInvite(w, r, http.StatusUnprocessableEntity, m, "/arrive", a.Expires, username, msg)
		return
	}
	if s.createAccount(w, r, m, username, password, a.Expires) {
		s.showAuthorize(w, r, m, a, true)
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
	q := r.URL.Query()
	state, code := q.Get("state"), q.Get("code")
	if len(state) > 256 || subtle.ConstantTimeCompare([]byte(state), []byte(a.Nonce)) != 1 {
		s.errorPage(w, r, http.StatusBadRequest, "This sign-in did not start here",
			"Open your invite link again in this browser and follow the steps from there.")
		return
	}
	if q.Get("error") != "" || code == "" || len(code) > 1024 {
		s.errorPage(w, r, http.StatusBadRequest, "Lifeboat was not allowed",
			"Without your permission Lifeboat cannot follow the group for you. Go back to /arrive to try again.")
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
			msg := "We could not finish connecting your account. Open /arrive to try again in a moment."
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
	http.Redirect(w, r, "/arrive", http.StatusSeeOther)
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

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }
