package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/analyze/follows"
	"github.com/lifeboat-social/lifeboat/analyze/groupgraph"
	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/escape/invite"
	"github.com/lifeboat-social/lifeboat/groups"
)

// DefaultUploadMax caps an export uploaded on a pledge page: a Bluesky
// repository or a Mastodon list is a few megabytes, an X archive with its
// media can be gigabytes, and the follow lists are a few megabytes of it.
const DefaultUploadMax = 256 << 20

// DefaultJoinUploadMax caps an export uploaded with a join: the join page
// is anyone's, so it takes what most people have (a Mastodon or
// Instagram list, a Bluesky repository), and a larger file waits for the
// person's pledge page, once they are let in, or goes to the lead.
const DefaultJoinUploadMax = 32 << 20

// formSlack is what an upload form holds besides its file: the other
// fields (maxUploadFields of at most maxUploadFieldSize) and the
// multipart headers and boundaries around them.
const formSlack = 64 << 10

// UploadError is an upload refused for a reason the member can fix: its
// message says what to do, and is shown as it is.
type UploadError struct{ Msg string }

func (e *UploadError) Error() string         { return e.Msg }
func (e *UploadError) PublicMessage() string { return e.Msg }

// spooled is an export received whole, in a file that has no name on
// disk (Uploads.create); Close removes it and gives its slot back.
type spooled struct {
	name    string // as the browser named it
	f       *os.File
	n       int64
	release func()
}

// Close may be called more than once: the pages give the slot back as
// soon as the file is read, and again on their way out.
func (sp *spooled) Close() {
	if sp.f != nil {
		sp.f.Close()
		sp.release()
		sp.f = nil
	}
}

// receive spools the export in part (one file field of a multipart
// form, the form's last) whole, before anything of it is read or
// anything of the request is saved: an upload that is too large, broken
// off or refused because the server is busy leaves nothing behind. public
// says it comes from the join page (no token), with its cap and slots.
//
// A file the request declares too large (its Content-Length) is refused
// before a byte of it is read, and so is every upload while the slots are
// taken (errBusy). Both answers close the connection: Go's server would
// otherwise read on (up to 256 KB) before it answers, waiting on a line
// that is slow, or held open on purpose. Errors the person can fix are
// *UploadError.
func (s *Server) receive(w http.ResponseWriter, r *http.Request, part *multipart.Part, public bool) (*spooled, error) {
	max := s.uploadLimit(public)
	if r.ContentLength > max+formSlack {
		w.Header().Set("Connection", "close")
		return nil, s.tooLarge(public)
	}
	release, ok := s.uploads.take(public)
	if !ok {
		w.Header().Set("Connection", "close")
		return nil, errBusy
	}
	f, err := s.uploads.create()
	if err != nil {
		release()
		return nil, err
	}
	sp := &spooled{name: part.FileName(), f: f, release: release}
	sp.n, err = io.Copy(f, io.LimitReader(part, max+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || sp.n > max:
		err = s.tooLarge(public)
	case err != nil:
		err = &UploadError{"The upload broke off before the end. Please try again."}
	}
	if err != nil {
		sp.Close()
		return nil, err
	}
	return sp, nil
}

// tooLarge says what to do with a file over the cap: on the join page,
// join without it and upload it once let in; past the pledge page's cap,
// only the lead can import it.
func (s *Server) tooLarge(public bool) error {
	if max := s.uploadLimit(public); public && max < s.uploadMax() {
		return &UploadError{fmt.Sprintf("The file is larger than %s, the most this page takes before you are let in. "+
			"Join without it (send the form again as it is now), and once you are in, upload it from your pledge page, which takes up to %s; "+
			"or ask %s to import it for you.", sizeText(max), sizeText(s.uploadMax()), s.g.Lead.Name)}
	}
	return &UploadError{fmt.Sprintf("The file is larger than %s, the most this page takes. "+
		"An X archive holds your media too: ask %s to import it for you instead.", sizeText(s.uploadMax()), s.g.Lead.Name)}
}

// sizeText words a cap for the pages: "32 MB", or "4 KB" for a small one.
func sizeText(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", (n+1<<10-1)>>10)
}

// importFollows reads the export received in sp, for m (a member, or a
// person who has just joined from the join page: theirs count once they
// are let in), and keeps in the store what the group's graph needs of it
// (see groupgraph.Import): the member's own identity and follow lists.
// The file itself is never stored. owner names the account for an export
// that does not say whose it is (a Mastodon CSV, Instagram's files);
// empty means a handle they gave. Errors the member can fix are
// *UploadError.
func (s *Server) importFollows(ctx context.Context, m groups.Member, sp *spooled, owner string) (groupgraph.Imported, error) {
	ex, err := follows.ReadAt(sp.name, sp.f, sp.n, groupgraph.Limits)
	if err != nil {
		return groupgraph.Imported{}, uploadError(err)
	}
	if owner != "" {
		if err := ex.SetOwner(owner); err != nil {
			return groupgraph.Imported{}, uploadError(err)
		}
	}
	r, err := campaign.Roster(ctx, s.st, s.g)
	if err != nil {
		return groupgraph.Imported{}, err
	}
	imp, err := groupgraph.Import(ctx, s.st, r, m.Email, ex, s.now())
	switch {
	case errors.Is(err, groupgraph.ErrOtherMember):
		return groupgraph.Imported{}, &UploadError{"This export is another member's, not yours. Upload your own."}
	case errors.Is(err, follows.ErrNoOwner):
		return groupgraph.Imported{}, &UploadError{fmt.Sprintf("This %s does not say whose it is: write your account on that network (for example %s) in the box and upload it again.",
			ex.Format, ownerExample(ex.Network))}
	}
	return imp, err
}

// uploadError words an importer's refusal for the member.
func uploadError(err error) error {
	var fe *follows.Error
	if errors.As(err, &fe) {
		return &UploadError{"We could not read this file: " + fe.Error() + "."}
	}
	return err
}

func ownerExample(n follows.Network) string {
	if n == follows.Meta {
		return "ada.example"
	}
	return "@ada@social.example"
}

// uploadTime is how long an upload of at most max bytes may take: a
// minute, and the file at 4 Mbit/s (256 MB: nine and a half minutes;
// the join page's 32 MB: two). A connection held open on purpose is held
// no longer.
func uploadTime(max int64) time.Duration {
	return time.Minute + time.Duration(max/(512<<10))*time.Second
}

// uploadMax is the pledge page's cap.
func (s *Server) uploadMax() int64 {
	if s.cfg.UploadMax > 0 {
		return s.cfg.UploadMax
	}
	return DefaultUploadMax
}

// uploadLimit is the cap of the join page (public) or the pledge page:
// the join page's is never more than the pledge page's.
func (s *Server) uploadLimit(public bool) int64 {
	if !public {
		return s.uploadMax()
	}
	max := s.cfg.JoinUploadMax
	if max <= 0 {
		max = DefaultJoinUploadMax
	}
	return min(max, s.uploadMax())
}

// answerTime is how long a page has to answer once the file is in: the
// write timeout Serve gives every page.
const answerTime = 5 * time.Minute

// Limits of a form with a file besides the file: its other fields.
const (
	maxUploadFields    = 32
	maxUploadFieldSize = 1 << 10
)

// uploadForm reads a form with a file (multipart/form-data) as a stream,
// in the order the page puts its fields: the CSRF token and the other
// fields, then the file field named file, which it returns unread for the
// caller to stream (nil when the form ends without it). The token must
// come before the file, so nothing of a forged request's file is read.
// public says it is the join page's form (uploadLimit).
// On failure it has answered with a page saying what to do (again names
// the page to go back to) and ok is false.
func (s *Server) uploadForm(w http.ResponseWriter, r *http.Request, file, again string, public bool) (form url.Values, part *multipart.Part, ok bool) {
	// The server's timeouts are for forms; an export of a few hundred
	// megabytes on a slow line takes minutes to come, and the answer
	// (written after the file is read) must not find its own deadline
	// long past.
	max := s.uploadLimit(public)
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(uploadTime(max)))
	rc.SetWriteDeadline(time.Now().Add(uploadTime(max) + answerTime))
	r.Body = http.MaxBytesReader(w, r.Body, max+formSlack)
	mr, err := r.MultipartReader()
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Form not understood", "Go back to "+again+", reload it and send the form again.")
		return nil, nil, false
	}
	form = url.Values{}
	csrf := false
	for range maxUploadFields {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			part = nil
		} else if err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "Form not understood", "Go back to "+again+", reload it and send the form again.")
			return nil, nil, false
		}
		if part == nil || part.FormName() == file {
			if !csrf {
				s.errorPage(w, r, http.StatusForbidden, "This form has expired",
					"The page was open too long, or cookies are blocked. Go back to "+again+", reload it and send the form again.")
				return nil, nil, false
			}
			return form, part, true
		}
		v, err := io.ReadAll(io.LimitReader(part, maxUploadFieldSize+1))
		if err != nil || len(v) > maxUploadFieldSize {
			s.errorPage(w, r, http.StatusRequestEntityTooLarge, "Form too large or malformed", "Go back to "+again+" and try again.")
			return nil, nil, false
		}
		if part.FormName() == "csrf" {
			csrf = s.checkCSRFValue(r, string(v))
			continue
		}
		form.Add(part.FormName(), string(v))
	}
	s.errorPage(w, r, http.StatusBadRequest, "Form not understood", "Go back to "+again+", reload it and send the form again.")
	return nil, nil, false
}

// followsUpload takes the pledge page's upload form: the CSRF token, the
// optional owner, then the file, read as a stream in that order so that
// nothing is read from a forged request.
func (s *Server) followsUpload(w http.ResponseWriter, r *http.Request) {
	if s.limited(s.pledgeLimit, w, r) {
		return
	}
	m, tok, ok := s.tokenMember(w, r, invite.Pledge)
	if !ok {
		return
	}
	form, part, ok := s.uploadForm(w, r, "export", "your pledge page", false)
	if !ok {
		return
	}
	if part == nil || part.FileName() == "" {
		s.showPledge(w, r, http.StatusUnprocessableEntity, m, tok, "Choose a file to upload: the export you downloaded from your network.")
		return
	}
	sp, err := s.receive(w, r, part, false)
	if errors.Is(err, errBusy) {
		w.Header().Set("Retry-After", "60")
		s.showPledge(w, r, http.StatusServiceUnavailable, m, tok, busyText+" Please try again in a minute or two.")
		return
	}
	var imp groupgraph.Imported
	if err == nil {
		imp, err = s.importFollows(r.Context(), m, sp, strings.TrimSpace(form.Get("owner")))
		sp.Close()
	}
	var ue *UploadError
	switch {
	case errors.As(err, &ue):
		s.showPledge(w, r, http.StatusUnprocessableEntity, m, tok, ue.Msg)
	case err != nil:
		s.internal(w, r, err)
	default:
		s.log.Info("follows imported", "group", s.g.Name, "format", imp.Format, "follows", imp.Follows)
		s.poke() // a follow condition may hold now
		http.Redirect(w, r, s.path("/pledge/"+tok+"?done=follows"), http.StatusSeeOther)
	}
}

// busyText says the server took no file because it receives as many as it
// takes at once (see Uploads).
const busyText = "Many people are sending their files right now, and this server takes only a few at once, so yours was not taken."

// followsDelete removes everything imported of the member's follows.
func (s *Server) followsDelete(w http.ResponseWriter, r *http.Request) {
	if s.limited(s.pledgeLimit, w, r) {
		return
	}
	m, tok, ok := s.tokenMember(w, r, invite.Pledge)
	if !ok || !s.parseForm(w, r) {
		return
	}
	if _, err := groupgraph.Delete(r.Context(), s.st, s.g, m.Email); err != nil {
		s.internal(w, r, err)
		return
	}
	s.poke()
	http.Redirect(w, r, s.path("/pledge/"+tok+"?done=unfollowed"), http.StatusSeeOther)
}

// followsView is the pledge page's part on the member's follows.
type followsView struct {
	Imports []string // "X archive of x:ada, 412 follows"
	// Retention says how many of the people the member follows are in
	// the launch set; empty without imported follows.
	Retention string
	// InGroup is how many members of the group the member follows: the
	// most a follow condition can ask.
	InGroup   int
	UploadMax string // "256 MB"
}

func (s *Server) followsOf(ctx context.Context, m groups.Member, st campaign.Status) (followsView, error) {
	v := followsView{UploadMax: sizeText(s.uploadMax())}
	r, err := campaign.Roster(ctx, s.st, s.g)
	if err != nil {
		return v, err
	}
	gg, err := groupgraph.Load(ctx, s.st, r)
	if err != nil {
		return v, err
	}
	email := strings.ToLower(m.Email)
	for _, imp := range gg.Imports[email] {
		v.Imports = append(v.Imports, fmt.Sprintf("%s of %s: you follow %d", imp.Format, imp.Self, imp.Follows))
	}
	if len(v.Imports) == 0 {
		return v, nil
	}
	if k, ok := gg.Retention(st.Going)[email]; ok {
		v.Retention = k.String()
	}
	for _, u := range gg.Out(gg.Node[email]) {
		if int(u) < gg.Members {
			v.InGroup++
		}
	}
	return v, nil
}
