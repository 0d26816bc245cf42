package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/escape/invite"
	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.landing)
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /static/style.css", serveCSS)
	mux.HandleFunc("GET /pledge/{token}", s.pledgePage)
	mux.HandleFunc("POST /pledge/{token}", s.pledgePost)
	mux.HandleFunc("POST /pledge/{token}/follows", s.followsUpload)
	mux.HandleFunc("POST /pledge/{token}/home", s.pledgeHome)
	mux.HandleFunc("POST /pledge/{token}/follows/delete", s.followsDelete)
	mux.HandleFunc("GET /confirm/{token}", s.confirmPage)
	mux.HandleFunc("POST /confirm/{token}", s.confirmPost)
	mux.HandleFunc("GET /join", s.joinPage)
	mux.HandleFunc("POST /join", s.joinPost)
	mux.HandleFunc("GET /join/confirm/{token}", s.joinConfirmPage)
	mux.HandleFunc("POST /join/confirm/{token}", s.joinConfirmPost)
	mux.HandleFunc("GET /leave/{token}", s.leavePage)
	mux.HandleFunc("POST /leave/{token}", s.leavePost)
	mux.HandleFunc("GET /invite/{token}", s.invitePage)
	mux.HandleFunc("POST /invite/{token}", s.invitePost)
	mux.HandleFunc("GET /arrive", s.arrivePage)
	mux.HandleFunc("POST /arrive", s.arrivePost)
	mux.HandleFunc("GET /callback", s.callback)
	mux.HandleFunc("POST /arrive/home", s.arriveHome)
	mux.HandleFunc("GET /home/callback", s.homeCallback)
	mux.HandleFunc("GET /move", s.movePage)
	mux.HandleFunc("POST /move", s.movePost)
	mux.HandleFunc("GET /move/authorize", s.moveAuthorize)
	mux.HandleFunc("GET /move/callback", s.moveCallback)
	mux.HandleFunc("GET /made-it", s.madeIt)
	mux.HandleFunc("GET /card.png", s.card)
	mux.HandleFunc("GET /made-it/follows.csv", s.arrivedOnly(s.followsCSV))
	mux.HandleFunc("GET /made-it/group.json", s.arrivedOnly(s.groupJSON))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowed(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.errorPage(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This page cannot be used that way.")
			return
		}
		s.errorPage(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
	})
	return s.secureHeaders(s.recoverer(s.throttle(mux)))
}

// allowed lists the methods some route serves at r's path. The catch-all
// route matches every method, so without it a page asked for with the
// wrong method would read as missing.
func allowed(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	return allow
}

// throttle applies the per-IP page limit to every request, pages that
// have their own tighter limits included: a page without one (the
// landing page, /made-it, /healthz) is as good a target for a flood.
func (s *Server) throttle(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.limited(s.pageLimit, w, r) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// recoverer turns a panic into a logged 500 page.
func (s *Server) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "path", r.URL.Path, "panic", v)
				s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong", "Something went wrong on our side. Please try again in a moment.")
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// internal logs err and answers 500 without details.
func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("request failed", "path", routeOf(r), "err", err)
	s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong",
		"Something went wrong on our side. Please try again in a moment; if it keeps happening, tell the organiser.")
}

// routeOf is the path with any token cut off, for logs.
func routeOf(r *http.Request) string {
	p := r.URL.Path
	for _, pre := range []string{"/pledge/", "/confirm/", "/invite/", "/join/confirm/", "/leave/"} {
		if strings.HasPrefix(p, pre) {
			return pre + "…"
		}
	}
	return p
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if err := s.st.Ping(r.Context()); err != nil {
		s.log.Error("healthz", "err", err)
		http.Error(w, "store unreachable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

type landingView struct {
	State, LaunchedAt, Sentence string
	Going, ViableMass, Need     int
	// Remote is how many of the Going keep their own accounts on other
	// servers: they count like everyone.
	Remote int
	Names  []string
}

func (s *Server) landing(w http.ResponseWriter, r *http.Request) {
	st, err := s.Status(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	remote, err := campaign.ReadElsewhere(r.Context(), s.st, s.g, s.destination(), st)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	v := landingView{State: st.State, Going: st.Outlook.Going, ViableMass: s.g.ViableMass,
		Sentence: st.Outlook.String(), Need: st.Outlook.NeedForViable, Remote: remote.Going}
	if !st.LaunchedAt.IsZero() {
		v.LaunchedAt = st.LaunchedAt.UTC().Format("2 January 2006")
	}
	for _, p := range st.Pledges {
		if p.ShowName {
			v.Names = append(v.Names, firstName(s.named(r.Context(), p.Email).Name))
		}
	}
	s.render(w, nil, http.StatusOK, "landing", s.g.Title, v)
}

// tokenMember checks a personal link's token and finds its member; on
// failure it has answered with a page saying what to do.
func (s *Server) tokenMember(w http.ResponseWriter, r *http.Request, purpose invite.Purpose) (groups.Member, string, bool) {
	c, tok, ok := s.token(w, r, purpose)
	if !ok {
		return groups.Member{}, "", false
	}
	m, ok, err := s.memberByID(r.Context(), c.Member)
	if err != nil {
		s.internal(w, r, err)
		return groups.Member{}, "", false
	}
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "You are not on the list",
			"This link belongs to someone who is no longer on the group's list. If that is you, ask "+s.g.Lead.Name+" to add you again.")
		return groups.Member{}, "", false
	}
	return m, tok, true
}

// token checks the personal link's token in the path, signed for this
// group and purpose; on failure it has answered with a page saying what
// to do.
func (s *Server) token(w http.ResponseWriter, r *http.Request, purpose invite.Purpose) (invite.Claims, string, bool) {
	tok := r.PathValue("token")
	c, err := invite.Parse(s.pub, purpose, tok, s.now())
	if err == nil && c.Group != s.g.Name {
		err = invite.ErrForged
	}
	if err != nil {
		s.tokenError(w, r, err)
		return invite.Claims{}, "", false
	}
	return c, tok, true
}

func (s *Server) tokenError(w http.ResponseWriter, r *http.Request, err error) {
	lead := s.g.Lead.Name
	switch {
	case errors.Is(err, invite.ErrExpired):
		s.errorPage(w, r, http.StatusGone, "This link has expired", "Ask "+lead+" to send you a new one.")
	case errors.Is(err, invite.ErrUnknown):
		s.errorPage(w, r, http.StatusGone, "This invite is no longer valid",
			"A newer invite may have replaced it: look for a later email, or ask "+lead+" for a new one.")
	case errors.Is(err, invite.ErrMalformed), errors.Is(err, invite.ErrForged), errors.Is(err, invite.ErrPurpose):
		s.errorPage(w, r, http.StatusBadRequest, "This link is not valid",
			"Copy the whole link from your email into the address bar; links break when they are cut or changed. If it still does not work, ask "+lead+" for a new one.")
	default:
		s.internal(w, r, err)
	}
}

type pledgeView struct {
	Name, Token, Sentence, Flash, Closed string
	LateUntil                            string // after the launch: when the invite window closes
	ViableMass, MaxThreshold, Suggest    int
	Pledged, Confirmed, Going, ShowName  bool
	Threshold                            int
	FollowThreshold                      int // 0: no condition on the people the member follows
	Follows                              followsView
	Home                                 homeForm
}

var flashes = map[string]string{
	"sent":       "Thank you! We sent you an email: open the link in it to confirm your pledge. It counts once confirmed.",
	"saved":      "Your pledge is updated.",
	"withdrawn":  "Your pledge is withdrawn. You can pledge again until the group launches.",
	"home":       "Your account is connected. When the group moves, Lifeboat follows everyone in the room from it, and has them follow you, across servers.",
	"follows":    "Thank you: your follows are in. Only the organiser sees whom you follow; the file itself was not kept.",
	"unfollowed": "Your follows are deleted. A condition on the people you follow cannot hold without them.",
}

func (s *Server) pledgePage(w http.ResponseWriter, r *http.Request) {
	if s.limited(s.pledgeLimit, w, r) {
		return
	}
	m, tok, ok := s.tokenMember(w, r, invite.Pledge)
	if !ok {
		return
	}
	s.showPledge(w, r, http.StatusOK, m, tok, flashes[r.URL.Query().Get("done")])
}

func (s *Server) showPledge(w http.ResponseWriter, r *http.Request, status int, m groups.Member, tok, flash string) {
	s.showPledgeHome(w, r, status, m, tok, flash, s.homeFormFor(r.Context(), m.Email, "/pledge/"+tok+"/home", "", ""))
}

// showPledgeHome is showPledge with the "I already have an account"
// form as given (what the member typed, and what to fix).
func (s *Server) showPledgeHome(w http.ResponseWriter, r *http.Request, status int, m groups.Member, tok, flash string, home homeForm) {
	ctx := r.Context()
	st, err := s.Status(ctx)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	v := pledgeView{Name: firstName(m.Name), Token: tok, Sentence: st.Outlook.String(), Flash: flash,
		ViableMass: s.g.ViableMass, MaxThreshold: st.Outlook.Members - 1, Suggest: min(s.g.ViableMass-1, st.Outlook.Members-1),
		Going: st.Going[strings.ToLower(m.Email)], Home: home}
	p, err := s.st.Pledges().Get(ctx, s.g.Name, m.Email)
	switch {
	case err == nil && !p.Withdrawn:
		v.Pledged, v.Confirmed, v.Threshold, v.ShowName, v.FollowThreshold = true, p.Confirmed, p.Threshold, p.ShowName, p.FollowThreshold
	case err == nil:
		v.ShowName = p.ShowName
	case !errors.Is(err, store.ErrNotFound):
		s.internal(w, r, err)
		return
	}
	if v.Follows, err = s.followsOf(ctx, m, st); err != nil {
		s.internal(w, r, err)
		return
	}
	if err := s.pledgeClosed(st.State, st.LaunchedAt, v.Going); err != nil {
		v.Closed = closedText(st.State)
	} else if !st.LaunchedAt.IsZero() {
		v.LateUntil = st.LaunchedAt.Add(s.cfg.InviteTTL).UTC().Format("2 January 2006")
	}
	s.render(w, r, status, "pledge", "Your pledge", v)
}

func closedText(state string) string {
	switch state {
	case pledge.StateLaunched, pledge.StateArrived:
		return "The group has launched: pledges are closed. If you pledged and the group's conditions held for you, your invite is in your email."
	case pledge.StateFailed:
		return "The deadline passed without enough pledges; nothing launched. Pledges are closed."
	}
	return "Pledges are closed: the deadline has passed."
}

// pledgesOpen answers the page saying why when pledges can no longer be
// made or changed (launched, failed, past the deadline).
func (s *Server) pledgesOpen(w http.ResponseWriter, r *http.Request, email string) bool {
	st, err := s.Status(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return false
	}
	if s.pledgeClosed(st.State, st.LaunchedAt, st.Going[strings.ToLower(email)]) != nil {
		s.errorPage(w, r, http.StatusConflict, "Pledges are closed", closedText(st.State))
		return false
	}
	return true
}

func (s *Server) pledgePost(w http.ResponseWriter, r *http.Request) {
	if s.limited(s.pledgeLimit, w, r) {
		return
	}
	m, tok, ok := s.tokenMember(w, r, invite.Pledge)
	if !ok || !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	if !s.pledgesOpen(w, r, m.Email) {
		return
	}
	old, err := s.st.Pledges().Get(ctx, s.g.Name, m.Email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.internal(w, r, err)
		return
	}
	exists := err == nil
	p := old
	p.Group, p.Email, p.UpdatedAt = s.g.Name, m.Email, s.now()
	done := "saved"
	switch r.PostFormValue("action") {
	case "withdraw":
		if !exists {
			http.Redirect(w, r, s.path("/pledge/"+tok), http.StatusSeeOther)
			return
		}
		p.Withdrawn, done = true, "withdrawn"
	case "pledge":
		th := 0
		switch r.PostFormValue("mode") {
		case "any":
		case "min":
			size, err := s.rosterSize(ctx)
			if err != nil {
				s.internal(w, r, err)
				return
			}
			n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("threshold")))
			if err != nil || n < 1 || pledge.CheckThreshold(n, size) != nil {
				s.showPledge(w, r, http.StatusUnprocessableEntity, m, tok,
					"Please give a number of others from 1 to "+strconv.Itoa(size-1)+".")
				return
			}
			th = n
		default:
			s.showPledge(w, r, http.StatusUnprocessableEntity, m, tok, "Please choose when you will go.")
			return
		}
		ft, ok := s.followThreshold(w, r, m, tok)
		if !ok {
			return
		}
		p.Threshold, p.FollowThreshold, p.ShowName, p.Withdrawn = th, ft, r.PostFormValue("show_name") == "1", false
		if !p.Confirmed {
			done = "sent"
		}
	default:
		s.errorPage(w, r, http.StatusBadRequest, "Unknown action", "Go back to your pledge page and use its buttons.")
		return
	}
	if err := s.st.Pledges().Put(ctx, p); err != nil {
		s.internal(w, r, err)
		return
	}
	if !p.Withdrawn && !p.Confirmed {
		s.queueConfirm(m.Email)
	}
	if p.Confirmed {
		s.poke() // the cascade changed
	}
	http.Redirect(w, r, s.path("/pledge/"+tok+"?done="+done), http.StatusSeeOther)
}

// followThreshold reads the pledge form's condition on the people the
// member follows: from 1 to the members of the group they follow, and
// only with follows imported; 0 when not asked. On bad input it has
// answered with the pledge page saying what to fix.
func (s *Server) followThreshold(w http.ResponseWriter, r *http.Request, m groups.Member, tok string) (int, bool) {
	if r.PostFormValue("follows_mode") != "1" {
		return 0, true
	}
	st, err := s.Status(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return 0, false
	}
	fv, err := s.followsOf(r.Context(), m, st)
	if err != nil {
		s.internal(w, r, err)
		return 0, false
	}
	switch {
	case len(fv.Imports) == 0:
		s.showPledge(w, r, http.StatusUnprocessableEntity, m, tok,
			"A condition on the people you follow needs your follows: upload your export below first.")
		return 0, false
	case fv.InGroup == 0:
		s.showPledge(w, r, http.StatusUnprocessableEntity, m, tok,
			"Nobody you follow is in the group yet, so a condition on them could not hold.")
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("follow_threshold")))
	if err != nil || n < 1 || n > fv.InGroup {
		s.showPledge(w, r, http.StatusUnprocessableEntity, m, tok,
			"Please give a number of people you follow from 1 to "+strconv.Itoa(fv.InGroup)+", the members of the group you follow.")
		return 0, false
	}
	return n, true
}

type confirmView struct {
	Name, Token, Sentence, PledgeURL string
	Done                             bool
}

func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request) {
	if s.limited(s.pledgeLimit, w, r) {
		return
	}
	m, tok, ok := s.tokenMember(w, r, invite.Confirm)
	if !ok {
		return
	}
	// Confirm takes a POST: mail scanners follow links in mail.
	s.render(w, r, http.StatusOK, "confirm", "Confirm your pledge", confirmView{Name: firstName(m.Name), Token: tok})
}

func (s *Server) confirmPost(w http.ResponseWriter, r *http.Request) {
	if s.limited(s.pledgeLimit, w, r) {
		return
	}
	m, _, ok := s.tokenMember(w, r, invite.Confirm)
	if !ok || !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	if !s.pledgesOpen(w, r, m.Email) {
		return
	}
	p, err := s.st.Pledges().Get(ctx, s.g.Name, m.Email)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.Withdrawn) {
		s.errorPage(w, r, http.StatusConflict, "No pledge to confirm", "You have no pledge at the moment: open your pledge link from the first email to pledge.")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if !p.Confirmed {
		p.Confirmed, p.ConfirmedAt, p.UpdatedAt = true, s.now(), s.now()
		if err := s.st.Pledges().Put(ctx, p); err != nil {
			s.internal(w, r, err)
			return
		}
		s.poke()
	}
	st, err := s.Status(ctx)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	link, _ := s.PledgeLink(m.Email)
	s.render(w, r, http.StatusOK, "confirm", "Pledge confirmed", confirmView{Name: firstName(m.Name), Done: true,
		Sentence: st.Outlook.String(), PledgeURL: link})
}
