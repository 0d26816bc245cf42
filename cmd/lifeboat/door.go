package main

import (
	"context"
	"fmt"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/web"
)

// serveDoor is how members of a group bound for an existing server get
// their account there (nil for other destinations). It scouts the
// server; when that fails, serve still runs and the invite pages say
// something went wrong until a restart finds the server.
func serveDoor(ctx context.Context, app *App, g *groups.Group) web.SignUps {
	if g.Destination.Type != groups.DestExisting {
		return nil
	}
	r, err := existing.ScoutURL(ctx, g.Destination.Server, nil)
	if err != nil {
		// the error can quote the server
		fmt.Fprintf(app.Stderr, "lifeboat: %s; invites cannot be redeemed until serve restarts and reaches it\n", safetext.Line(err.Error()))
		return nil
	}
	return existing.NewDoor(r)
}
