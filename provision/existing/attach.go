package existing

import (
	"context"
	"strings"

	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/provision"
)

var _ provision.Attacher = (*Existing)(nil)

// Attach returns the server as the group file names it, without asking
// it anything: lifeboat serve runs for weeks beside a server that may be
// down for a while, and members' pages say so when it is.
func (e *Existing) Attach(context.Context, progress.Func) (*provision.Server, error) {
	return &provision.Server{URL: strings.TrimRight(e.cfg.URL, "/")}, nil
}
