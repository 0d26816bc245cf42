package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
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

// KnownURL is the base URL the server serves at, as the config its last
// Start wrote names it (protocol and host: plain HTTP on loopback, or
// HTTPS under its name on a federating net), read without starting
// anything; "" before the first Start.
func (l *Local) KnownURL() (string, error) {
	f, err := os.Open(l.ConfigPath())
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("local server config: %w", err)
	}
	defer f.Close()
	var c struct {
		Protocol string `json:"protocol"`
		Host     string `json:"host"`
	}
	// the config is Lifeboat's own JSON (see writeConfig); a few KiB
	if err := json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&c); err != nil {
		return "", fmt.Errorf("read %s: %w (delete the directory to start afresh)", l.ConfigPath(), err)
	}
	if c.Host == "" || c.Protocol == "" {
		return "", nil
	}
	return c.Protocol + "://" + c.Host, nil
}
