package arrival

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// The room counts everyone: a member who kept an account on another
// server (a remote member) is in the room as much as one who took an
// account on the destination. This file is the read side of that: the
// counts, and where each member's follows are read from.

// Tally is where the group's arrived members keep their accounts.
type Tally struct {
	Arrived int // members with an account and a token, wherever it lives
	Remote  int // of them, on a server other than the destination
	Moved   int // of them, moved into the room from an old account
}

// CountArrived tallies accs against destination, the destination's base
// URL ("" while it has none: then every account is elsewhere).
func CountArrived(accs []store.Account, destination string) Tally {
	var t Tally
	for _, a := range accs {
		if !hasArrived(a) {
			continue
		}
		t.Arrived++
		if a.Remote(destination) {
			t.Remote++
		}
		if a.MovedFrom != "" {
			t.Moved++
		}
	}
	return t
}

// hasArrived: an account id and a token, so Lifeboat can act for the
// member on their server.
func hasArrived(a store.Account) bool { return a.ID != "" && a.Token != "" }

// FileDestination is the destination's base URL as the group file names
// it: an existing server's, or a new server's domain over HTTPS. The
// local server's address is known only to the state it runs from
// (provision/destination.URL reads it); here it is "".
func FileDestination(g *groups.Group) string {
	switch g.Destination.Type {
	case groups.DestExisting:
		return strings.TrimRight(g.Destination.Server, "/")
	case groups.DestNew:
		if g.Destination.Domain != "" {
			return "https://" + g.Destination.Domain
		}
	}
	return ""
}

// Address is the address others find the account by, user@domain: its
// Acct, or for an account made before addresses were kept, its username
// at its server's host.
func Address(a store.Account) string {
	if a.Acct != "" {
		return strings.TrimPrefix(a.Acct, "@")
	}
	host := a.Server
	if u, err := url.Parse(a.Server); err == nil && u.Host != "" {
		host = u.Host
	}
	return a.Username + "@" + host
}

// Counts is one member's place in the group's mesh, read from the server
// the member's account lives on.
type Counts struct {
	Following int // group members the member follows
	Followers int // group members who follow the member
	// Remote is how many of the other arrived members keep their accounts
	// on servers other than the destination; they are in Following and
	// Followers like everyone else.
	Remote int
}

// MemberCounts reads, with the member's own token on the member's own
// server, how many of the group's arrived members they follow and are
// followed by: from the follows themselves, so a page shown right after
// seeding is right even while the server is still updating the counts
// on the account. A remote member's follows live on their own server,
// where the others' accounts have ids of that server's: those on another
// server are found there by address. An account that server does not
// know yet (federation has not brought it) has no follow with the
// member yet, and counts as none.
func (e *Engine) MemberCounts(ctx context.Context, email string) (Counts, error) {
	var c Counts
	accs, err := e.cfg.Store.Accounts().List(ctx, e.cfg.Group.Name)
	if err != nil {
		return c, err
	}
	var me *store.Account
	var others []store.Account
	for i, a := range accs {
		switch {
		case !hasArrived(a):
		case strings.EqualFold(a.Email, email):
			me = &accs[i]
		default:
			others = append(others, a)
		}
	}
	if me == nil {
		return c, fmt.Errorf("%s has not arrived", email)
	}
	home := e.cfg.Client(me.Server).WithToken(me.Token)
	var ids []string
	for _, o := range others {
		if o.Remote(e.cfg.Server.URL) {
			c.Remote++
		}
		if o.Server == me.Server {
			ids = append(ids, o.ID)
			continue
		}
		acct, err := home.Lookup(ctx, Address(o))
		if fedi.IsStatus(err, http.StatusNotFound) {
			continue
		}
		if err != nil {
			return c, fmt.Errorf("find %s on %s: %w", Address(o), me.Server, err)
		}
		ids = append(ids, acct.ID)
	}
	rs, err := home.Relationships(ctx, ids)
	if err != nil {
		return c, err
	}
	for _, r := range rs {
		if r.Following {
			c.Following++
		}
		if r.FollowedBy {
			c.Followers++
		}
	}
	return c, nil
}
