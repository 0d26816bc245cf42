// Package meshcheck reads a group's mesh back from the servers — never
// from Lifeboat's own store — and says what is wrong with it. Tests,
// benchmarks and the demo use it to prove that a room is full and nothing
// is doubled, on one server or across several.
package meshcheck

import (
	"context"
	"fmt"
	"strings"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/internal/workpool"
)

// Member is one arrived member as the checker needs it.
type Member struct {
	Email string
	ID    string // the account's id on its own server
	Token string
	// Server is the base URL of the server the account lives on; empty
	// for the server given to Verify or Check.
	Server string
}

// Counts are what the servers hold of a mesh, each fact counted once on
// the server of the account it belongs to.
type Counts struct {
	Follows int // follows between members, read from the followers' servers
	Lists   int // members with exactly one list of the group
	Listed  int // members in those lists
}

// Verify checks on the server at url that every member can read their own
// account, follows exactly the other members, and has exactly one list
// titled listTitle holding exactly the others. It returns every problem
// found, joined, or nil. opts reach the API clients (a server behind a
// test CA needs its own HTTP client).
func Verify(ctx context.Context, url, listTitle string, members []Member, opts ...fedi.Option) error {
	_, err := Check(ctx, url, listTitle, members, opts...)
	return err
}

// Check is Verify that also counts what it found. Members on several
// servers (Member.Server) are checked each on their own server and known
// to each other by address (user@domain), since an account's id differs
// from server to server; then every member's followers, read on their own
// server, must also be exactly the others: both ends of every follow have
// arrived through federation.
func Check(ctx context.Context, url, listTitle string, members []Member, opts ...fedi.Option) (Counts, error) {
	ck := &checker{listTitle: listTitle, members: members, clients: map[string]*fedi.Client{}, domains: map[string]string{}}
	for i, m := range members {
		if m.Server == "" {
			ck.members[i].Server = url
		}
	}
	for _, m := range ck.members {
		if _, ok := ck.clients[m.Server]; !ok {
			ck.clients[m.Server] = fedi.New(m.Server, opts...)
		}
	}
	ck.across = len(ck.clients) > 1
	if err := ck.identify(ctx); err != nil {
		return Counts{}, err
	}
	return ck.check(ctx)
}

type checker struct {
	listTitle string
	members   []Member
	clients   map[string]*fedi.Client // by server URL
	across    bool                    // members on more than one server
	domains   map[string]string       // account domain by server URL, across servers
	keys      map[string]string       // the members' keys (ids, or addresses across servers): email
	self      []string                // each member's own key
	problems  [][]string
}

func (ck *checker) add(i int, format string, a ...any) {
	ck.problems[i] = append(ck.problems[i], ck.members[i].Email+": "+fmt.Sprintf(format, a...))
}

// key is how the checker knows an account another server or the same one
// shows: its id on one server, its address across servers (a local
// account's acct has no domain).
func (ck *checker) key(server string, a fedi.Account) string {
	if !ck.across {
		return a.ID
	}
	if strings.Contains(a.Acct, "@") {
		return strings.ToLower(a.Acct)
	}
	return strings.ToLower(a.Acct + "@" + ck.domains[server])
}

// identify reads every member's own account on their server (and, across
// servers, each server's account domain) to learn the keys.
func (ck *checker) identify(ctx context.Context) error {
	if ck.across {
		for u, c := range ck.clients {
			d, err := c.Domain(ctx)
			if err != nil {
				return fmt.Errorf("read the domain of %s: %w", u, err)
			}
			ck.domains[u] = d
		}
	}
	n := len(ck.members)
	ck.problems, ck.self, ck.keys = make([][]string, n), make([]string, n), map[string]string{}
	err := workpool.Run(ctx, 8, n, func(ctx context.Context, i int) error {
		m := ck.members[i]
		me, err := ck.clients[m.Server].WithToken(m.Token).VerifyCredentials(ctx)
		if err != nil {
			ck.add(i, "cannot read own account: %v", err)
			return nil
		}
		if me.ID != m.ID {
			ck.add(i, "token belongs to %s, not %s", me.ID, m.ID)
		}
		ck.self[i] = ck.key(m.Server, fedi.Account{ID: m.ID, Acct: me.Acct})
		return nil
	})
	for i, k := range ck.self {
		if k != "" {
			ck.keys[k] = ck.members[i].Email
		}
	}
	return err
}

func (ck *checker) check(ctx context.Context) (Counts, error) {
	found := make([]Counts, len(ck.members))
	err := workpool.Run(ctx, 8, len(ck.members), func(ctx context.Context, i int) error {
		m := ck.members[i]
		if ck.self[i] == "" {
			return nil // reported: the account cannot be read
		}
		c := ck.clients[m.Server].WithToken(m.Token)
		following, err := c.Following(ctx, m.ID)
		if err != nil {
			return err
		}
		var msg string
		if found[i].Follows, msg = ck.sameSet(m.Server, following, ck.self[i]); msg != "" {
			ck.add(i, "follows: %s", msg)
		}
		if ck.across {
			followers, err := c.Followers(ctx, m.ID)
			if err != nil {
				return err
			}
			if _, msg := ck.sameSet(m.Server, followers, ck.self[i]); msg != "" {
				ck.add(i, "followers: %s", msg)
			}
		}
		lists, err := c.Lists(ctx)
		if err != nil {
			return err
		}
		var mine []fedi.List
		for _, l := range lists {
			if l.Title == ck.listTitle {
				mine = append(mine, l)
			}
		}
		if len(mine) != 1 {
			ck.add(i, "%d lists titled %q, want 1", len(mine), ck.listTitle)
			return nil
		}
		found[i].Lists = 1
		in, err := c.ListAccounts(ctx, mine[0].ID)
		if err != nil {
			return err
		}
		if found[i].Listed, msg = ck.sameSet(m.Server, in, ck.self[i]); msg != "" {
			ck.add(i, "list: %s", msg)
		}
		return nil
	})
	if err != nil {
		return Counts{}, err
	}
	var total Counts
	var all []string
	for i, p := range ck.problems {
		all = append(all, p...)
		total.Follows += found[i].Follows
		total.Lists += found[i].Lists
		total.Listed += found[i].Listed
	}
	if len(all) > 0 {
		return total, fmt.Errorf("mesh is not exact:\n%s", strings.Join(all, "\n"))
	}
	return total, nil
}

// sameSet counts the members in got, once each and not self, and says how
// got differs from every member but self.
func (ck *checker) sameSet(server string, got []fedi.Account, self string) (int, string) {
	seen := map[string]int{}
	for _, a := range got {
		seen[ck.key(server, a)]++
	}
	var diffs []string
	for k, email := range ck.keys {
		switch {
		case k == self && seen[k] > 0:
			diffs = append(diffs, "self")
		case k != self && seen[k] == 0:
			diffs = append(diffs, "missing "+email)
		case seen[k] > 1:
			diffs = append(diffs, "twice "+email)
		}
	}
	members := 0
	for k := range seen {
		if _, ok := ck.keys[k]; !ok {
			diffs = append(diffs, "stranger "+k)
		} else if k != self {
			members++
		}
	}
	return members, strings.Join(diffs, ", ")
}

// Accounts are the members in the room among the accounts the store
// lists, as the checker needs them, each on its own server: an account
// connected by a member who has not arrived (store.Account.Waiting) is
// in no one's mesh, and a follow of it is a stranger's.
func Accounts(accs []store.Account) []Member {
	out := make([]Member, 0, len(accs))
	for _, a := range accs {
		if !a.Waiting {
			out = append(out, Member{Email: a.Email, ID: a.ID, Token: a.Token, Server: a.Server})
		}
	}
	return out
}
