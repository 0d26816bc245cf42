// Package meshcheck reads a group's mesh back from the server — never
// from Lifeboat's own store — and says what is wrong with it. Tests and
// benchmarks use it to prove that a room is full and nothing is doubled.
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
	ID    string
	Token string
}

// Verify checks on the server at url that every member can read their own
// account, follows exactly the other members, and has exactly one list
// titled listTitle holding exactly the others. It returns every problem
// found, joined, or nil. opts reach the API clients (a server behind a
// test CA needs its own HTTP client).
func Verify(ctx context.Context, url, listTitle string, members []Member, opts ...fedi.Option) error {
	ids := map[string]string{}
	for _, m := range members {
		ids[m.ID] = m.Email
	}
	problems := make([][]string, len(members))
	err := workpool.Run(ctx, 8, len(members), func(ctx context.Context, i int) error {
		m := members[i]
		add := func(format string, a ...any) {
			problems[i] = append(problems[i], m.Email+": "+fmt.Sprintf(format, a...))
		}
		c := fedi.New(url, opts...).WithToken(m.Token)
		me, err := c.VerifyCredentials(ctx)
		if err != nil {
			add("cannot read own account: %v", err)
			return nil
		}
		if me.ID != m.ID {
			add("token belongs to %s, not %s", me.ID, m.ID)
		}
		following, err := c.Following(ctx, m.ID)
		if err != nil {
			return err
		}
		if msg := sameSet(following, ids, m.ID); msg != "" {
			add("follows: %s", msg)
		}
		lists, err := c.Lists(ctx)
		if err != nil {
			return err
		}
		var mine []fedi.List
		for _, l := range lists {
			if l.Title == listTitle {
				mine = append(mine, l)
			}
		}
		if len(mine) != 1 {
			add("%d lists titled %q, want 1", len(mine), listTitle)
			return nil
		}
		in, err := c.ListAccounts(ctx, mine[0].ID)
		if err != nil {
			return err
		}
		if msg := sameSet(in, ids, m.ID); msg != "" {
			add("list: %s", msg)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var all []string
	for _, p := range problems {
		all = append(all, p...)
	}
	if len(all) > 0 {
		return fmt.Errorf("mesh is not exact:\n%s", strings.Join(all, "\n"))
	}
	return nil
}

// sameSet says how got differs from every id in want except self.
func sameSet(got []fedi.Account, want map[string]string, self string) string {
	seen := map[string]int{}
	for _, a := range got {
		seen[a.ID]++
	}
	var diffs []string
	for id, email := range want {
		switch {
		case id == self && seen[id] > 0:
			diffs = append(diffs, "self")
		case id != self && seen[id] == 0:
			diffs = append(diffs, "missing "+email)
		case seen[id] > 1:
			diffs = append(diffs, "twice "+email)
		}
	}
	for id := range seen {
		if _, ok := want[id]; !ok {
			diffs = append(diffs, "stranger "+id)
		}
	}
	return strings.Join(diffs, ", ")
}

// Accounts are the members whose accounts the store lists, as the
// checker needs them.
func Accounts(accs []store.Account) []Member {
	out := make([]Member, len(accs))
	for i, a := range accs {
		out[i] = Member{Email: a.Email, ID: a.ID, Token: a.Token}
	}
	return out
}
