package destination

import (
	"path/filepath"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
	"github.com/lifeboat-social/lifeboat/provision/local"
)

// Ready is the readiness check of the group's destination, built without
// tools or tokens (asking it starts, makes and installs nothing): an
// existing server is ready once its admin's acceptance has reached the
// lead (campaign.ExistingReady); a new one once lifeboat up has finished
// and it answers over HTTPS; the local one while its server runs. file is
// the group file, for the commands the missing step names.
func Ready(stateDir string, st store.Store, g *groups.Group, file string) provision.Readiness {
	switch g.Destination.Type {
	case groups.DestExisting:
		return campaign.ExistingReady(st, g, file)
	case groups.DestNew:
		return hetzner.NewDestination(hetzner.Config{Group: g, Dir: filepath.Join(GroupDir(stateDir, g.Name), "hetzner")})
	default:
		return local.New(local.Config{Dir: LocalDir(stateDir, g.Name), Title: g.Title, Keep: true})
	}
}
