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

// DefaultUploadMax caps an uploaded export: a Bluesky repository or a
// Mastodon list is a few megabytes, an X archive with its media can be
// gigabytes, and the follow lists are a few megabytes of it.
const DefaultUploadMax = 256 << 20

// UploadError is an upload refused for a reason the member can fix: its
// message says what to do, and is shown as it is.
type UploadError struct{ Msg string }

func (e *UploadError) Error() string         { return e.Msg }
func (e *UploadError) PublicMessage() string { return e.Msg }

// ImportFollows reads the export in part (one file field of a multipart
// form), for m (a member, or a person who has just joined from the join
// page: theirs count once they are let in), and keeps in the store what the group's graph
// needs of it (see groupgraph.Import): the member's own identity and
// follow lists. The file is spooled to a temporary file that is unlinked
// before anything is written to it, so it has no name on disk and is gone
// when the request ends, even after a crash; it is never stored. owner
// names the account for an export that does not say whose it is (a
// Mastodon CSV, Instagram's files); empty means a handle they gave.
//
// The pledge page's upload form uses it; so can any page that has the
// member and the multipart part (the join page). Errors the member can
// fix are *UploadError.
func (s *Server) ImportFollows(ctx context.Context, m groups.Member, part *multipart.Part, owner string) (groupgraph.Imported, error) {
	name := part.FileName()
	if name == "" {
		return groupgraph.Imported{}, &UploadError{"Choose a file to upload: the export you downloaded from your network."}
	}
	f, err := os.CreateTemp("", "lifeboat-upload-*")
	if err != nil {
		return groupgraph.Imported{}, err
	}
	os.Remove(f.Name())
	defer f.Close()
	max := s.uploadMax()
	n, err := io.Copy(f, io.LimitReader(part, max+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || n > max:
		return groupgraph.Imported{}, &UploadError{fmt.Sprintf("The file is larger than %d MB, the most this page takes. "+
			"An X archive holds your media too: ask %s to import it for you instead.", max>>20, s.g.Lead.Name)}
	case err != nil:
		return groupgraph.Imported{}, &UploadError{"The upload broke off before the end. Please try again."}
	}
	ex, err := follows.ReadAt(name, f, n, groupgraph.Limits)
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

// uploadTime is how long an upload may take: 256 MB at 4 Mbit/s.
const uploadTime = 10 * time.Minute

func (s *Server) uploadMax() int64 {
	if s.cfg.UploadMax > 0 {
		return s.cfg.UploadMax
	}
	return DefaultUploadMax
}

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
// On failure it has answered with a page saying what to do (again names
// the page to go back to) and ok is false.
func (s *Server) uploadForm(w http.ResponseWriter, r *http.Request, file, again string) (form url.Values, part *multipart.Part, ok bool) {
	// The server's read timeout is for forms; an export of a few hundred
	// megabytes on a slow line takes minutes.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadTime))
	r.Body = http.MaxBytesReader(w, r.Body, s.uploadMax()+64<<10)
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
	form, part, ok := s.uploadForm(w, r, "export", "your pledge page")
	if !ok {
		return
	}
	if part == nil {
		s.showPledge(w, r, http.StatusUnprocessableEntity, m, tok, "Choose a file to upload: the export you downloaded from your network.")
		return
	}
	imp, err := s.ImportFollows(r.Context(), m, part, strings.TrimSpace(form.Get("owner")))
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
	UploadMax int64 // in MB
}

func (s *Server) followsOf(ctx context.Context, m groups.Member, st campaign.Status) (followsView, error) {
	v := followsView{UploadMax: s.uploadMax() >> 20}
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
