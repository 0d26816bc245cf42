package campaign

import (
	"context"
	"strings"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// Elsewhere counts the people of the campaign who keep their own
// accounts on servers other than the destination (remote members, who
// gave the address they have instead of taking a new account). They
// pledge, count in the cascade and go like everyone else; this says how
// many of each are remote. An account counts here from the moment it is
// connected (on the join, pledge or invite page), before its member
// arrives: it is connected from elsewhere, not yet in the room
// (store.Account.Waiting, which the room's counts read).
type Elsewhere struct {
	Members int // on the roster, with an account on another server
	Pledged int // of them, with a pledge that counts
	Going   int // of them, in the launch set (or invited, after launch)
}

// ReadElsewhere counts g's remote members in s (campaign.Read) against
// destination, the destination's base URL ("" while it has none).
func ReadElsewhere(ctx context.Context, st store.Store, g *groups.Group, destination string, s Status) (Elsewhere, error) {
	var e Elsewhere
	r, err := Roster(ctx, st, g)
	if err != nil {
		return e, err
	}
	accs, err := st.Accounts().List(ctx, g.Name)
	if err != nil {
		return e, err
	}
	pledged := map[string]bool{}
	for _, p := range s.Pledges {
		pledged[strings.ToLower(p.Email)] = true
	}
	for _, a := range accs {
		if _, ok := r.Member(a.Email); !ok || a.ID == "" || !a.Remote(destination) {
			continue
		}
		email := strings.ToLower(a.Email)
		e.Members++
		if pledged[email] {
			e.Pledged++
		}
		if s.Going[email] {
			e.Going++
		}
	}
	return e, nil
}
