package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/lifeboat-social/lifeboat/provision"
)

var _ provision.Readiness = (*Local)(nil)

// Ready reports whether the group's local server runs: the state an
// earlier Start wrote names its port, and the server answers there. It
// only reads: starting is serve's and demo's work.
func (l *Local) Ready(ctx context.Context) (bool, string, error) {
	const notRunning = "the local server is not running: lifeboat serve GROUP.yaml (or lifeboat demo) starts it"
	st, err := l.readState()
	if errors.Is(err, fs.ErrNotExist) {
		return false, notRunning, nil
	}
	if err != nil {
		return false, "", fmt.Errorf("local server state: %w", err)
	}
	if st.Port == 0 {
		return false, notRunning, nil
	}
	probe := &Local{cfg: l.cfg, st: st, hc: l.hc}
	// Generous: on a loaded machine a running server can take seconds to
	// answer, and a false "not running" would hold a launch back.
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if !probe.answers(ctx) {
		return false, notRunning, nil
	}
	return true, "", nil
}
