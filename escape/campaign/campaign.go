// Package campaign is a group's pledge campaign as the store holds it:
// its standing (who would go now, by the threshold cascade), the launch
// (once, across every process sharing the store) and the personal invites
// of the members who go. The web server and the playbooks both run it;
// the web server also mails what it decides.
package campaign

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/analyze/groupgraph"
	"github.com/lifeboat-social/lifeboat/escape/invite"
	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
)

// Status is the group's standing.
type Status struct {
	State      string
	LaunchedAt time.Time
	Outlook    pledge.Outlook
	// Going is who would go now (or who went, after launch), by lower-case
	// email.
	Going map[string]bool
	// Pledges that count (confirmed, not withdrawn, of current members).
	Pledges []store.Pledge
	// Unconfirmed pledges, not yet counted.
	Unconfirmed int
	// Withdrawn pledges of current members.
	Withdrawn  int
	LastPledge time.Time
	Opened     time.Time
	// Enrolled is everyone listed in the file or who joined from the join
	// page, confirmed or not (a declined join is not); Confirmed is those
	// of them who confirmed their email (a join, or a pledge by mail).
	Enrolled, Confirmed int
}

// Read reads the group's pledges and runs the cascade over its roster.
// Pledges of people not on the roster (no longer in the group file, or
// joined and not let in yet) do not count.
func Read(ctx context.Context, st store.Store, file *groups.Group) (Status, error) {
	sg, err := st.Groups().Get(ctx, file.Name)
	if err != nil {
		return Status{}, err
	}
	g, err := Roster(ctx, st, file)
	if err != nil {
		return Status{}, err
	}
	all, err := st.Pledges().List(ctx, g.Name)
	if err != nil {
		return Status{}, err
	}
	s := Status{State: sg.State, LaunchedAt: sg.LaunchedAt, Opened: sg.CreatedAt, Going: map[string]bool{}}
	if err := s.countEnrolled(ctx, st, file, all); err != nil {
		return Status{}, err
	}
	var conds []pledge.Condition
	for _, p := range all {
		if _, ok := g.Member(p.Email); !ok {
			continue
		}
		if p.Withdrawn {
			s.Withdrawn++
			continue
		}
		if p.UpdatedAt.After(s.LastPledge) {
			s.LastPledge = p.UpdatedAt
		}
		if !p.Confirmed {
			s.Unconfirmed++
			continue
		}
		s.Pledges = append(s.Pledges, p)
		conds = append(conds, pledge.Condition{Others: p.Threshold, Follows: p.FollowThreshold})
	}
	if err := keepInvited(ctx, st, g, s, conds); err != nil {
		return Status{}, err
	}
	follows, err := followsAmong(ctx, st, g, s.Pledges, conds)
	if err != nil {
		return Status{}, err
	}
	going, _ := pledge.LaunchSet(conds, follows)
	for i, p := range s.Pledges {
		if going[i] {
			s.Going[strings.ToLower(p.Email)] = true
		}
	}
	s.Outlook = pledge.ExplainSet(conds, follows, len(g.Members), g.ViableMass)
	return s, nil
}

// countEnrolled fills Enrolled and Confirmed.
func (s *Status) countEnrolled(ctx context.Context, st store.Store, file *groups.Group, pledges []store.Pledge) error {
	s.Enrolled = len(file.Members)
	for _, p := range pledges {
		if _, listed := file.Member(p.Email); listed && p.Confirmed {
			s.Confirmed++
		}
	}
	if file.EnrolmentOrDefault() == groups.EnrolClosed {
		return nil
	}
	joins, err := st.Joins().List(ctx, file.Name)
	if err != nil {
		return err
	}
	for _, j := range joins {
		if _, listed := file.Member(j.Email); listed || j.Decision == store.JoinDeclined {
			continue
		}
		s.Enrolled++
		if j.Confirmed() {
			s.Confirmed++
		}
	}
	return nil
}

// keepInvited drops the conditions of those who have an invite, after
// the launch: the launch decided for them, and a member deleting their
// follows, or a followee withdrawing, afterwards must not take back an
// invite sent. Late pledgers keep their conditions.
func keepInvited(ctx context.Context, st store.Store, g *groups.Group, s Status, conds []pledge.Condition) error {
	if s.State == pledge.StateGathering || len(conds) == 0 {
		return nil
	}
	invs, err := st.Invites().List(ctx, g.Name)
	if err != nil {
		return err
	}
	invited := map[string]bool{}
	for _, inv := range invs {
		invited[strings.ToLower(inv.Email)] = true
	}
	for i, p := range s.Pledges {
		if invited[strings.ToLower(p.Email)] {
			conds[i] = pledge.Condition{}
		}
	}
	return nil
}

// followsAmong is who follows whom among the pledgers, from the group's
// imported follows, when a pledge names people; nil when none does, so
// that a group without such pledges never reads its graph.
func followsAmong(ctx context.Context, st store.Store, g *groups.Group, ps []store.Pledge, conds []pledge.Condition) ([][]int32, error) {
	named := false
	for _, c := range conds {
		named = named || c.Follows > 0
	}
	if !named {
		return nil, nil
	}
	gg, err := groupgraph.Load(ctx, st, g)
	if err != nil {
		return nil, fmt.Errorf("the group's follows: %w", err)
	}
	emails := make([]string, len(ps))
	for i, p := range ps {
		emails[i] = p.Email
	}
	return gg.FollowsAmong(emails), nil
}

// Retention is, for each member with follows of their own imported, how
// many of the people they follow are in the launch set of s: "34 of the
// 80 people you follow are going". By lower-case email.
func Retention(ctx context.Context, st store.Store, g *groups.Group, s Status) (map[string]groupgraph.Kept, error) {
	r, err := Roster(ctx, st, g)
	if err != nil {
		return nil, err
	}
	gg, err := groupgraph.Load(ctx, st, r)
	if err != nil {
		return nil, fmt.Errorf("the group's follows: %w", err)
	}
	return gg.Retention(s.Going), nil
}

// ErrNotGathering: the group has launched or failed already.
var ErrNotGathering = errors.New("group is not gathering pledges")

// ErrNotLaunched: invites exist only after launch.
var ErrNotLaunched = errors.New("group has not launched")

// Launch moves the group from gathering to launched, once across every
// process sharing the store: exactly one caller succeeds, the others get
// ErrNotGathering with the group's standing as it is then. byHand launches
// below viable mass (the lead's decision); it still needs someone going.
// Nobody launches onto a destination that is not ready (ready says; nil
// has nothing to wait for): that is a *NotReadyError naming the missing
// step, checked before the pledges so the lead learns it first.
func Launch(ctx context.Context, st store.Store, g *groups.Group, byHand bool, now time.Time, ready provision.Readiness) (Status, error) {
	s, err := Read(ctx, st, g)
	if err != nil {
		return s, err
	}
	if s.State != pledge.StateGathering {
		return s, ErrNotGathering
	}
	r, err := CheckReady(ctx, ready)
	if err != nil {
		return s, err
	}
	if !r.Ready {
		return s, &NotReadyError{Missing: r.Missing}
	}
	if !s.Outlook.Viable && !byHand {
		return s, fmt.Errorf("not viable yet: %d would go, %d needed (viable_mass)", s.Outlook.Going, g.ViableMass)
	}
	if s.Outlook.Going == 0 {
		return s, errors.New("nobody would go yet")
	}
	switch err := st.Groups().SetState(ctx, g.Name, pledge.StateGathering, pledge.StateLaunched, now); {
	case errors.Is(err, store.ErrConflict):
		// Another process moved it first: report where it stands now.
		if now, rerr := Read(ctx, st, g); rerr == nil {
			s = now
		}
		return s, ErrNotGathering
	case err != nil:
		return s, fmt.Errorf("launch: %w", err)
	}
	return Read(ctx, st, g)
}

// Invite is one going member's personal invite: the newest one they were
// issued (a reissued link replaces the first).
type Invite struct {
	Name, Email string
	Token       string // for /invite/{token}; secret until sent
	Issued      time.Time
	Expires     time.Time
	Redeemed    bool
	// Reissued is set for an invite that replaced an earlier one
	// (lifeboat invites reissue): it is mailed again.
	Reissued bool
}

// Invites makes sure every going member of a launched group has an invite
// (valid until ttl after the launch) and returns each member's current one
// in the group file's order. The tokens are the same every time (see
// package invite), so every process, and every run, hands out the same
// links. A member who pledged after the launch (a late arrival) is going
// once their pledge counts, and gets their invite here too. Members who
// joined from the join page follow the file's, in joining order.
func Invites(ctx context.Context, st store.Store, file *groups.Group, key ed25519.PrivateKey, ttl time.Duration, now time.Time) ([]Invite, error) {
	s, err := Read(ctx, st, file)
	if err != nil {
		return nil, err
	}
	g, err := Roster(ctx, st, file)
	if err != nil {
		return nil, err
	}
	if s.State != pledge.StateLaunched && s.State != pledge.StateArrived {
		return nil, ErrNotLaunched
	}
	current, err := currentInvites(ctx, st, g.Name)
	if err != nil {
		return nil, err
	}
	first := s.LaunchedAt.Add(ttl).Truncate(time.Second)
	var out []Invite
	for _, m := range g.Members {
		email := strings.ToLower(m.Email)
		if !s.Going[email] {
			continue
		}
		inv, ok := current[email]
		if !ok {
			if _, err := invite.Issue(ctx, st.Invites(), key, g.Name, m.Email, first, now); err != nil {
				return nil, err
			}
			if inv, err = currentInvite(ctx, st, g.Name, email); err != nil {
				return nil, err
			}
		}
		tok, err := invite.Token(key, inv)
		if err != nil {
			return nil, err
		}
		out = append(out, Invite{Name: m.Name, Email: m.Email, Token: tok, Issued: inv.CreatedAt, Expires: inv.ExpiresAt,
			Redeemed: !inv.RedeemedAt.IsZero(), Reissued: !inv.ExpiresAt.Equal(first)})
	}
	return out, nil
}

// currentInvites is each member's newest invite, by lower-case email: the
// one expiring last (a reissued invite outlives the ones it replaced,
// whose expiry Reissue brought forward).
func currentInvites(ctx context.Context, st store.Store, group string) (map[string]store.Invite, error) {
	all, err := st.Invites().List(ctx, group)
	if err != nil {
		return nil, err
	}
	cur := map[string]store.Invite{}
	for _, inv := range all {
		email := strings.ToLower(inv.Email)
		if old, ok := cur[email]; !ok || inv.ExpiresAt.After(old.ExpiresAt) {
			cur[email] = inv
		}
	}
	return cur, nil
}

func currentInvite(ctx context.Context, st store.Store, group, email string) (store.Invite, error) {
	cur, err := currentInvites(ctx, st, group)
	if err != nil {
		return store.Invite{}, err
	}
	inv, ok := cur[strings.ToLower(email)]
	if !ok {
		return store.Invite{}, fmt.Errorf("invite of %s: %w", email, store.ErrNotFound)
	}
	return inv, nil
}
