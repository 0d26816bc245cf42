// Package deploy holds the files that run Lifeboat as a service on a
// server of one's own: the systemd unit for lifeboat serve, the
// lifeboat-admin script the lead runs the other commands on its state
// with, and an example Caddyfile for the reverse proxy in front of it
// (docs/home.md). The campaign home on Hetzner (lifeboat home up)
// installs these same unit and script.
package deploy

import _ "embed"

// ServeUnit is lifeboat-serve.service.
//
//go:embed lifeboat-serve.service
var ServeUnit string

// ServeUnitName is the unit's file name under /etc/systemd/system.
const ServeUnitName = "lifeboat-serve.service"

// AdminScript is lifeboat-admin: a lifeboat command on the service's
// state, as its user and with its credentials.
//
//go:embed lifeboat-admin
var AdminScript string
