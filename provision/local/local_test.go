package local_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision/gtsaccounts"
	"github.com/lifeboat-social/lifeboat/provision/local"
)

func TestMain(m *testing.M) { gtstest.Main(m) }

func TestAdminAndAccounts(t *testing.T) {
	dest, srv := gtstest.Server(t)
	ctx := context.Background()
	me, err := fedi.New(srv.URL).WithToken(srv.AdminToken).VerifyCredentials(ctx)
	if err != nil || me.Username != "lifeboat" {
		t.Fatalf("admin token: %+v %v", me, err)
	}
	if _, err := fedi.New(srv.URL).WithToken(srv.AdminToken).PendingAccounts(ctx); err != nil {
		t.Fatalf("the admin token cannot use the admin API: %v", err)
	}

	id, err := srv.Accounts.CreateAccount(ctx, "heron", "heron@example.org", "Correct-Horse-Battery-9")
	if err != nil {
		t.Fatal(err)
	}
	again, err := srv.Accounts.CreateAccount(ctx, "heron", "HERON@example.org", "Correct-Horse-Battery-9")
	if err != nil || again != id {
		t.Errorf("second CreateAccount = %q, %v; want the same account %q", again, err, id)
	}
	c := fedi.New(srv.URL)
	app, err := c.RegisterApp(ctx, "t", "", []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.SignInAndAuthorize(ctx, app, "heron@example.org", "Correct-Horse-Battery-9")
	if err != nil {
		t.Fatalf("the new account cannot sign in: %v", err)
	}
	if me, err := c.WithToken(tok).VerifyCredentials(ctx); err != nil || me.ID != id {
		t.Errorf("the member reads %+v, %v; want account %s", me, err, id)
	}

	_, err = srv.Accounts.CreateAccount(ctx, "heron", "someone-else@example.org", "Correct-Horse-Battery-9")
	if !errors.Is(err, gtsaccounts.ErrUsernameTaken) {
		t.Errorf("taking another member's name: err = %v, want ErrUsernameTaken", err)
	}
	if _, err := srv.Accounts.CreateAccount(ctx, "egret", "egret@example.org", "short"); err == nil {
		t.Error("a weak password was accepted")
	}
	_ = dest
}

// A second destination on the same directory finds the running server
// and reuses it, with the same admin; its files hold secrets and are
// readable only by their owner; no secret is on GoToSocial's command line.
func TestReuseAndSecrets(t *testing.T) {
	dest, srv := gtstest.Server(t)
	ctx := context.Background()
	dir := filepath.Dir(dest.ConfigPath())
	again := local.New(local.Config{Dir: dir, Keep: true})
	srv2, err := again.Start(ctx, progress.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Stop(ctx)
	if srv2.URL != srv.URL || srv2.AdminToken != srv.AdminToken {
		t.Errorf("reuse made a different server: %s vs %s", srv2.URL, srv.URL)
	}
	for _, f := range []string{"server.json", "config.yaml"} {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", f, err, info.Mode().Perm())
		}
	}
	_, password := dest.AdminCredentials()
	assertSealed(t, dir, password, srv.AdminToken)
	pid, err := os.ReadFile(filepath.Join(dir, "gotosocial.pid"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(n) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cmdline), password) || strings.Contains(string(cmdline), srv.AdminToken) {
		t.Error("a secret is on GoToSocial's command line")
	}
}

func TestStopRunningWithoutServer(t *testing.T) {
	if err := local.StopRunning(context.Background(), t.TempDir()); err != nil {
		t.Errorf("StopRunning on an empty dir: %v", err)
	}
}

// A run killed after starting the server but before writing its pid file
// leaves the server without one: the next start finds it by its config,
// reuses it and can stop it.
func TestFindsServerWithoutPidFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first := local.New(local.Config{Dir: dir, Keep: true})
	srv, err := first.Start(ctx, progress.Discard)
	if err != nil {
		t.Fatal(err)
	}
	first.Stop(ctx)
	pidFile := filepath.Join(dir, "gotosocial.pid")
	pid, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(pidFile)

	again := local.New(local.Config{Dir: dir})
	srv2, err := again.Start(ctx, progress.Discard)
	if err != nil {
		t.Fatalf("start beside the orphan: %v", err)
	}
	if srv2.URL != srv.URL {
		t.Errorf("a second server at %s, want the orphan at %s reused", srv2.URL, srv.URL)
	}
	if got, _ := os.ReadFile(pidFile); string(got) != string(pid) {
		t.Errorf("pid file %q, want the orphan's %q", got, pid)
	}
	if err := again.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
	if _, err := os.Stat("/proc/" + strconv.Itoa(n)); err == nil {
		t.Error("the orphan still runs after Stop")
	}
}

// assertSealed checks that server.json holds none of the secrets in clear.
func assertSealed(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "server.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(string(b), s) {
			t.Fatal("server.json holds the admin's password or token in clear")
		}
	}
}

// A server.json an older Lifeboat wrote in clear is read once (the
// server and its admin token are reused) and sealed by that read; after
// the key is rotated (the files resealed with a new key, as lifeboat
// secrets rotate does) the old key opens it no more, the new one does,
// and the server is still reused with the same token.
func TestServerFileSealedAndRotated(t *testing.T) {
	dest, srv := gtstest.Server(t)
	ctx := context.Background()
	dir := filepath.Dir(dest.ConfigPath())
	path := filepath.Join(dir, "server.json")
	_, password := dest.AdminCredentials()
	old, err := store.LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	clear, err := store.ReadSealedFile(old, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, clear, 0o600); err != nil {
		t.Fatal(err)
	}
	start := func(what string) {
		t.Helper()
		again := local.New(local.Config{Dir: dir, Keep: true})
		got, err := again.Start(ctx, progress.Discard)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		again.Stop(ctx)
		if got.URL != srv.URL || got.AdminToken != srv.AdminToken {
			t.Fatalf("%s: a different server or token", what)
		}
		assertSealed(t, dir, password, srv.AdminToken)
	}
	start("a clear server.json")

	// Rotate: a new key first, the old one beside it while resealing.
	next := store.NewKey()
	oldText := os.Getenv(store.EnvSecretKey)
	if oldText == "" {
		file, err := store.KeyFile()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		oldText = string(b)
	}
	both, err := store.ParseKeys(next+"\n"+oldText, "rotation")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := store.ResealFiles(both, dir); err != nil || n != 1 {
		t.Fatalf("resealed %d files, %v; want server.json", n, err)
	}
	if _, err := store.ReadSealedFile(old, path); !errors.Is(err, store.ErrKey) {
		t.Fatalf("the old key still opens server.json: %v", err)
	}
	// Put the shared server's file back under the old key for the tests
	// that follow, whatever happens below.
	t.Cleanup(func() {
		back, err := store.ParseKeys(oldText+"\n"+next, "back")
		if err == nil {
			_, err = store.ResealFiles(back, dir)
		}
		if err != nil {
			t.Errorf("put server.json back under the old key: %v", err)
		}
	})
	t.Setenv(store.EnvSecretKey, next)
	start("after the rotation")
}
