package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lifeboat-social/lifeboat/internal/store"
)

// TestSecretsRotate rotates the key file, then the key in the
// environment: every secret, in the store and in the sealed files of the
// state directory, still opens with the new key, the old key opens none,
// and nothing secret is printed.
func TestSecretsRotate(t *testing.T) {
	ctx := context.Background()
	state := t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "config", "secret.key")
	t.Setenv(store.EnvSecretKey, "")
	t.Setenv(store.EnvSecretKeyFile, keyFile)

	st, err := store.Open(ctx, store.Config{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.Groups().Put(ctx, store.Group{Name: "river"}))
	must(st.Accounts().Put(ctx, store.Account{Group: "river", Email: "ada@example.org", ID: "1", Token: "token-of-ada-0123456789"}))
	before, err := st.Groups().Get(ctx, "river")
	must(err)
	st.Close()
	oldKey, err := os.ReadFile(keyFile)
	must(err)
	oldRing, err := store.LoadKeys(state)
	must(err)
	// The files a local server and a new server keep their admin's
	// secrets in, and a file that is not sealed (left as it is).
	files := map[string]string{
		"groups/river/local/server.json":        `{"admin_token":"local-admin-token-0123456789"}`,
		"groups/river/hetzner/admin-token.json": `{"token":"cloud-admin-token-0123456789"}`,
		"groups/river/hetzner/admin.json":       `{"password":"cloud-admin-password-0123456789"}`,
	}
	for name, text := range files {
		path := filepath.Join(state, name)
		must(os.MkdirAll(filepath.Dir(path), 0o700))
		must(store.WriteSealedFile(oldRing, path, []byte(text)))
	}
	plain := filepath.Join(state, "groups", "river", "notes.txt")
	must(os.WriteFile(plain, []byte("not a secret\n"), 0o600))

	out, errs, code := lb(t, state, "secrets", "rotate")
	if code != 0 || !strings.Contains(out, "Sealed 2 secrets in the store and 3 files with the new key") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	newKey, err := os.ReadFile(keyFile)
	must(err)
	for _, k := range strings.Split(string(oldKey)+string(newKey), "\n") {
		if k != "" && !strings.HasPrefix(k, "#") && strings.Contains(out+errs, k) {
			t.Fatal("rotate printed a key")
		}
	}
	check := func(keys *store.Keyring) {
		t.Helper()
		st, err := store.Open(ctx, store.Config{Dir: state, Keys: keys})
		must(err)
		defer st.Close()
		g, err := st.Groups().Get(ctx, "river")
		must(err)
		a, err := st.Accounts().Get(ctx, "river", "ada@example.org")
		must(err)
		if !bytes.Equal(g.SigningKey, before.SigningKey) || a.Token != "token-of-ada-0123456789" {
			t.Fatal("a secret changed in the rotation")
		}
	}
	check(nil) // the key file's new key
	newRing, err := store.LoadKeys(state)
	must(err)
	checkFiles := func(keys, stale *store.Keyring) {
		t.Helper()
		for name, text := range files {
			path := filepath.Join(state, name)
			raw, err := os.ReadFile(path)
			must(err)
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s: mode %v, %v", name, fi.Mode().Perm(), err)
			}
			if strings.Contains(string(raw), "0123456789") {
				t.Fatalf("%s holds its secret in clear after the rotation", name)
			}
			if got, err := store.ReadSealedFile(keys, path); err != nil || string(got) != text {
				t.Fatalf("%s with the new key: %q, %v", name, got, err)
			}
			if _, err := store.ReadSealedFile(stale, path); !errors.Is(err, store.ErrKey) {
				t.Fatalf("%s with the old key: %v, want ErrKey", name, err)
			}
		}
		if b, err := os.ReadFile(plain); err != nil || string(b) != "not a secret\n" {
			t.Fatalf("a file that is not sealed was changed: %q, %v", b, err)
		}
	}
	old, err := store.ParseKeys(string(oldKey), "old")
	must(err)
	checkFiles(newRing, old)
	st, err = store.Open(ctx, store.Config{Dir: state, Keys: old})
	must(err)
	if _, err := st.Groups().Get(ctx, "river"); err == nil {
		t.Fatal("the old key still opens the signing key")
	}
	st.Close()

	// "secrets open" gives the lead a sealed file's content, on a pipe.
	adminJSON := filepath.Join(state, "groups/river/hetzner/admin.json")
	if out, errs, code := lb(t, state, "secrets", "open", adminJSON); code != 0 || out != files["groups/river/hetzner/admin.json"] {
		t.Fatalf("secrets open: exit %d: %q %s", code, out, errs)
	}
	if _, errs, code := lb(t, state, "secrets", "open", plain+"-none"); code != 2 || !strings.Contains(errs, "no such file") {
		t.Fatalf("secrets open of a missing file: exit %d: %s", code, errs)
	}

	// The key in the environment: a new key put first seals everything.
	fileKeys := strings.TrimSpace(string(newKey[strings.LastIndex(string(newKey[:len(newKey)-1]), "\n")+1:]))
	envKey := store.NewKey()
	t.Setenv(store.EnvSecretKey, envKey+","+fileKeys)
	out, errs, code = lb(t, state, "secrets", "rotate")
	if code != 0 || !strings.Contains(out, "Sealed 2 secrets in the store and 3 files with key") || strings.Contains(out, envKey) {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	only, err := store.ParseKeys(envKey, "env")
	must(err)
	check(only)
	checkFiles(only, newRing)

	// A key that does not parse is bad input.
	t.Setenv(store.EnvSecretKey, "not-a-key")
	if _, errs, code = lb(t, state, "secrets", "rotate"); code != 2 || !strings.Contains(errs, "secret key") {
		t.Fatalf("a bad key: exit %d: %s", code, errs)
	}
}

// localAdminToken opens the admin token a local server keeps, sealed, in
// dir/server.json, checking on the way that the file holds it sealed.
func localAdminToken(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "server.json")
	keys, err := store.LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.ReadSealedFile(keys, path)
	if err != nil {
		t.Fatal(err)
	}
	var srv struct {
		AdminToken string `json:"admin_token"`
	}
	if err := json.Unmarshal(b, &srv); err != nil || srv.AdminToken == "" {
		t.Fatalf("%s holds no admin token: %v", path, err)
	}
	if raw, err := os.ReadFile(path); err != nil || strings.Contains(string(raw), srv.AdminToken) {
		t.Fatalf("%s holds the admin token in clear (%v)", path, err)
	}
	return srv.AdminToken
}

// "secrets open" refuses to write a secret to a terminal (a
// pseudo-terminal here), and writes nothing.
func TestSecretsOpenRefusesTerminal(t *testing.T) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	if !isTerminal(tty) {
		t.Fatal("the pseudo-terminal is not a terminal")
	}
	state := t.TempDir()
	keys, err := store.ParseKeys(store.NewKey(), "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(store.EnvSecretKey, "")
	t.Setenv(store.EnvSecretKeyFile, filepath.Join(t.TempDir(), "secret.key"))
	path := filepath.Join(state, "admin.json")
	if err := store.WriteSealedFile(keys, path, []byte(`{"password":"a-secret-password"}`)); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	app := &App{Stdout: tty, Stderr: &errb, StateDir: state}
	defer app.Close()
	if code := runApp(context.Background(), app, []string{"secrets", "open", path}); code != 2 || !strings.Contains(errb.String(), "not to the terminal") {
		t.Fatalf("secrets open to a terminal: exit %d: %s", code, errb.String())
	}
}
