package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lifeboat-social/lifeboat/escape/move"
	"github.com/lifeboat-social/lifeboat/groups"
)

// "Move me into the room": a member who has arrived, and who has an
// account elsewhere with followers, moves it into their new account. The
// page walks them through it one step at a time (the alias, the
// authorisation on the old server, the password or the old server's
// settings) and shows the followers coming over; while it is open it
// checks the move every so often and accepts the followers' requests.

// moveView is the move page.
type moveView struct {
	Error string
	// Begun: the member gave their old address; Plan and Guide say what
	// comes next, Status how far the move has come.
	Begun  bool
	Plan   move.Plan
	Guide  move.Guide
	Status move.Status
	// Authorised: Lifeboat holds a token for the old account (the API
	// path only).
	Authorised bool
}

// moveCheckEvery is how often the page reloads (seconds) while it waits
// for a move made elsewhere, or for followers' servers to send their
// follows.
const moveCheckEvery = 20

// moveMember is the arrived member whose path this browser opened; a
// member who has not arrived is sent to their step.
func (s *Server) moveMember(w http.ResponseWriter, r *http.Request) (groups.Member, arrivalCookie, bool) {
	if s.limited(s.redeemLimit, w, r) {
		return groups.Member{}, arrivalCookie{}, false
	}
	if s.cfg.Moves == nil {
		s.errorPage(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
		return groups.Member{}, arrivalCookie{}, false
	}
	m, a, ok := s.arrivalMember(w, r)
	if !ok {
		return m, a, false
	}
	if _, arrived := s.arrived(r.Context(), m.Email); !arrived {
		http.Redirect(w, r, s.path("/arrive"), http.StatusSeeOther)
		return m, a, false
	}
	return m, a, true
}

func (s *Server) movePage(w http.ResponseWriter, r *http.Request) {
	m, _, ok := s.moveMember(w, r)
	if !ok {
		return
	}
	s.showMove(w, r, http.StatusOK, m, "")
}

// showMove renders where the member's move stands, checking it first
// once it has begun.
func (s *Server) showMove(w http.ResponseWriter, r *http.Request, status int, m groups.Member, msg string) {
	ctx := r.Context()
	v := moveView{Error: msg}
	p, err := s.cfg.Moves.Plan(ctx, m.Email)
	switch {
	case errors.Is(err, move.ErrNotBegun):
		s.render(w, r, status, "move", "Move your account here", v)
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	v.Begun, v.Plan, v.Guide = true, p, p.Guide()
	if v.Authorised, err = s.cfg.Moves.HoldsToken(ctx, m.Email); err != nil {
		s.internal(w, r, err)
		return
	}
	refresh := 0
	if !p.ByAPI() || v.Authorised {
		st, err := s.cfg.Moves.Check(ctx, m.Email)
		if err != nil && v.Error == "" {
			v.Error = s.moveError(err)
		}
		v.Status, v.Plan = st, st.Plan
		// Reload while the move happens elsewhere, but never over the
		// password form the member may be typing into.
		if !st.Moved && (!p.ByAPI() || p.Requested) || st.Moved && st.Arrived < len(st.Followers) {
			refresh = moveCheckEvery
		}
	}
	s.renderEvery(w, r, status, "move", "Move your account here", refresh, v)
}

// movePost takes the page's forms: the old address, and the password
// for a move through the old server's API (used for that one request,
// never kept or logged).
func (s *Server) movePost(w http.ResponseWriter, r *http.Request) {
	m, _, ok := s.moveMember(w, r)
	if !ok || !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	var err error
	switch r.PostFormValue("action") {
	case "begin":
		from := strings.TrimSpace(r.PostFormValue("address"))
		if len(from) > 320 || !utf8.ValidString(from) {
			err = move.ErrAddress
		} else if _, err = s.cfg.Moves.Begin(ctx, m.Email, from); homeError(err) {
			// The old server, found as members' own servers are: the
			// same words for what can go wrong there.
			status, msg := s.homeFailed(err, "move", from)
			s.showMove(w, r, status, m, msg)
			return
		}
	case "move":
		password := r.PostFormValue("password")
		if password == "" || len(password) > 1024 {
			err = move.ErrPassword
		} else {
			_, err = s.cfg.Moves.MoveByAPI(ctx, m.Email, password)
		}
	default:
		s.errorPage(w, r, http.StatusBadRequest, "Unknown action", "Go back, reload the page and try again.")
		return
	}
	if err != nil {
		s.showMove(w, r, http.StatusUnprocessableEntity, m, s.moveError(err))
		return
	}
	http.Redirect(w, r, s.path("/move"), http.StatusSeeOther)
}

// moveAuthorize sends the browser to the old server to authorise
// Lifeboat there; the arrival cookie's nonce is the OAuth state.
func (s *Server) moveAuthorize(w http.ResponseWriter, r *http.Request) {
	m, a, ok := s.moveMember(w, r)
	if !ok {
		return
	}
	u, err := s.cfg.Moves.AuthorizeURL(r.Context(), m.Email, s.link("/move/callback"), a.Nonce)
	if err != nil {
		s.showMove(w, r, http.StatusBadGateway, m, s.moveError(err))
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// moveCallback is where the old server sends the member back.
func (s *Server) moveCallback(w http.ResponseWriter, r *http.Request) {
	m, a, ok := s.moveMember(w, r)
	if !ok {
		return
	}
	code, ok := s.oauthReturn(w, r, a, "Open the move page again in this browser and follow the steps from there.")
	if !ok {
		return
	}
	if code == "" {
		s.showMove(w, r, http.StatusBadRequest, m, "Your old server did not let Lifeboat in. Without that, Lifeboat cannot move the account for you.")
		return
	}
	if err := s.cfg.Moves.Authorized(r.Context(), m.Email, code, s.link("/move/callback")); err != nil {
		s.showMove(w, r, http.StatusBadGateway, m, s.moveError(err))
		return
	}
	// A redirect, so a reload does not reuse the one-time code.
	http.Redirect(w, r, s.path("/move"), http.StatusSeeOther)
}

// movePassEvery is how often the server checks the moves under way
// (Mover.Pass), for the members who closed their move page.
const movePassEvery = 5 * time.Minute

// movePasses runs Mover.Pass until ctx ends.
func (s *Server) movePasses(ctx context.Context) {
	t := time.NewTicker(movePassEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.cfg.Moves.Pass(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("moves", "group", s.g.Name, "err", err)
		}
	}
}

// moveError is what the member reads about a failed step; the detail
// of anything else goes to the log.
func (s *Server) moveError(err error) string {
	var refused *move.Refused
	switch {
	case errors.Is(err, move.ErrAddress):
		return "Give your old address as name@server, for example ana@mastodon.example."
	case errors.Is(err, move.ErrSameAccount):
		return "That is your new account here. Give the address of your old account."
	case errors.Is(err, move.ErrPassword):
		return "Your old server did not accept that password."
	case errors.Is(err, move.ErrWrongAccount):
		return "You let Lifeboat into another account than the one you are moving. Allow it again, signed in as your old account."
	case errors.As(err, &refused):
		reason := refused.Reason
		if utf8.RuneCountInString(reason) > 300 {
			reason = string([]rune(reason)[:300]) + "…"
		}
		return "Your old server refused the move: " + reason
	case errors.Is(err, move.ErrMovedElsewhere):
		return "Your old account has moved to another account, not to this one."
	}
	s.log.Error("move", "group", s.g.Name, "err", err)
	return "We could not reach your old server just now. Try again in a moment."
}
