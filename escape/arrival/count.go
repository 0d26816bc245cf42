package arrival

import (
	"net/url"
	"strings"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// The room counts everyone: a member who kept an account on another
// server (a remote member) is in the room as much as one who took an
// account on the destination. This file is the read side of that: the
// counts against the destination's address, and the addresses shown.

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
// member on their server, and the member has arrived. An account the
// member connected on their pledge or join page waits for them
// (store.Account.Waiting): until they arrive, nobody follows it and its
// token follows nobody, however many others arrive meanwhile.
func hasArrived(a store.Account) bool { return a.ID != "" && a.Token != "" && !a.Waiting }

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

// Address is the address others find the account by, user@domain, as
// pages and screens show it: its Acct, or for an account made before
// addresses were kept, its username at its server's host (the engine
// asks the server for its account domain instead, where it matters for
// a follow).
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
