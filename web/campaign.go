package web

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/analyze/groupgraph"
	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/escape/invite"
	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/mailer"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// Status reads the group's standing.
func (s *Server) Status(ctx context.Context) (campaign.Status, error) {
	return campaign.Read(ctx, s.st, s.g)
}

// Tick does what is due: launch when viable (at launch_at, onto a ready
// destination), fail at the deadline, tell the lead each day what keeps a
// viable group waiting, nudge the lead when pledges are slow, remind
// members before the launch and after it, and send any mail not yet sent
// (after a crash, or a full queue). Every replica may tick; the store
// makes each effect happen once.
func (s *Server) Tick(ctx context.Context) error {
	st, err := s.Status(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	var errs []error
	switch pledge.Decide(st.State, now, s.g.Deadline, s.g.LaunchAt, st.Outlook) {
	case pledge.Launch:
		var nr *campaign.NotReadyError
		switch err := s.Launch(ctx, false); {
		case errors.As(err, &nr):
			errs = append(errs, s.sendWaiting(ctx, st, nr.Missing))
		case err != nil && !errors.Is(err, campaign.ErrNotGathering):
			return err
		default:
			if st, err = s.Status(ctx); err != nil {
				return err
			}
		}
	case pledge.Fail:
		if err := s.st.Groups().SetState(ctx, s.g.Name, pledge.StateGathering, pledge.StateFailed, now); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
		st.State = pledge.StateFailed
	}
	switch st.State {
	case pledge.StateGathering:
		if pledge.Slow(now, st.Opened, s.g.Deadline, st.LastPledge, st.Outlook) {
			y, w := now.ISOWeek()
			errs = append(errs, s.sendNudge(ctx, fmt.Sprintf("%d-W%02d", y, w), st))
		}
		errs = append(errs, s.sendConfirmations(ctx), s.sendLaunchEve(ctx, st), s.sendJoinMails(ctx))
		// The day before launch_at, a viable group's lead hears already
		// what would hold it back, while there is time to fix it.
		if at := s.g.LaunchAt; at != nil && st.Outlook.Viable && !now.Before(at.Add(-24*time.Hour)) && now.Before(*at) {
			if r, err := s.Readiness(ctx); err != nil {
				errs = append(errs, err)
			} else if !r.Ready {
				errs = append(errs, s.sendWaiting(ctx, st, r.Missing))
			}
		}
	case pledge.StateLaunched, pledge.StateArrived:
		errs = append(errs, s.sendInvites(ctx), s.sendDoorsOpen(ctx, st), s.sendRedeemReminders(ctx))
		if pledge.LateOpen(st.State, st.LaunchedAt, now, s.cfg.InviteTTL) {
			errs = append(errs, s.sendConfirmations(ctx), s.sendJoinMails(ctx)) // late pledges and joins
		}
	case pledge.StateFailed:
		errs = append(errs, s.sendFailed(ctx))
	}
	errs = append(errs, s.settleHomes(ctx))
	return errors.Join(errs...)
}

// Launch moves the group to launched (once, across every process sharing
// the store; see campaign.Launch) and sends every going member their
// invite. A destination that is not ready refuses it with a
// *campaign.NotReadyError.
func (s *Server) Launch(ctx context.Context, byHand bool) error {
	st, err := campaign.Launch(ctx, s.st, s.g, byHand, s.now(), s.cfg.Ready)
	if err != nil {
		return err
	}
	s.log.Info("launched", "group", s.g.Name, "going", st.Outlook.Going, "by_hand", byHand)
	return s.sendInvites(ctx)
}

// FinishLaunch sends the invites of a launched group that are not sent
// yet: a launch killed while mailing is finished by the next `pledges
// launch`, not only by a running serve. An invite whose send was in
// flight at the crash waits for its lease (mailer) and is left to the
// next tick. A group that has not launched is campaign.ErrNotGathering.
func (s *Server) FinishLaunch(ctx context.Context) error {
	st, err := s.Status(ctx)
	if err != nil {
		return err
	}
	if st.State != pledge.StateLaunched && st.State != pledge.StateArrived {
		return campaign.ErrNotGathering
	}
	return s.sendInvites(ctx)
}

// Retention is, for each member with follows imported, how many of the
// people they follow are in the launch set of st, by lower-case email
// (see campaign.Retention).
func (s *Server) Retention(ctx context.Context, st campaign.Status) (map[string]groupgraph.Kept, error) {
	return campaign.Retention(ctx, s.st, s.g, st)
}

// Members are the group's members, in the group file's order.
func (s *Server) Members() []groups.Member { return s.g.Members }

// Readiness says whether the group's destination can take it now, and
// if not, what is missing.
func (s *Server) Readiness(ctx context.Context) (campaign.Readiness, error) {
	return campaign.CheckReady(ctx, s.cfg.Ready)
}

// Invites makes sure every going member of a launched group has an
// invite, and returns each member's current link (see campaign.Invites).
func (s *Server) Invites(ctx context.Context) ([]InviteLink, error) {
	invs, err := campaign.Invites(ctx, s.st, s.g, s.key, s.cfg.InviteTTL, s.now())
	if err != nil {
		return nil, err
	}
	return s.inviteLinks(invs), nil
}

// Reissue gives members a fresh invite link and stops their old one (see
// campaign.Reissue), then mails the new links; the mails not sent (no
// SMTP) stay due, and serve sends them.
func (s *Server) Reissue(ctx context.Context, email string) ([]InviteLink, error) {
	invs, err := campaign.Reissue(ctx, s.st, s.g, s.key, s.cfg.InviteTTL, s.now(), email)
	if err != nil {
		return nil, err
	}
	return s.inviteLinks(invs), s.sendInvites(ctx)
}

func (s *Server) inviteLinks(invs []campaign.Invite) []InviteLink {
	out := make([]InviteLink, len(invs))
	for i, inv := range invs {
		out[i] = InviteLink{Name: inv.Name, Email: inv.Email, URL: s.link("/invite/" + inv.Token), Expires: inv.Expires,
			Issued: inv.Issued, Redeemed: inv.Redeemed, Reissued: inv.Reissued}
	}
	return out
}

// InviteLink is one member's personal invite.
type InviteLink struct {
	Name, Email, URL string
	Expires          time.Time
	Issued           time.Time
	Redeemed         bool
	Reissued         bool // replaced an earlier link
}

// sendInvites mails each going member their invite: the first one at
// launch (or when a late pledge counts), and each fresh one a reissue
// made.
func (s *Server) sendInvites(ctx context.Context) error {
	links, err := s.Invites(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, l := range links {
		m := s.named(ctx, l.Email)
		key := "mail:invite:" + strings.ToLower(l.Email)
		if l.Reissued {
			key += fmt.Sprintf(":%d", l.Expires.Unix())
		}
		msg, err := s.mailMessage("invite", l.Email, "Your invite: "+s.g.Title+" is moving", map[string]any{
			"Name": firstName(m.Name), "Link": l.URL, "Expires": l.Expires.Format("2 January 2006"), "Fresh": l.Reissued,
		})
		errs = append(errs, s.sendOnce(ctx, key, msg, err))
	}
	return errors.Join(errs...)
}

// sendOnce sends a rendered message under its journal key; a send another
// process holds is not an error (it finishes it).
func (s *Server) sendOnce(ctx context.Context, key string, msg mailer.Message, renderErr error) error {
	if renderErr != nil {
		return renderErr
	}
	if _, err := s.mail.Send(ctx, key, msg); err != nil && !errors.Is(err, mailer.ErrInProgress) {
		return err
	}
	return nil
}

// sendConfirmations sends the confirmation mail of every pledge that
// awaits one and has none sent.
func (s *Server) sendConfirmations(ctx context.Context) error {
	all, err := s.st.Pledges().List(ctx, s.g.Name)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range all {
		if p.Confirmed || p.Withdrawn {
			continue
		}
		if err := s.sendConfirm(ctx, p.Email); err != nil && !errors.Is(err, mailer.ErrInProgress) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Server) sendConfirm(ctx context.Context, email string) error {
	key := "mail:confirm:" + strings.ToLower(email)
	if done, err := s.mail.Sent(ctx, key); err != nil || done {
		return err
	}
	m, ok, err := s.member(ctx, email)
	if err != nil || !ok {
		return err
	}
	tok, err := invite.Sign(s.key, invite.Claims{Purpose: invite.Confirm, Group: s.g.Name,
		Member: invite.MemberID(s.g.Name, email), Expires: s.now().Add(30 * 24 * time.Hour)})
	if err != nil {
		return err
	}
	msg, err := s.mailMessage("confirm", m.Email, "Confirm your pledge to "+s.g.Title, map[string]any{
		"Name": firstName(m.Name), "Link": s.link("/confirm/" + tok),
	})
	if err != nil {
		return err
	}
	_, err = s.mail.Send(ctx, key, msg)
	return err
}

func (s *Server) sendFailed(ctx context.Context) error {
	all, err := s.st.Pledges().List(ctx, s.g.Name)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range all {
		m, ok, err := s.member(ctx, p.Email)
		if err != nil {
			return err
		}
		if !ok || p.Withdrawn {
			continue
		}
		msg, err := s.mailMessage("failed", m.Email, s.g.Title+" will not move this time", map[string]any{
			"Name": firstName(m.Name), "Home": s.link("/"),
		})
		if err == nil {
			_, err = s.mail.Send(ctx, "mail:failed:"+strings.ToLower(m.Email), msg)
		}
		if err != nil && !errors.Is(err, mailer.ErrInProgress) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Server) sendNudge(ctx context.Context, week string, st campaign.Status) error {
	msg, err := s.mailMessage("nudge", s.g.Lead.Email, "Pledges for "+s.g.Title+" are slow", map[string]any{
		"Name": firstName(s.g.Lead.Name), "Outlook": st.Outlook.String(), "Need": st.Outlook.NeedForViable,
		"Viable": s.g.ViableMass, "Unconfirmed": st.Unconfirmed, "Home": s.link("/"),
	})
	if err != nil {
		return err
	}
	_, err = s.mail.Send(ctx, "mail:nudge:"+week, msg)
	if errors.Is(err, mailer.ErrInProgress) {
		return nil
	}
	return err
}

// PledgeLink is a member's personal pledge page.
func (s *Server) PledgeLink(email string) (string, error) {
	url, _, err := s.pledgeLink(email)
	return url, err
}

func (s *Server) pledgeLink(email string) (string, time.Time, error) {
	exp := s.now().Add(365 * 24 * time.Hour)
	if s.g.Deadline != nil {
		exp = s.g.Deadline.Add(30 * 24 * time.Hour)
	}
	tok, err := invite.Sign(s.key, invite.Claims{Purpose: invite.Pledge, Group: s.g.Name,
		Member: invite.MemberID(s.g.Name, email), Expires: exp})
	if err != nil {
		return "", time.Time{}, err
	}
	return s.link("/pledge/" + tok), exp.Truncate(time.Second), nil
}

// PledgeLinks is every member's personal pledge link, in the group
// file's order: the links "pledges open" mails, for a lead who hands them
// out another way.
func (s *Server) PledgeLinks() ([]InviteLink, error) {
	out := make([]InviteLink, 0, len(s.g.Members))
	for _, m := range s.g.Members {
		url, exp, err := s.pledgeLink(m.Email)
		if err != nil {
			return nil, err
		}
		out = append(out, InviteLink{Name: m.Name, Email: m.Email, URL: url, Expires: exp})
	}
	return out, nil
}

// OpenPledges mails every member their personal pledge link, once each
// (journaled); a second run sends only what the first did not. It
// returns how many were sent now.
func (s *Server) OpenPledges(ctx context.Context) (int, error) {
	sent := 0
	var errs []error
	for _, m := range s.g.Members {
		link, err := s.PledgeLink(m.Email)
		if err != nil {
			return sent, err
		}
		msg, err := s.mailMessage("pledge", m.Email, s.g.Title+": will you move if others do?", map[string]any{
			"Name": firstName(m.Name), "Link": link, "Lead": s.g.Lead.Name, "Viable": s.g.ViableMass,
			"Members": len(s.g.Members), "Deadline": deadlineText(s.g.Deadline),
		})
		if err != nil {
			return sent, err
		}
		ok, err := s.mail.Send(ctx, "mail:pledge-link:"+strings.ToLower(m.Email), msg)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			sent++
		}
	}
	return sent, errors.Join(errs...)
}

// mailJob is a send the request handlers leave to the workers; if the
// queue is full or the process dies, Tick finds the mail unsent and
// sends it.
type mailJob struct{ email string }

func (s *Server) queueConfirm(email string) {
	select {
	case s.mailq <- mailJob{email: email}:
	default:
	}
}

func (s *Server) mailWorker(ctx context.Context) {
	defer s.mailWG.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-s.mailq:
			if err := s.sendConfirm(ctx, j.email); err != nil && !errors.Is(err, mailer.ErrInProgress) && ctx.Err() == nil {
				s.log.Error("send confirmation", "err", err)
			}
		}
	}
}

func firstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return name
}

func deadlineText(d *time.Time) string {
	if d == nil {
		return ""
	}
	return d.UTC().Format("2 January 2006")
}

// destinationText describes where the group goes, for pages and mail.
func destinationText(d groups.Destination) string {
	switch d.Type {
	case groups.DestExisting:
		return "the existing server " + d.Server
	case groups.DestNew:
		return "a new " + softwareName(d.SoftwareOrDefault()) + " server at " + d.Domain + ", run for the group"
	default:
		return "a " + softwareName(d.SoftwareOrDefault()) + " server run by Lifeboat on this machine (the local trial destination)"
	}
}

func softwareName(s string) string {
	switch s {
	case "mastodon":
		return "Mastodon"
	case "gotosocial":
		return "GoToSocial"
	}
	return s
}
