package local_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/provision/local"
)

// Ready says "not running" for a directory no server was started in, and
// ready for the running one, without starting or writing anything.
func TestReady(t *testing.T) {
	ctx := context.Background()
	empty := t.TempDir()
	ok, missing, err := local.New(local.Config{Dir: empty}).Ready(ctx)
	if err != nil || ok || !strings.Contains(missing, "not running") {
		t.Errorf("no server: Ready = %v, %q, %v; want false naming that it is not running", ok, missing, err)
	}
	if m, _ := filepath.Glob(filepath.Join(empty, "*")); len(m) > 0 {
		t.Errorf("Ready wrote %v", m)
	}

	dest, _ := gtstest.Server(t)
	again := local.New(local.Config{Dir: filepath.Dir(dest.ConfigPath())})
	if ok, missing, err := again.Ready(ctx); err != nil || !ok || missing != "" {
		t.Errorf("running server: Ready = %v, %q, %v; want true", ok, missing, err)
	}
}

// KnownURL is the running server's address, read from the directory
// alone, and "" where no server was ever started.
func TestKnownURL(t *testing.T) {
	if u, err := local.New(local.Config{Dir: t.TempDir()}).KnownURL(); err != nil || u != "" {
		t.Errorf("no server: %q, %v", u, err)
	}
	dest, srv := gtstest.Server(t)
	u, err := local.New(local.Config{Dir: filepath.Dir(dest.ConfigPath())}).KnownURL()
	if err != nil || u != srv.URL {
		t.Errorf("KnownURL = %q, %v; want %s", u, err, srv.URL)
	}
}
