package campaign

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/invite"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// ErrNoInvite: the member named has no invite (they are not going), or has
// used theirs already; a fresh link would change nothing.
var ErrNoInvite = errors.New("no invite to reissue")

// Reissue gives members a fresh invite link valid for ttl from now, and
// stops their earlier links from working. With email, it is that member
// (their link was lost, or expired); without, every going member whose
// invite expired unused. It returns the new invites; mailing them is the
// caller's (they come out of Invites marked Reissued). Running it again
// after a crash finishes what was left: any older link still working is
// stopped.
func Reissue(ctx context.Context, st store.Store, g *groups.Group, key ed25519.PrivateKey, ttl time.Duration, now time.Time, email string) ([]Invite, error) {
	invs, err := Invites(ctx, st, g, key, ttl, now)
	if err != nil {
		return nil, err
	}
	var targets []Invite
	for _, inv := range invs {
		switch {
		case email != "" && !strings.EqualFold(inv.Email, email):
		case email != "" && inv.Redeemed:
			return nil, fmt.Errorf("%s used their invite already: they sign in on the group's server: %w", email, ErrNoInvite)
		case email != "", !inv.Redeemed && !now.Before(inv.Expires):
			targets = append(targets, inv)
		}
	}
	if email != "" && len(targets) == 0 {
		return nil, fmt.Errorf("%s has no invite: they are not in the group file, or not going (no pledge that counts): %w", email, ErrNoInvite)
	}
	for _, t := range targets {
		// A fresh link needs a new expiry (the token is derived from it):
		// one second past the old link's when ttl from now is not later.
		expires := now.Add(ttl).Truncate(time.Second)
		if !expires.After(t.Expires) {
			expires = t.Expires.Add(time.Second)
		}
		if _, err := invite.Issue(ctx, st.Invites(), key, g.Name, t.Email, expires, now); err != nil {
			return nil, err
		}
	}
	if err := supersedeOlder(ctx, st, g.Name, now); err != nil {
		return nil, err
	}
	var out []Invite
	fresh, err := Invites(ctx, st, g, key, ttl, now)
	if err != nil {
		return nil, err
	}
	for _, inv := range fresh {
		for _, t := range targets {
			if strings.EqualFold(t.Email, inv.Email) {
				out = append(out, inv)
			}
		}
	}
	return out, nil
}

// supersedeOlder stops every unused invite that is not its member's
// current one.
func supersedeOlder(ctx context.Context, st store.Store, group string, now time.Time) error {
	cur, err := currentInvites(ctx, st, group)
	if err != nil {
		return err
	}
	all, err := st.Invites().List(ctx, group)
	if err != nil {
		return err
	}
	for _, inv := range all {
		if inv.TokenHash == cur[strings.ToLower(inv.Email)].TokenHash {
			continue
		}
		if err := invite.Supersede(ctx, st.Invites(), inv, now); err != nil {
			return err
		}
	}
	return nil
}
