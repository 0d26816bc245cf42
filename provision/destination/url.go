package destination

import (
	"errors"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/provision/local"
)

// URL is the base URL of the group's destination, read without starting,
// installing or asking anything: the accounts on it are the ones made
// there, every other account of the group a remote member's. An existing
// server's and a new one's come from the group file; the local server's
// from the state its last start left, "" before it has ever run (then no
// account lives on it yet).
func URL(stateDir string, g *groups.Group) (string, error) {
	if g.Destination.Type == groups.DestExisting || g.Destination.Type == groups.DestNew {
		return arrival.FileDestination(g), nil
	}
	if stateDir == "" {
		return "", errors.New("the local server's address is kept in the state directory, and none was given")
	}
	return local.New(local.Config{Dir: LocalDir(stateDir, g.Name), Title: g.Title, Keep: true}).KnownURL()
}
