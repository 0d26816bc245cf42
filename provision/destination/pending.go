package destination

import (
	"context"
	"errors"
	"fmt"

	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/provision"
)

// errNoTools: Terraform or the hcloud provider can be neither found nor
// built on this machine.
var errNoTools = errors.New("no Terraform or hcloud provider here")

// noServerYet is a group's new server that has not been made, seen from
// a machine without Terraform: the campaign's home, where lifeboat serve
// runs the pages while the lead provisions from their own machine. serve
// attaches and hears that the server is not there yet, and keeps serving
// the pages; making the server (Start) needs the tools, and says so.
type noServerYet struct{ tools error }

var (
	_ provision.Destination = noServerYet{}
	_ provision.Attacher    = noServerYet{}
)

func (n noServerYet) Start(context.Context, progress.Func) (*provision.Server, error) {
	return nil, n.tools
}

func (noServerYet) Attach(context.Context, progress.Func) (*provision.Server, error) {
	return nil, fmt.Errorf("%w: no server yet; run lifeboat up first", provision.ErrNotReady)
}

func (noServerYet) Stop(context.Context) error { return nil }
