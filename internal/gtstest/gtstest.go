// Package gtstest gives tests a real GoToSocial server: the local
// destination, started once per test binary on loopback and stopped when
// the tests end. Tests that share it use their own usernames and groups.
// Foreign gives them a second one run as someone else's server, and
// Federation two that federate with each other over HTTPS.
package gtstest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/local"
)

var (
	once   sync.Once
	dir    string
	dest   *local.Local
	server *provision.Server
	err    error

	foreignMu sync.Mutex
	foreign   *Foreign   // the one tests get now
	foreigns  []*Foreign // every one started, to stop
)

// foreignApprovals is how many members' sign-ups one foreign server
// approves: GoToSocial v0.17.3 approves at most 10 sign-ups a day, its
// admin's among them.
const foreignApprovals = 9

// Foreign is a GoToSocial run as someone else's server, the existing
// destination of a group: sign-ups need a reason (40 to 500 characters)
// and the admin's approval, and the server's mail (confirmation links)
// goes to Mail, a loopback mailbox. Server.AdminToken is its admin's.
//
// GoToSocial v0.17.3 approves at most 10 sign-ups a day (the admin is
// one) and keeps at most 20 waiting.
type Foreign struct {
	Server   *provision.Server
	Mail     *mailbox.Server
	dest     *local.Local
	dir      string
	approved int // sign-ups promised to tests
}

// ForeignServer returns a foreign server that will approve the test's
// signUps more sign-ups: the shared one while it has room under
// GoToSocial's daily cap, else a new one (tests run with -count=3 use
// several). Like Server it fails the test when it cannot start.
func ForeignServer(t testing.TB, signUps int) *Foreign {
	t.Helper()
	foreignMu.Lock()
	defer foreignMu.Unlock()
	if foreign == nil || foreign.approved+signUps > foreignApprovals {
		f, err := startForeign(context.Background())
		if err != nil {
			t.Fatalf("start the foreign GoToSocial: %v", err)
		}
		foreign, foreigns = f, append(foreigns, f)
	}
	foreign.approved += signUps
	return foreign
}

func startForeign(ctx context.Context) (*Foreign, error) {
	dir, err := os.MkdirTemp("", "lifeboat-foreign-gts-")
	if err != nil {
		return nil, err
	}
	f := &Foreign{dir: dir}
	mb, err := mailbox.Start("127.0.0.1:0", nil)
	if err != nil {
		return nil, err
	}
	f.Mail = mb
	f.dest = local.New(local.Config{Dir: f.dir, Title: "Someone else's server", ReasonRequired: true,
		Settings: MailSettings(mb), ReadyTimeout: 6 * time.Minute}) // first migrations on a busy machine
	if f.Server, err = f.dest.Start(ctx, progress.Discard); err != nil {
		f.Stop(ctx) // a server that started too slowly still runs
		return nil, err
	}
	// Someone else's server makes no accounts for Lifeboat.
	f.Server.Accounts = nil
	return f, nil
}

// MailSettings point GoToSocial's SMTP at mb (no login, no TLS: loopback).
func MailSettings(mb *mailbox.Server) map[string]any {
	return map[string]any{"smtp-host": mb.Host(), "smtp-port": mb.Port(), "smtp-from": "gotosocial@example.org"}
}

// Stop stops the server and the mailbox and removes its directory.
func (f *Foreign) Stop(ctx context.Context) error {
	err := f.dest.Stop(ctx)
	f.Mail.Close()
	os.RemoveAll(f.dir)
	return err
}

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
	if err := stopFederation(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "gtstest: stop the federation:", err)
	}
	for _, f := range foreigns {
		if err := f.Stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "gtstest: stop a foreign server:", err)
		}
	}
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
