// Package gtstest gives tests a real GoToSocial server: the local
// destination, started once per test binary on loopback and stopped when
// the tests end. Tests that share it use their own usernames and groups.
package gtstest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/progress"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/local"
)

var (
	once   sync.Once
	dir    string
	dest   *local.Local
	server *provision.Server
	err    error
)

// Server returns the shared server, starting it on first use. It fails
// the test (never skips) when GoToSocial cannot be built or started.
func Server(t testing.TB) (*local.Local, *provision.Server) {
	t.Helper()
	once.Do(func() {
		dir, err = os.MkdirTemp("", "lifeboat-gts-")
		if err != nil {
			return
		}
		// A busy machine (CI with several test binaries, each starting
		// its own GoToSocial) can take minutes to compile its SQLite.
		dest = local.New(local.Config{Dir: dir, Title: "Lifeboat tests", ReadyTimeout: 6 * time.Minute})
		server, err = dest.Start(context.Background(), progress.Discard)
	})
	if err != nil {
		t.Fatalf("start GoToSocial: %v", err)
	}
	return dest, server
}

// Main runs the tests and then stops the server if one was started. Call
// it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if dest != nil {
		if err := dest.Stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "gtstest: stop:", err)
		}
	}
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}
