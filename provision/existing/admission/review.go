package admission

import (
	"context"
	"slices"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// StartWatch is what watching a server begins with, for lifeboat admin
// watch and the TUI's watcher alike: the admin token's scopes are
// checked, and the groups accepted for the server counted (none means
// every sign-up is left for the admin).
func StartWatch(ctx context.Context, j store.Journal, server, token string, dryRun bool) (w *Watcher, accepted int, err error) {
	c := fedi.New(server).WithToken(token)
	if err := CheckScopes(ctx, c); err != nil {
		return nil, 0, err
	}
	accepted, err = AcceptedGroups(ctx, j, server)
	if err != nil {
		return nil, 0, err
	}
	return &Watcher{API: c, Journal: j, Server: server, DryRun: dryRun}, accepted, nil
}

// MissingRules are the server's current rules that the request does not
// accept, in the server's order.
func (r *Request) MissingRules(current []string) []string {
	var missing []string
	for _, rule := range current {
		if !slices.Contains(r.Rules, rule) {
			missing = append(missing, rule)
		}
	}
	return missing
}

// SharePercent is the group's size as a rounded percentage of the
// server's active users (active > 0).
func (r *Request) SharePercent(active int) int { return (r.Size*100 + active/2) / active }
