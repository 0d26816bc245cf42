package gtstest

import (
	"context"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/fednet"
	"github.com/lifeboat-social/lifeboat/provision/local"
)

// The names of the two federating servers. Every test binary has its own
// net (its own addresses and CA), so the names never clash.
const (
	RoomDomain = "room.lifeboat.test"
	HomeDomain = "home.lifeboat.test"
)

var (
	fedOnce sync.Once
	fedDir  string
	fedNet  *fednet.Net
	fedRoom *Fed
	fedHome *Fed
	fedErr  error
)

// Fed is one GoToSocial of the federation: the local destination served
// over HTTPS under its Domain.
type Fed struct {
	Server *provision.Server // URL is https://<Domain>; AdminToken is its admin's
	Domain string            // the server's host name, as in user@Domain
	dest   *local.Local

	mu        sync.Mutex
	app       fedi.App
	passwords map[string]string // by username: a second Account call signs in again
}

// Federation returns two GoToSocial v0.17.3 servers that federate with
// each other over HTTPS (certificates from a local CA both trust), started
// once per test binary and stopped by Main. Tests that share them use
// their own usernames. It fails the test (never skips) when they cannot
// start.
func Federation(t testing.TB) (room, home *Fed) {
	t.Helper()
	fedOnce.Do(func() { fedErr = startFederation(context.Background()) })
	if fedErr != nil {
		t.Fatalf("start two federating GoToSocial servers: %v", fedErr)
	}
	return fedRoom, fedHome
}

func startFederation(ctx context.Context) error {
	var err error
	if fedDir, err = os.MkdirTemp("", "lifeboat-fed-"); err != nil {
		return err
	}
	if fedNet, err = fednet.Open(fedDir+"/net", RoomDomain, HomeDomain); err != nil {
		return err
	}
	fedRoom = &Fed{Domain: RoomDomain}
	fedHome = &Fed{Domain: HomeDomain}
	// Both at once: most of a start is GoToSocial compiling its SQLite.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, f := range []*Fed{fedRoom, fedHome} {
		wg.Go(func() {
			f.dest = local.New(local.Config{Dir: fedDir + "/" + f.Domain, Title: f.Domain, Net: fedNet, Domain: f.Domain,
				ReadyTimeout: 6 * time.Minute})
			f.Server, errs[i] = f.dest.Start(ctx, progress.Discard)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// stopFederation stops both servers (a server that failed to start may
// still run) and removes their directories.
func stopFederation(ctx context.Context) error {
	var first error
	for _, f := range []*Fed{fedRoom, fedHome} {
		if f != nil && f.dest != nil {
			if err := f.dest.Stop(ctx); err != nil && first == nil {
				first = err
			}
		}
	}
	if fedDir != "" {
		os.RemoveAll(fedDir)
	}
	return first
}

// FederationHTTPClient trusts the local CA and resolves both servers'
// names; pass it with fedi.WithHTTPClient. Call it after Federation.
func FederationHTTPClient() *http.Client {
	if fedNet == nil {
		panic("gtstest: FederationHTTPClient before Federation")
	}
	return fedNet.HTTPClient()
}

// Client is an API client for f through the federation's HTTP client.
func (f *Fed) Client() *fedi.Client {
	return fedi.New(f.Server.URL, fedi.WithHTTPClient(fedNet.HTTPClient()))
}

// Account makes a confirmed, approved account on f and returns its id and
// a user token with scopes read write follow. The email is
// username@example.org.
func (f *Fed) Account(t testing.TB, username string) (id, token string) {
	t.Helper()
	ctx := context.Background()
	c := f.Client()
	f.mu.Lock()
	if f.app.ClientID == "" {
		app, err := c.RegisterApp(ctx, "gtstest", fedi.OOB, []string{"read", "write", "follow"})
		if err != nil {
			f.mu.Unlock()
			t.Fatalf("register an app on %s: %v", f.Domain, err)
		}
		f.app, f.passwords = app, map[string]string{}
	}
	password, ok := f.passwords[username]
	if !ok {
		password = provision.NewPassword()
		f.passwords[username] = password
	}
	app := f.app
	f.mu.Unlock()
	email := username + "@example.org"
	id, err := f.Server.Accounts.CreateAccount(ctx, username, email, password)
	if err != nil {
		t.Fatalf("make %s@%s: %v", username, f.Domain, err)
	}
	token, err = c.SignInAndAuthorize(ctx, app, email, password)
	if err != nil {
		t.Fatalf("sign %s@%s in: %v", username, f.Domain, err)
	}
	return id, token
}
