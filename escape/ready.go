package escape

import (
	"context"

	"github.com/lifeboat-social/lifeboat/playbooks"
)

// runPlaybook runs pb under the group's journal run for the playbook
// named name.
func (x *Escape) runPlaybook(ctx context.Context, name string, pb playbooks.Playbook) error {
	r := &playbooks.Runner{Journal: x.cfg.Store.Journal(), Emit: x.cfg.Emit, Actions: x.actions()}
	return r.Run(ctx, "escape:"+x.cfg.Group.Name+":"+name, pb)
}

// needsDestination wraps an action that works on the started destination:
// a run resumed after the destination step was journaled as done (a
// playbook whose destination step is not marked always) starts it here
// first, since the server handle lives in the process.
func (x *Escape) needsDestination(act playbooks.Action) playbooks.Action {
	return func(ctx context.Context) error {
		if x.engine == nil {
			if err := x.startDestination(ctx); err != nil {
				return err
			}
		}
		return act(ctx)
	}
}
