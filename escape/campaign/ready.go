package campaign

import (
	"context"
	"errors"
	"fmt"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
)

// ErrNotReady: the destination cannot take the group yet. The error
// carrying it is a *NotReadyError, which names the missing step.
var ErrNotReady = errors.New("the destination is not ready")

// NotReadyError is a launch refused because the destination is not ready.
type NotReadyError struct {
	Missing string // one sentence: the step that is missing and what to run
}

func (e *NotReadyError) Error() string { return "the destination is not ready: " + e.Missing }

// Is makes errors.Is(err, ErrNotReady) hold.
func (e *NotReadyError) Is(target error) bool { return target == ErrNotReady }

// Readiness is the answer to "may the group launch onto its destination
// now", worded once for the CLI, the TUI, the web pages and the mails.
type Readiness struct {
	Ready   bool
	Missing string // empty when ready
}

// CheckReady asks r. A nil r is a destination with nothing to wait for.
func CheckReady(ctx context.Context, r provision.Readiness) (Readiness, error) {
	if r == nil {
		return Readiness{Ready: true}, nil
	}
	ok, missing, err := r.Ready(ctx)
	if err != nil {
		return Readiness{}, fmt.Errorf("check the destination: %w", err)
	}
	if ok {
		return Readiness{Ready: true}, nil
	}
	if missing == "" {
		missing = "the destination did not say what is missing"
	}
	return Readiness{Missing: missing}, nil
}

// ExistingReady is the readiness of an existing server: the admin's
// acceptance of the group's admission request has reached the lead's side
// (admission.AcceptedFor). Until then members could not get in: the server holds
// strangers' sign-ups. file is the group file, for the command to run.
func ExistingReady(st store.Store, g *groups.Group, file string) provision.Readiness {
	return provision.ReadyFunc(func(ctx context.Context) (bool, string, error) {
		ok, err := admission.AcceptedFor(ctx, st, g.Name)
		if err != nil {
			return false, "", fmt.Errorf("admission of %s: %w", g.Name, err)
		}
		if !ok {
			return false, fmt.Sprintf("the server's admin has not accepted the group's admission request "+
				"(run lifeboat request %s, send the request to the admin of %s, then import their answer with lifeboat request accepted %s ANSWER)", file, g.Destination.Server, file), nil
		}
		return true, "", nil
	})
}
