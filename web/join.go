package web

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/escape/invite"
	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/homes"
	"github.com/lifeboat-social/lifeboat/internal/mailer"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// The public join page (enrolment approval or open): a stranger who saw
// the lead's post on the old network declares themselves, confirms their
// email (double opt-in), and, once let in, pledges like any member.
// Every mail to someone who joined carries a link that removes them and
// everything they gave.

// Limits of the join form's fields, in characters.
const (
	maxJoinName  = 100
	maxJoinEmail = 254
	maxJoinField = 100
)

// joinMailsPerDay caps the mails a join sends to one address in a day:
// someone typing a stranger's email again and again (after removing it)
// cannot turn the page into a mail cannon.
const joinMailsPerDay = 3

var (
	xHandleRE    = regexp.MustCompile(`^@?[A-Za-z0-9_]{1,15}$`)
	bskyHandleRE = regexp.MustCompile(`^@?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
	instaRE      = regexp.MustCompile(`^@?[A-Za-z0-9._]{1,30}$`)
)

// joinForm is what the person typed, kept to show the form again.
type joinForm struct {
	Name, Email, X, Bluesky, Instagram, Fediverse string
	Mode                                          string // "", "any" or "min"
	Threshold                                     string
	ShowName                                      bool
	// Keep: the person keeps their fediverse account for the room
	// instead of taking a new one ("I already have an account").
	Keep bool
	// Owner names the account of an export that does not say whose it
	// is; empty means a handle given above.
	Owner string
}

type joinView struct {
	Form    joinForm
	Errors  map[string]string // by field
	Problem string            // the form-wide message, first thing a screen reader hears
	Done    string            // after a join: "sent", "review"
	// Follows: the export uploaded with the join was kept.
	Follows bool
	// Upload says why the export uploaded with the join was not kept
	// (the join was).
	Upload string
	// Home: about the account the person keeps for the room; HomeDone:
	// it is connected.
	Home       string
	HomeDone   bool
	Keepable   bool   // "I already have an account" is offered
	Open       bool   // enrolment open (else approval)
	Closed     string // why joining is not possible now
	Sentence   string
	ViableMass int
	Members    int
	// UploadMax is the join page's cap, MemberUploadMax the pledge
	// page's ("32 MB", "256 MB").
	UploadMax, MemberUploadMax string
}

func (s *Server) joinable() bool { return s.g.EnrolmentOrDefault() != groups.EnrolClosed }

// hasMail: without a relay nobody can confirm their email, and joins wait
// for the lead instead.
func (s *Server) hasMail() bool {
	_, none := s.cfg.Mail.(noMail)
	return !none
}

// joinOpen answers for the join page when the request is over the
// per-IP limit or the group takes no joins, and says whether to go on.
func (s *Server) joinOpen(w http.ResponseWriter, r *http.Request) bool {
	if s.limited(s.pledgeLimit, w, r) {
		return false
	}
	if !s.joinable() {
		s.errorPage(w, r, http.StatusNotFound, "This group takes no sign-ups here",
			"The organiser invites the members of this group by email. Ask "+s.g.Lead.Name+" if you would like to come.")
		return false
	}
	return true
}

func (s *Server) joinPage(w http.ResponseWriter, r *http.Request) {
	if !s.joinOpen(w, r) {
		return
	}
	q := r.URL.Query()
	v := joinView{Form: joinForm{Mode: ""}, Done: q.Get("done"), Follows: q.Get("follows") == "1", HomeDone: q.Get("home") == "1"}
	if v.Done != "sent" && v.Done != "review" {
		v.Done, v.Follows, v.HomeDone = "", false, false
	}
	s.showJoin(w, r, http.StatusOK, v)
}

func (s *Server) showJoin(w http.ResponseWriter, r *http.Request, status int, v joinView) {
	st, err := s.Status(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	v.Open, v.Sentence, v.ViableMass, v.Members = s.g.EnrolmentOrDefault() == groups.EnrolOpen, st.Outlook.String(), s.g.ViableMass, st.Outlook.Members
	if err := pledge.CanChange(st.State, s.now(), s.g.Deadline); err != nil {
		v.Closed = closedText(st.State)
	}
	v.UploadMax, v.MemberUploadMax = sizeText(s.uploadLimit(true)), sizeText(s.uploadMax())
	v.Keepable = s.homes != nil
	s.render(w, r, status, "join", "Join "+s.g.Title, v)
}

// readJoin reads and checks the form; errs names each bad field.
func readJoin(form url.Values) (joinForm, map[string]string) {
	f := joinForm{
		Name: strings.TrimSpace(form.Get("name")), Email: strings.TrimSpace(form.Get("email")),
		X: strings.TrimSpace(form.Get("x")), Bluesky: strings.ToLower(strings.TrimSpace(form.Get("bluesky"))),
		Instagram: strings.TrimSpace(form.Get("instagram")), Fediverse: strings.ToLower(strings.TrimSpace(form.Get("fediverse"))),
		Mode: form.Get("mode"), Threshold: strings.TrimSpace(form.Get("threshold")), ShowName: form.Get("show_name") == "1",
		Owner: strings.TrimSpace(form.Get("owner")), Keep: form.Get("keep") == "1",
	}
	errs := map[string]string{}
	switch n := utf8.RuneCountInString(f.Name); {
	case n == 0:
		errs["name"] = "Please give your name, as the group knows you."
	case n > maxJoinName:
		errs["name"] = fmt.Sprintf("Your name is %d characters long; please keep it to %d.", n, maxJoinName)
	case strings.ContainsFunc(f.Name, unicode.IsControl):
		errs["name"] = "Please write your name on one line, in plain text."
	}
	switch {
	case f.Email == "":
		errs["email"] = "Please give your email address: we send the link to confirm it there."
	case len(f.Email) > maxJoinEmail:
		errs["email"] = fmt.Sprintf("That email address is %d characters long; addresses have at most %d.", len(f.Email), maxJoinEmail)
	case !groups.ValidEmail(f.Email):
		errs["email"] = "That is not an email address we can write to: write it like alice@example.org."
	}
	handle := func(field, value string, re *regexp.Regexp, shape string) {
		switch {
		case value == "":
		case utf8.RuneCountInString(value) > maxJoinField:
			errs[field] = fmt.Sprintf("That is %d characters long; handles have at most %d.", utf8.RuneCountInString(value), maxJoinField)
		case !re.MatchString(value):
			errs[field] = shape
		}
	}
	handle("x", f.X, xHandleRE, "An X (Twitter) handle is up to 15 letters, digits or _, like @alice_b.")
	handle("bluesky", f.Bluesky, bskyHandleRE, "A Bluesky handle is a domain name, like alice.bsky.social.")
	handle("instagram", f.Instagram, instaRE, "An Instagram or Threads handle is up to 30 letters, digits, . or _, like @alice.b.")
	switch {
	case f.Fediverse == "" && f.Keep:
		errs["fediverse"] = "Give the address of the account you keep, like @alice@social.example, or untick the box below it."
	case f.Fediverse == "":
	case utf8.RuneCountInString(f.Fediverse) > maxJoinField:
		errs["fediverse"] = fmt.Sprintf("That is %d characters long; handles have at most %d.", utf8.RuneCountInString(f.Fediverse), maxJoinField)
	default:
		if _, err := homes.ParseAddress(f.Fediverse); err != nil {
			errs["fediverse"] = "A fediverse address has two parts, like @alice@social.example."
		}
	}
	if n := utf8.RuneCountInString(f.Owner); n > maxJoinField {
		errs["owner"] = fmt.Sprintf("That is %d characters long; handles have at most %d.", n, maxJoinField)
	}
	switch f.Mode {
	case "", "any":
	case "min":
		if n, err := strconv.Atoi(f.Threshold); err != nil || n < 1 || n > 100000 {
			errs["threshold"] = "Please give the number of others who must go, 1 or more."
		}
	default:
		errs["mode"] = "Please choose whether to pledge now."
	}
	return f, errs
}

// joinPost takes the join form: a plain form, or, when the person chose
// a file of their follows (opt-in), a multipart one whose file comes
// last, in the same request. The file is received whole before the join
// is saved: a file too large, an upload broken off, or a server busy
// with other uploads leaves nothing saved, and the page comes back with
// what the person typed. Only then is the join saved, and the file read:
// a file that cannot be read leaves the join saved, and the page says so.
func (s *Server) joinPost(w http.ResponseWriter, r *http.Request) {
	if !s.joinOpen(w, r) {
		return
	}
	var (
		form   url.Values
		export *multipart.Part
	)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		var ok bool
		if form, export, ok = s.uploadForm(w, r, "export", "the join page", true); !ok {
			return
		}
		if export != nil && export.FileName() == "" {
			export = nil // the file field, left empty
		}
	} else {
		if !s.parseForm(w, r) {
			return
		}
		form = r.PostForm
	}
	ctx := r.Context()
	f, errs := readJoin(form)
	// Browsers forget a chosen file when the page comes back.
	again := ""
	if export != nil {
		again = " Choose your follows file again too."
	}
	if len(errs) > 0 {
		s.showJoin(w, r, http.StatusUnprocessableEntity, joinView{Form: f, Errors: errs,
			Problem: "Some of what you typed needs a change: see the messages below. Nothing was saved yet." + again})
		return
	}
	st, err := s.Status(ctx)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if err := pledge.CanChange(st.State, s.now(), s.g.Deadline); err != nil {
		s.showJoin(w, r, http.StatusConflict, joinView{Form: f, Problem: closedText(st.State)})
		return
	}
	// The server of an account kept for the room is found before
	// anything is saved: an address that leads nowhere is said at once,
	// with what was typed.
	var home homes.Home
	if f.Keep && s.homes != nil {
		if home, err = s.discoverHome(ctx, f.Fediverse); err != nil {
			status, msg := s.homeFailed(err, viaJoin, f.Fediverse)
			s.showJoin(w, r, status, joinView{Form: f, Errors: map[string]string{"fediverse": msg},
				Problem: "Your fediverse account could not be connected: see the message below. Nothing was saved yet." + again})
			return
		}
	}
	var sp *spooled
	if export != nil {
		// Nothing is read of a file sent by someone who joined before
		// (Enrol says so again as it saves, for a join made meanwhile).
		switch joined, err := s.joinedBefore(ctx, f.Email); {
		case err != nil:
			s.internal(w, r, err)
			return
		case joined:
			s.joinedAgain(w, r, f)
			return
		}
		sp, err = s.receive(w, r, export, true)
		var ue *UploadError
		switch {
		case errors.Is(err, errBusy):
			w.Header().Set("Retry-After", "60")
			s.showJoin(w, r, http.StatusServiceUnavailable, joinView{Form: f,
				Problem: busyText + " Nothing was saved yet: please send the form again in a minute or two (choose your file again too), " +
					"or join without the file now and upload it from your pledge page once you are in."})
			return
		case errors.As(err, &ue):
			s.showJoin(w, r, http.StatusUnprocessableEntity, joinView{Form: f, Errors: map[string]string{"export": ue.Msg},
				Problem: "Your follows file was not taken: see the message below. Nothing was saved yet."})
			return
		case err != nil:
			s.internal(w, r, err)
			return
		}
		defer sp.Close()
	}
	now := s.now()
	// The join and the pledge made with it are saved together or not at
	// all; the pledge counts once the join is confirmed and let in (see
	// confirmJoin).
	err = s.st.Tx(ctx, func(tx store.Store) error {
		err := campaign.Enrol(ctx, tx, s.g, store.Join{Email: f.Email, Name: f.Name, X: f.X, Bluesky: strings.TrimPrefix(f.Bluesky, "@"),
			Instagram: f.Instagram, Fediverse: f.Fediverse, CreatedAt: now})
		if err != nil || f.Mode == "" {
			return err
		}
		th, _ := strconv.Atoi(f.Threshold)
		if f.Mode == "any" {
			th = 0
		}
		return tx.Pledges().Put(ctx, store.Pledge{Group: s.g.Name, Email: f.Email, Threshold: th, ShowName: f.ShowName,
			CreatedAt: now, UpdatedAt: now})
	})
	if errors.Is(err, campaign.ErrJoined) {
		s.joinedAgain(w, r, f)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	done := "review"
	if s.hasMail() {
		done = "sent"
		if err := s.sendJoinConfirm(ctx, f.Email); err != nil {
			s.log.Error("send join confirmation", "err", err)
		}
	}
	if sp == nil {
		if !s.joinHome(w, r, f, home, done, "") {
			http.Redirect(w, r, s.link("/join?done="+done), http.StatusSeeOther)
		}
		return
	}
	// The join is saved; the file is kept as the follows of the person
	// who joined, and counts once they are let in. A refused file leaves
	// the join as it is, and the page says so. The file's slot is free
	// again as soon as it is read, before the page goes on.
	imp, err := s.importFollows(ctx, groups.Member{Name: f.Name, Email: f.Email}, sp, f.Owner)
	sp.Close()
	var ue *UploadError
	switch {
	case errors.As(err, &ue):
		if !s.joinHome(w, r, f, home, done, "Your join is saved, but the file of your follows was not kept: "+ue.Msg) {
			s.showJoin(w, r, http.StatusUnprocessableEntity, joinView{Done: done, Upload: ue.Msg})
		}
		return
	case err != nil:
		s.log.Error("import follows with a join", "group", s.g.Name, "err", err)
		s.showJoin(w, r, http.StatusInternalServerError, joinView{Done: done,
			Upload: "Something went wrong on our side while reading it, and nothing of it was kept."})
		return
	}
	s.log.Info("follows imported", "group", s.g.Name, "format", imp.Format, "follows", imp.Follows)
	s.poke() // a follow condition may hold once the person is in
	if !s.joinHome(w, r, f, home, done, "Your follows are in.") {
		http.Redirect(w, r, s.link("/join?done="+done+"&follows=1"), http.StatusSeeOther)
	}
}

// joinedBefore reports whether email is on the list already: in the
// group file, or joined from this page (campaign.Enrol's ErrJoined).
func (s *Server) joinedBefore(ctx context.Context, email string) (bool, error) {
	if _, listed := s.g.Member(email); listed {
		return true, nil
	}
	_, err := s.st.Joins().Get(ctx, s.g.Name, email)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// joinedAgain answers a join with an email on the list already. Nothing
// is read of a file sent with it: the page asks nobody who they are, and
// must not replace anyone's follows.
func (s *Server) joinedAgain(w http.ResponseWriter, r *http.Request, f joinForm) {
	s.showJoin(w, r, http.StatusConflict, joinView{Form: f, Errors: map[string]string{"email": "This email is on the group's list already."},
		Problem: "You have joined already with this email, so nothing changed. Look for our earlier email (and in your spam folder); " +
			"if you are on the list, your pledge link is in the mail that let you in, and you can upload your follows there."})
}

// joinHome sends a person who joined keeping their own account to allow
// Lifeboat on their server, and says whether it answered. A failure
// there leaves the join as it is, and the page says so.
func (s *Server) joinHome(w http.ResponseWriter, r *http.Request, f joinForm, home homes.Home, done, note string) bool {
	if home.Server == "" {
		return false
	}
	ctx := r.Context()
	j, err := s.st.Joins().Get(ctx, s.g.Name, f.Email)
	if err == nil {
		err = s.sendHome(w, r, groups.Member{Name: j.Name, Email: j.Email}, viaJoin, j.CreatedAt, home, note)
	}
	if err != nil {
		_, msg := s.homeFailed(err, viaJoin, f.Fediverse)
		s.showJoin(w, r, http.StatusBadGateway, joinView{Done: done, Home: "Your join is saved, but your account could not be connected: " + msg +
			" You can connect it later from your pledge page, whose link we send you once you are in."})
	}
	return true
}

// joinMailKey is the journal key of a mail to a person who joined: one
// per join (a person removed who joins again gets a new one). It names
// the person by their member id, a hash, not their email: the journal
// outlives a person who left, and must not keep their address.
func (s *Server) joinMailKey(kind string, j store.Join) string {
	return fmt.Sprintf("%s:%d", s.joinMailPrefix(kind, j.Email), j.CreatedAt.UnixMicro())
}

func (s *Server) joinMailPrefix(kind, email string) string {
	return "mail:" + kind + ":" + invite.MemberID(s.g.Name, email)
}

// sendJoinConfirm mails the link that confirms a join's email, once per
// join and at most joinMailsPerDay times a day to one address.
func (s *Server) sendJoinConfirm(ctx context.Context, email string) error {
	j, err := s.st.Joins().Get(ctx, s.g.Name, email)
	if err != nil {
		return err
	}
	key := s.joinMailKey("join", j)
	if done, err := s.mail.Sent(ctx, key); err != nil || done {
		return err
	}
	sent, err := s.st.Journal().List(ctx, s.mail.Run, s.joinMailPrefix("join", j.Email)+":")
	if err != nil {
		return err
	}
	recent := 0
	for _, st := range sent {
		if s.now().Sub(st.UpdatedAt) < 24*time.Hour {
			recent++
		}
	}
	if recent >= joinMailsPerDay {
		s.log.Warn("join confirmation not sent: the address had its mails for today", "group", s.g.Name)
		return nil
	}
	tok, err := invite.Sign(s.key, invite.Claims{Purpose: invite.Join, Group: s.g.Name,
		Member: invite.MemberID(s.g.Name, j.Email), Expires: s.now().Add(30 * 24 * time.Hour)})
	if err != nil {
		return err
	}
	msg, err := s.mailMessage("join", j.Email, "Confirm your email to join "+s.g.Title, map[string]any{
		"Name": firstName(j.Name), "Link": s.link("/join/confirm/" + tok), "Open": s.g.EnrolmentOrDefault() == groups.EnrolOpen,
	})
	return s.sendOnce(ctx, key, msg, err)
}

// joinOf finds the join a token of purpose names, within the per-IP
// limit of the pledge pages; on failure it has answered with a page
// saying what to do.
func (s *Server) joinOf(w http.ResponseWriter, r *http.Request, purpose invite.Purpose) (store.Join, string, bool) {
	if s.limited(s.pledgeLimit, w, r) {
		return store.Join{}, "", false
	}
	c, tok, ok := s.token(w, r, purpose)
	if !ok {
		return store.Join{}, "", false
	}
	joins, err := s.st.Joins().List(r.Context(), s.g.Name)
	if err != nil {
		s.internal(w, r, err)
		return store.Join{}, "", false
	}
	for _, j := range joins {
		if c.SameMember(s.g.Name, j.Email) {
			return j, tok, true
		}
	}
	s.errorPage(w, r, http.StatusNotFound, "You are not on the list",
		"This link belongs to someone who is no longer on the group's list: they removed themselves, or the organiser did. You can join again from the group's page.")
	return store.Join{}, "", false
}

type joinDoneView struct {
	Name, Token, PledgeURL, Sentence string
	Done, Admitted, Declined, Open   bool
	Pledged                          bool
}

func (s *Server) joinConfirmPage(w http.ResponseWriter, r *http.Request) {
	j, tok, ok := s.joinOf(w, r, invite.Join)
	if !ok {
		return
	}
	// A POST confirms: mail scanners follow links.
	s.render(w, r, http.StatusOK, "joined", "Confirm your email", joinDoneView{Name: firstName(j.Name), Token: tok})
}

func (s *Server) joinConfirmPost(w http.ResponseWriter, r *http.Request) {
	j, _, ok := s.joinOf(w, r, invite.Join)
	if !ok || !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	if err := s.confirmJoin(ctx, j); err != nil {
		s.internal(w, r, err)
		return
	}
	j, err := s.st.Joins().Get(ctx, s.g.Name, j.Email)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	st, err := s.Status(ctx)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	v := joinDoneView{Name: firstName(j.Name), Done: true, Admitted: campaign.Admitted(s.g, j), Declined: j.Decision == store.JoinDeclined,
		Open: s.g.EnrolmentOrDefault() == groups.EnrolOpen, Sentence: st.Outlook.String()}
	if v.Admitted {
		v.PledgeURL, _ = s.PledgeLink(j.Email)
		p, err := s.st.Pledges().Get(ctx, s.g.Name, j.Email)
		v.Pledged = err == nil && !p.Withdrawn
	}
	s.render(w, r, http.StatusOK, "joined", "Email confirmed", v)
}

// confirmJoin marks the join's email confirmed, and the pledge made with
// it: the one mail confirms both. The launch may now be due.
func (s *Server) confirmJoin(ctx context.Context, j store.Join) error {
	now := s.now()
	if err := s.st.Joins().Confirm(ctx, s.g.Name, j.Email, now); err != nil {
		return err
	}
	p, err := s.st.Pledges().Get(ctx, s.g.Name, j.Email)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case !p.Confirmed && !p.Withdrawn:
		p.Confirmed, p.ConfirmedAt, p.UpdatedAt = true, now, now
		if err := s.st.Pledges().Put(ctx, p); err != nil {
			return err
		}
	}
	s.poke()
	return nil
}

func (s *Server) leavePage(w http.ResponseWriter, r *http.Request) {
	j, tok, ok := s.joinOf(w, r, invite.Leave)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "leave", "Leave "+s.g.Title, leaveView{Name: firstName(j.Name), Token: tok})
}

type leaveView struct {
	Name, Token string
	Done        bool
}

func (s *Server) leavePost(w http.ResponseWriter, r *http.Request) {
	j, _, ok := s.joinOf(w, r, invite.Leave)
	if !ok || !s.parseForm(w, r) {
		return
	}
	if err := campaign.Remove(r.Context(), s.st, s.g, j.Email); err != nil && !errors.Is(err, campaign.ErrNotJoined) {
		s.internal(w, r, err)
		return
	}
	s.poke()
	s.render(w, r, http.StatusOK, "leave", "You have left "+s.g.Title, leaveView{Name: firstName(j.Name), Done: true})
}

// leaveLink is the self-removal link of a person who joined from the
// join page; "" for the lead and the file's members, whom the lead
// listed.
func (s *Server) leaveLink(email string) string {
	if _, listed := s.g.Member(email); listed || !s.joinable() || strings.EqualFold(email, s.g.Lead.Email) {
		return ""
	}
	tok, err := invite.Sign(s.key, invite.Claims{Purpose: invite.Leave, Group: s.g.Name,
		Member: invite.MemberID(s.g.Name, email), Expires: s.now().Add(2 * 365 * 24 * time.Hour)})
	if err != nil {
		return ""
	}
	return s.link("/leave/" + tok)
}

// sendJoinMails sends what the joins are due: the confirmation link
// (a join made while the relay was down), the welcome with the pledge
// link once a person is let in, and one polite mail to a person the lead
// declined. Each goes once per join (journaled).
func (s *Server) sendJoinMails(ctx context.Context) error {
	if !s.joinable() {
		return nil
	}
	joins, err := s.st.Joins().List(ctx, s.g.Name)
	if err != nil {
		return err
	}
	var errs []error
	for _, j := range joins {
		if _, listed := s.g.Member(j.Email); listed {
			continue
		}
		switch {
		case j.Decision == store.JoinDeclined:
			msg, err := s.mailMessage("declined", j.Email, "About your request to join "+s.g.Title, map[string]any{
				"Name": firstName(j.Name),
			})
			errs = append(errs, s.sendOnce(ctx, s.joinMailKey("declined", j), msg, err))
		case campaign.Admitted(s.g, j):
			link, err := s.PledgeLink(j.Email)
			if err != nil {
				return err
			}
			msg, err := s.mailMessage("welcome", j.Email, "You are in: "+s.g.Title, map[string]any{
				"Name": firstName(j.Name), "Link": link, "Viable": s.g.ViableMass,
			})
			errs = append(errs, s.sendOnce(ctx, s.joinMailKey("welcome", j), msg, err))
		case !j.Confirmed():
			if err := s.sendJoinConfirm(ctx, j.Email); err != nil && !errors.Is(err, mailer.ErrInProgress) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// member is the roster's member with email: listed in the file, or
// joined and let in.
func (s *Server) member(ctx context.Context, email string) (groups.Member, bool, error) {
	if m, ok := s.g.Member(email); ok {
		return m, true, nil
	}
	if !s.joinable() {
		return groups.Member{}, false, nil
	}
	j, err := s.st.Joins().Get(ctx, s.g.Name, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return groups.Member{}, false, nil
	case err != nil:
		return groups.Member{}, false, err
	case !campaign.Admitted(s.g, j):
		return groups.Member{}, false, nil
	}
	return groups.Member{Name: j.Name, Email: j.Email}, true, nil
}

// memberByID is member for the id a token carries.
func (s *Server) memberByID(ctx context.Context, id string) (groups.Member, bool, error) {
	if m, ok := s.members[id]; ok {
		return m, true, nil
	}
	if !s.joinable() {
		return groups.Member{}, false, nil
	}
	joins, err := s.st.Joins().List(ctx, s.g.Name)
	if err != nil {
		return groups.Member{}, false, err
	}
	for _, j := range joins {
		if invite.MemberID(s.g.Name, j.Email) == id && campaign.Admitted(s.g, j) {
			return groups.Member{Name: j.Name, Email: j.Email}, true, nil
		}
	}
	return groups.Member{}, false, nil
}

// named is the member with email for a mail's greeting; a store that
// fails here leaves the greeting without a name, not the mail unsent.
func (s *Server) named(ctx context.Context, email string) groups.Member {
	if m, ok, err := s.member(ctx, email); err == nil && ok {
		return m
	}
	return groups.Member{Email: email}
}

// rosterSize is how many members the group has now, joins let in
// included.
func (s *Server) rosterSize(ctx context.Context) (int, error) {
	r, err := campaign.Roster(ctx, s.st, s.g)
	if err != nil {
		return 0, err
	}
	return len(r.Members), nil
}

// People is the roster as the lead sees it (campaign.People).
func (s *Server) People(ctx context.Context) ([]campaign.Person, error) {
	return campaign.People(ctx, s.st, s.g)
}

// Decide records the lead's approval or refusal of a join and sends
// what it makes due: the welcome with the pledge link, or the one polite
// refusal. Without a relay the mail waits, journaled, for serve.
func (s *Server) Decide(ctx context.Context, email string, approve bool) error {
	if err := campaign.Decide(ctx, s.st, s.g, email, approve, s.now()); err != nil {
		return err
	}
	if !s.hasMail() {
		return nil
	}
	return s.sendJoinMails(ctx)
}

// Remove takes a person who joined off the group (campaign.Remove): their
// join, pledge and unused invites go.
func (s *Server) Remove(ctx context.Context, email string) error {
	return campaign.Remove(ctx, s.st, s.g, email)
}
