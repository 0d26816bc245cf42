package web

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/escape/pledge"
)

// The mails around the launch moment. Each has a journal key that names
// the occasion (the launch_at, the day, the expected date), so that every
// replica may send it and it goes once; a new occasion (the lead moved
// launch_at) is a new mail.

// redeemReminders are the reminders to members who have not redeemed
// their invite, by how long after it was issued.
var redeemReminders = []time.Duration{24 * time.Hour, 72 * time.Hour}

// slip is how far a missed launch date moves each time: members are told
// the new expected date once a week, not every day.
const slip = 7 * 24 * time.Hour

// momentText words a moment for mail: in UTC, which every reader can
// convert, with the weekday.
func momentText(t time.Time) string { return t.UTC().Format("Monday 2 January 2006, 15:04 UTC") }

// sendLaunchEve reminds everyone who pledged, the day before launch_at.
// A process that first ticks after the moment sends none: the invites
// are the news then.
func (s *Server) sendLaunchEve(ctx context.Context, st campaign.Status) error {
	at := s.g.LaunchAt
	now := s.now()
	if at == nil || now.Before(at.Add(-24*time.Hour)) || !now.Before(*at) {
		return nil
	}
	var errs []error
	for _, p := range st.Pledges {
		m := s.named(ctx, p.Email)
		msg, err := s.mailMessage("launch-eve", m.Email, "Tomorrow: "+s.g.Title+" moves", map[string]any{
			"Name": firstName(m.Name), "When": momentText(*at), "Outlook": st.Outlook.String(), "Viable": st.Outlook.Viable,
			"Going": st.Going[strings.ToLower(p.Email)], "Home": s.link("/"),
		})
		errs = append(errs, s.sendOnce(ctx, fmt.Sprintf("mail:launch-eve:%d:%s", at.Unix(), strings.ToLower(m.Email)), msg, err))
	}
	return errors.Join(errs...)
}

// sendWaiting is what a viable group whose destination is not ready
// does: the lead hears each day what is missing; once the planned moment
// (launch_at, else the deadline) has passed, the going members hear the
// new expected date, and again each time it slips.
func (s *Server) sendWaiting(ctx context.Context, st campaign.Status, missing string) error {
	now := s.now()
	s.log.Warn("viable, waiting for the destination", "group", s.g.Name, "missing", missing)
	msg, err := s.mailMessage("not-ready", s.g.Lead.Email, s.g.Title+" is viable, but cannot launch yet", map[string]any{
		"Name": firstName(s.g.Lead.Name), "Missing": missing, "Outlook": st.Outlook.String(), "Home": s.link("/"),
	})
	errs := []error{s.sendOnce(ctx, "mail:not-ready:"+now.UTC().Format(time.DateOnly), msg, err)}
	planned := s.g.LaunchAt
	if planned == nil {
		planned = s.g.Deadline
	}
	if planned == nil || now.Before(*planned) {
		return errors.Join(errs...)
	}
	expected := planned.Add(slip)
	for !expected.After(now) {
		expected = expected.Add(slip)
	}
	day := expected.UTC().Format("2 January 2006")
	for _, p := range st.Pledges {
		if !st.Going[strings.ToLower(p.Email)] {
			continue
		}
		m := s.named(ctx, p.Email)
		msg, err := s.mailMessage("postponed", m.Email, s.g.Title+": the move is delayed to "+day, map[string]any{
			"Name": firstName(m.Name), "Planned": momentText(*planned), "Expected": day, "Home": s.link("/"),
		})
		key := fmt.Sprintf("mail:postponed:%s:%s", expected.UTC().Format(time.DateOnly), strings.ToLower(m.Email))
		errs = append(errs, s.sendOnce(ctx, key, msg, err))
	}
	return errors.Join(errs...)
}

// sendDoorsOpen tells every member who is not going, once, that the
// doors are open and a pledge made now brings an invite at once, while
// the invite window is open.
func (s *Server) sendDoorsOpen(ctx context.Context, st campaign.Status) error {
	if !pledge.LateOpen(st.State, st.LaunchedAt, s.now(), s.cfg.InviteTTL) {
		return nil
	}
	until := st.LaunchedAt.Add(s.cfg.InviteTTL).UTC().Format("2 January 2006")
	r, err := campaign.Roster(ctx, s.st, s.g)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range r.Members {
		if st.Going[strings.ToLower(m.Email)] {
			continue
		}
		link, err := s.PledgeLink(m.Email)
		if err != nil {
			return err
		}
		msg, err := s.mailMessage("doors-open", m.Email, s.g.Title+" has moved: the doors are open until "+until, map[string]any{
			"Name": firstName(m.Name), "Link": link, "Until": until, "Going": st.Outlook.Going,
		})
		errs = append(errs, s.sendOnce(ctx, "mail:doors-open:"+strings.ToLower(m.Email), msg, err))
	}
	return errors.Join(errs...)
}

// sendRedeemReminders reminds members whose current invite is unused 24
// and 72 hours after it was issued, once each; a process that was down
// for days sends only the latest one due, and none for an expired invite.
func (s *Server) sendRedeemReminders(ctx context.Context) error {
	links, err := s.Invites(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	var errs []error
	for _, l := range links {
		if l.Redeemed || !now.Before(l.Expires) {
			continue
		}
		due := time.Duration(0)
		for _, d := range redeemReminders {
			if !now.Before(l.Issued.Add(d)) {
				due = d
			}
		}
		if due == 0 {
			continue
		}
		m := s.named(ctx, l.Email)
		msg, err := s.mailMessage("redeem-reminder", l.Email, s.g.Title+" is waiting for you (your invite works until "+l.Expires.UTC().Format("2 January")+")", map[string]any{
			"Name": firstName(m.Name), "Link": l.URL, "Expires": l.Expires.UTC().Format("2 January 2006"),
		})
		key := fmt.Sprintf("mail:redeem-%dh:%s", int(due.Hours()), strings.ToLower(l.Email))
		errs = append(errs, s.sendOnce(ctx, key, msg, err))
	}
	return errors.Join(errs...)
}

// pledgeClosed says why pledges cannot be made or changed now, or nil:
// they can while the group gathers before its deadline, and after the
// launch, while the invite window is open, by a member whose pledge did
// not count at the launch (a late arrival: their pledge brings an invite
// at once). going is whether the member's pledge counts.
func (s *Server) pledgeClosed(state string, launchedAt time.Time, going bool) error {
	if pledge.LateOpen(state, launchedAt, s.now(), s.cfg.InviteTTL) {
		if going {
			return fmt.Errorf("your pledge counts and your invite is out: %w", pledge.ErrClosed)
		}
		return nil
	}
	return pledge.CanChange(state, s.now(), s.g.Deadline)
}
