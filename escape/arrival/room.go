package arrival

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// Where a member stands on their way in, as Room reports it.
const (
	MemberInvited  = "invited"  // an invite exists
	MemberRedeemed = "redeemed" // the invite was redeemed
	MemberJoining  = "joining"  // the account is being made
	MemberArrived  = "arrived"  // an account and a token: the member is in
)

// Room is a group's arrivals so far, read from the store: the invites,
// the accounts, the mesh's done follows and lists, and each member's
// place. It is what the arrivals screen shows while an escape runs in
// this or another process.
type Room struct {
	// Members is the roster: the file's members and the people who
	// joined and were let in.
	Members                 int
	Invites, Sent, Redeemed int
	Accounts                int // accounts made on the destination
	Follows, Lists          int // done in the arrival engine's journal
	// Arrived is the members with an account and a token, wherever the
	// account lives; Remote those of them whose account is on a server
	// other than the destination, Moved those who moved an old account
	// into the room.
	Arrived, Remote, Moved int
	// Elsewhere is, for each remote member who has arrived, their
	// address (user@domain), by lower-case email.
	Elsewhere map[string]string
	// FollowsTotal is the whole mesh of the members arrived so far:
	// each follows each other.
	FollowsTotal int
	// ResumeAt is when the server's rate limit lets the rest of the mesh
	// be made (Mastodon: the next 00:00 UTC); zero when nothing waits.
	ResumeAt time.Time
	// State is each member's place (Member…), by lower-case email;
	// members with no invite yet are absent.
	State map[string]string
}

// journalRun is the arrival engine's journal run for a group on a
// server: one per group and server.
func journalRun(group, server string) string { return "arrive:" + group + "@" + server }

// ReadRoom reads g's arrivals from st. destination is the destination's
// base URL (provision/destination.URL, or the running server's): the
// accounts on it were made there, the others are remote members'. Its
// mesh is journaled under it.
func ReadRoom(ctx context.Context, st store.Store, g *groups.Group, destination string) (Room, error) {
	r := Room{State: map[string]string{}, Elsewhere: map[string]string{}}
	roster, err := campaign.Roster(ctx, st, g)
	if err != nil {
		return r, err
	}
	r.Members = len(roster.Members)
	invs, err := st.Invites().List(ctx, g.Name)
	if err != nil {
		return r, err
	}
	for _, inv := range invs {
		r.Invites++
		state := MemberInvited
		if !inv.SentAt.IsZero() {
			r.Sent++
		}
		if !inv.RedeemedAt.IsZero() {
			r.Redeemed++
			state = MemberRedeemed
		}
		r.State[strings.ToLower(inv.Email)] = state
	}
	accs, err := st.Accounts().List(ctx, g.Name)
	if err != nil {
		return r, err
	}
	for _, a := range accs {
		email := strings.ToLower(a.Email)
		switch {
		case hasArrived(a):
			r.State[email] = MemberArrived
			if a.Remote(destination) {
				r.Elsewhere[email] = Address(a)
			}
		case a.ID == "": // the row is written before the sign-up
			r.State[email] = MemberJoining
		}
		if a.ID != "" && !a.Waiting && !a.Remote(destination) {
			r.Accounts++
		}
	}
	t := CountArrived(accs, destination)
	r.Arrived, r.Remote, r.Moved = t.Arrived, t.Remote, t.Moved
	r.FollowsTotal = r.Arrived * (r.Arrived - 1)
	if destination == "" {
		return r, nil
	}
	run := journalRun(g.Name, destination)
	lim, err := readLimit(ctx, st.Journal(), run)
	if err != nil {
		return r, err
	}
	r.ResumeAt = lim.Until
	for prefix, n := range map[string]*int{"follow:": &r.Follows, "list:": &r.Lists} {
		steps, err := st.Journal().List(ctx, run, prefix)
		if err != nil {
			return r, err
		}
		for _, s := range steps {
			if s.Status == store.StepDone {
				*n++
			}
		}
	}
	return r, nil
}

// Progress is the room's mesh in one sentence, for the members' page and
// the lead: "312 of 380 follows made; the rest after 00:00 UTC
// tomorrow". Empty before two members have arrived.
func (r Room) Progress(now time.Time) string {
	switch {
	case r.FollowsTotal == 0:
		return ""
	case r.Follows >= r.FollowsTotal:
		return fmt.Sprintf("All %d follows between the %d members who have arrived%s are made.", r.FollowsTotal, r.Arrived, r.remoteClause())
	case r.ResumeAt.After(now):
		return fmt.Sprintf("%d of %d follows made; the rest after %s (the server allows each account only so many follows a day).",
			r.Follows, r.FollowsTotal, When(now, r.ResumeAt))
	}
	return fmt.Sprintf("%d of %d follows made so far.", r.Follows, r.FollowsTotal)
}

// remoteClause says how many of the arrived keep their own accounts
// elsewhere: " (3 of them on other servers)", or "".
func (r Room) remoteClause() string {
	if r.Remote == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d of them on %s)", r.Remote, plural(r.Remote, "another server", "other servers"))
}

// Where says where the arrived keep their accounts, for the lead's
// screens: "3 of the 8 arrived keep their own accounts on other servers;
// 1 moved an old account in." Empty when everyone took an account on the
// destination.
func (r Room) Where() string {
	var parts []string
	if r.Remote > 0 {
		parts = append(parts, fmt.Sprintf("%d of the %d arrived %s", r.Remote, r.Arrived,
			plural(r.Remote, "keeps their own account on another server", "keep their own accounts on other servers")))
	}
	if r.Moved > 0 {
		parts = append(parts, fmt.Sprintf("%d moved an old account in", r.Moved))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "; ") + "."
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// When says at in words relative to now, in UTC (the zone of Mastodon's
// daily windows): "14:05 UTC today", "00:00 UTC tomorrow", or the date.
func When(now, at time.Time) string {
	now, at = now.UTC(), at.UTC()
	y1, m1, d1 := now.Date()
	day := time.Date(y1, m1, d1, 0, 0, 0, 0, time.UTC)
	switch {
	case at.Before(day.AddDate(0, 0, 1)):
		return at.Format("15:04 MST") + " today"
	case at.Before(day.AddDate(0, 0, 2)):
		return at.Format("15:04 MST") + " tomorrow"
	}
	return at.Format("Mon 2 Jan 15:04 MST")
}
