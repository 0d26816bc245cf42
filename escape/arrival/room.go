package arrival

import (
	"context"
	"fmt"
	"slices"
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
	Arrived                 int // members with an account and a token
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

// ReadRoom reads g's arrivals from st.
func ReadRoom(ctx context.Context, st store.Store, g *groups.Group) (Room, error) {
	r := Room{State: map[string]string{}}
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
	var servers []string // where the group's accounts live; one is the destination
	for _, a := range accs {
		email := strings.ToLower(a.Email)
		switch {
		case a.ID != "" && a.Token != "":
			r.State[email] = MemberArrived
			r.Arrived++
		case a.ID == "": // the row is written before the sign-up
			r.State[email] = MemberJoining
		}
		if a.ID != "" {
			r.Accounts++
			if !slices.Contains(servers, a.Server) {
				servers = append(servers, a.Server)
			}
		}
	}
	r.FollowsTotal = r.Arrived * (r.Arrived - 1)
	// The mesh's journal is the destination's: with members on other
	// servers, the one server whose run has entries.
	for _, server := range servers {
		run := journalRun(g.Name, server)
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
		if r.Follows+r.Lists > 0 || !r.ResumeAt.IsZero() {
			break
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
		return fmt.Sprintf("All %d follows between the %d members who have arrived are made.", r.FollowsTotal, r.Arrived)
	case r.ResumeAt.After(now):
		return fmt.Sprintf("%d of %d follows made; the rest after %s (the server allows each account only so many follows a day).",
			r.Follows, r.FollowsTotal, When(now, r.ResumeAt))
	}
	return fmt.Sprintf("%d of %d follows made so far.", r.Follows, r.FollowsTotal)
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
