package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/internal/store"
)

// TestSecretsRotate rotates the key file, then the key in the
// environment: every secret still opens with the new key, the old key
// opens none, and nothing secret is printed.
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

	out, errs, code := lb(t, state, "secrets", "rotate")
	if code != 0 || !strings.Contains(out, "Sealed 2 secrets with the new key") {
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
	old, err := store.ParseKeys(string(oldKey), "old")
	must(err)
	st, err = store.Open(ctx, store.Config{Dir: state, Keys: old})
	must(err)
	if _, err := st.Groups().Get(ctx, "river"); err == nil {
		t.Fatal("the old key still opens the signing key")
	}
	st.Close()

	// The key in the environment: a new key put first seals everything.
	fileKeys := strings.TrimSpace(string(newKey[strings.LastIndex(string(newKey[:len(newKey)-1]), "\n")+1:]))
	envKey := store.NewKey()
	t.Setenv(store.EnvSecretKey, envKey+","+fileKeys)
	out, errs, code = lb(t, state, "secrets", "rotate")
	if code != 0 || !strings.Contains(out, "Sealed 2 secrets with key") || strings.Contains(out, envKey) {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	only, err := store.ParseKeys(envKey, "env")
	must(err)
	check(only)

	// A key that does not parse is bad input.
	t.Setenv(store.EnvSecretKey, "not-a-key")
	if _, errs, code = lb(t, state, "secrets", "rotate"); code != 2 || !strings.Contains(errs, "secret key") {
		t.Fatalf("a bad key: exit %d: %s", code, errs)
	}
}
