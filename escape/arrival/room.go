package arrival

import (
	"context"
	"strings"

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
	Invites, Sent, Redeemed int
	Accounts                int // accounts made on the destination
	Follows, Lists          int // done in the arrival engine's journal
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
	server := ""
	for _, a := range accs {
		email := strings.ToLower(a.Email)
		switch {
		case a.ID != "" && a.Token != "":
			r.State[email] = MemberArrived
		case a.ID == "": // the row is written before the sign-up
			r.State[email] = MemberJoining
		}
		if a.ID != "" {
			r.Accounts++
			server = a.Server
		}
	}
	if server == "" {
		return r, nil
	}
	for prefix, n := range map[string]*int{"follow:": &r.Follows, "list:": &r.Lists} {
		steps, err := st.Journal().List(ctx, journalRun(g.Name, server), prefix)
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
