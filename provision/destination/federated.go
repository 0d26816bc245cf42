package destination

import (
	"path/filepath"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/provision/fednet"
	"github.com/lifeboat-social/lifeboat/provision/local"
)

// RemoteDir is where the group's second local GoToSocial lives
// (fednet.Home): the server of the members who keep accounts of their
// own, remote members.
func RemoteDir(stateDir, group string) string {
	return filepath.Join(GroupDir(stateDir, group), "remote")
}

// NetDir holds the private net both local servers of the group federate
// on: its CA, certificates and addresses.
func NetDir(stateDir, group string) string {
	return filepath.Join(GroupDir(stateDir, group), "federation")
}

// Federated returns the group's local destination and a second local
// server, both kept running after Stop and federating over HTTPS on a
// private net: the destination as fednet.Room, home as fednet.Home.
// Lifeboat reaches both through the net's HTTP client.
func Federated(g *groups.Group, cfg Config) (room, home *local.Local, n *fednet.Net, err error) {
	n, err = fednet.Open(NetDir(cfg.StateDir, g.Name), fednet.Room, fednet.Home)
	if err != nil {
		return nil, nil, nil, err
	}
	in := installer(cfg.Log)
	room = local.New(local.Config{Dir: LocalDir(cfg.StateDir, g.Name), Title: g.Title, Keep: true, Tools: in,
		Net: n, Domain: fednet.Room})
	home = local.New(local.Config{Dir: RemoteDir(cfg.StateDir, g.Name), Title: "Remote members of " + g.Title, Keep: true, Tools: in,
		Net: n, Domain: fednet.Home})
	return room, home, n, nil
}
