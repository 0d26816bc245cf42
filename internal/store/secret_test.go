package store

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func ring(t *testing.T, keys ...string) *Keyring {
	t.Helper()
	k, err := ParseKeys(strings.Join(keys, ","), "test")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// raw reads a column as stored, past the store's sealing.
func raw(t *testing.T, s Store, q string, args ...any) []byte {
	t.Helper()
	var b []byte
	must(t, s.(*sqlStore).queryRow(ctx, q, args...).Scan(&b))
	return b
}

const token = "Zm9vYmFyLXRva2VuLW9mLWFkYS0xMjM0NTY3ODkw"

// TestSecretsSealed: tokens and signing keys are sealed in the database
// and open again only with the key, in their own row.
func TestSecretsSealed(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			cfg := d.config(t)
			cfg.Keys = ring(t, NewKey())
			s := open(t, cfg)
			must(t, s.Groups().Put(ctx, Group{Name: "uk"}))
			must(t, s.Accounts().Put(ctx, Account{Group: "uk", Email: "ada@example.org", ID: "1", Token: token}))
			must(t, s.Accounts().Put(ctx, Account{Group: "uk", Email: "ben@example.org", ID: "2", Token: token + "-ben"}))
			must(t, s.Accounts().Put(ctx, Account{Group: "uk", Email: "cy@example.org", ID: "3"}))

			g, err := s.Groups().Get(ctx, "uk")
			must(t, err)
			if len(g.SigningKey) != ed25519.PrivateKeySize {
				t.Fatalf("signing key of %d bytes", len(g.SigningKey))
			}
			a, err := s.Accounts().Get(ctx, "uk", "ada@example.org")
			if err != nil || a.Token != token {
				t.Fatalf("token %q, %v", a.Token, err)
			}
			if c, _ := s.Accounts().Get(ctx, "uk", "cy@example.org"); c.Token != "" {
				t.Fatalf("an empty token came back as %q", c.Token)
			}
			storedKey := raw(t, s, "SELECT signing_key FROM groups WHERE name = ?", "uk")
			storedTok := raw(t, s, "SELECT token FROM accounts WHERE email = ?", "ada@example.org")
			if bytes.Contains(storedKey, g.SigningKey[:32]) || !bytes.HasPrefix(storedKey, []byte(sealedPrefix)) {
				t.Fatalf("signing key stored as %q", storedKey)
			}
			if bytes.Contains(storedTok, []byte(token)) || !bytes.HasPrefix(storedTok, []byte(sealedPrefix)) {
				t.Fatalf("token stored as %q", storedTok)
			}
			// Put without a key keeps the sealed one.
			must(t, s.Groups().Put(ctx, Group{Name: "uk", Title: "UK"}))
			if g2, err := s.Groups().Get(ctx, "uk"); err != nil || !bytes.Equal(g2.SigningKey, g.SigningKey) {
				t.Fatalf("signing key changed on Put: %v", err)
			}

			// A journal result (an OAuth app's client secret) is sealed.
			const app = `{"client_id":"id","client_secret":"client-secret-0123456789"}`
			for _, key := range []string{"app:x", "app:y"} {
				if _, err := s.Journal().Start(ctx, "arrive", key); !errors.Is(err, ErrNotFound) {
					t.Fatal(err)
				}
				must(t, s.Journal().Finish(ctx, "arrive", key, []byte(app)))
			}
			if st, err := s.Journal().Get(ctx, "arrive", "app:x"); err != nil || string(st.Result) != app {
				t.Fatalf("journal result %q, %v", st.Result, err)
			}
			if steps, err := s.Journal().List(ctx, "arrive", "app:"); err != nil || len(steps) != 2 || string(steps[1].Result) != app {
				t.Fatalf("journal list %v, %v", steps, err)
			}
			if prev, err := s.Journal().Start(ctx, "arrive", "app:x"); err != nil || string(prev.Result) != app {
				t.Fatalf("journal start %q, %v", prev.Result, err)
			}
			storedRes := raw(t, s, "SELECT result FROM journal WHERE key = ?", "app:y")
			if bytes.Contains(storedRes, []byte("client-secret")) || !bytes.HasPrefix(storedRes, []byte(sealedPrefix)) {
				t.Fatalf("journal result stored as %q", storedRes)
			}
			_, err = s.(*sqlStore).exec(ctx, "UPDATE journal SET result = ? WHERE key = ?", storedRes, "app:x")
			must(t, err)
			_, err = s.Journal().Get(ctx, "arrive", "app:x")
			wantErr(t, err, ErrKey)

			// A sealed token moved into another member's row does not open.
			_, err = s.(*sqlStore).exec(ctx, "UPDATE accounts SET token = ? WHERE email = ?", string(storedTok), "ben@example.org")
			must(t, err)
			_, err = s.Accounts().Get(ctx, "uk", "ben@example.org")
			wantErr(t, err, ErrKey)
			s.Close()

			// Another key opens nothing, and says which key is needed.
			other := cfg
			other.Keys = ring(t, NewKey())
			s = open(t, other)
			_, err = s.Accounts().Get(ctx, "uk", "ada@example.org")
			wantErr(t, err, ErrKey)
			if !strings.Contains(err.Error(), cfg.Keys.ID()) {
				t.Errorf("the error does not name the key the secret needs: %v", err)
			}
			_, err = s.Groups().Get(ctx, "uk")
			wantErr(t, err, ErrKey)
		})
	}
}

// TestClearSecretsSealedOnOpen: a store written by a Lifeboat that kept
// tokens and signing keys in clear has them sealed when it is opened, and
// (SQLite) no clear copy is left in the database file.
func TestClearSecretsSealedOnOpen(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			cfg := d.config(t)
			cfg.Keys = ring(t, NewKey())
			s := open(t, cfg).(*sqlStore)
			_, priv, _ := ed25519.GenerateKey(nil)
			for _, q := range []struct {
				q    string
				args []any
			}{
				{"INSERT INTO groups (name, state, signing_key, created_at, updated_at) VALUES (?, 'gathering', ?, ?, ?)",
					[]any{"uk", []byte(priv), s.d.ts(t0), s.d.ts(t0)}},
				{"INSERT INTO accounts (group_name, email, token, created_at) VALUES ('uk', 'ada@example.org', ?, ?)",
					[]any{token, s.d.ts(t0)}},
				{"INSERT INTO journal (run, key, status, result, error, attempts, updated_at) VALUES ('arrive', 'app:x', 'done', ?, '', 1, ?)",
					[]any{[]byte(`{"client_secret":"` + token + `"}`), s.d.ts(t0)}},
			} {
				_, err := s.exec(ctx, q.q, q.args...)
				must(t, err)
			}
			s.Close()

			s = open(t, cfg).(*sqlStore)
			if b := raw(t, s, "SELECT token FROM accounts"); !bytes.HasPrefix(b, []byte(sealedPrefix)) {
				t.Fatalf("token still %q", b)
			}
			if b := raw(t, s, "SELECT signing_key FROM groups"); !bytes.HasPrefix(b, []byte(sealedPrefix)) {
				t.Fatalf("signing key still %x", b)
			}
			g, err := s.Groups().Get(ctx, "uk")
			if err != nil || !bytes.Equal(g.SigningKey, priv) {
				t.Fatalf("signing key after sealing: %v", err)
			}
			if a, err := s.Accounts().Get(ctx, "uk", "ada@example.org"); err != nil || a.Token != token {
				t.Fatalf("token after sealing %q, %v", a.Token, err)
			}
			if b := raw(t, s, "SELECT result FROM journal"); !bytes.HasPrefix(b, []byte(sealedPrefix)) {
				t.Fatalf("journal result still %q", b)
			}
			if st, err := s.Journal().Get(ctx, "arrive", "app:x"); err != nil || !strings.Contains(string(st.Result), token) {
				t.Fatalf("journal result after sealing %q, %v", st.Result, err)
			}
			if cfg.Dir != "" {
				s.Close()
				for _, f := range []string{DBFile, DBFile + "-wal"} {
					b, _ := os.ReadFile(filepath.Join(cfg.Dir, f))
					if bytes.Contains(b, []byte(token)) || bytes.Contains(b, priv[:32]) {
						t.Errorf("%s still holds a clear secret", f)
					}
				}
			}
		})
	}
}

// TestRotateKeyFile rotates the key on both drivers: every secret is
// sealed with the new key, the old key opens nothing, and the key file
// holds the new key alone, 0600.
func TestRotateKeyFile(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			cfg := d.config(t)
			file := filepath.Join(t.TempDir(), "config", KeyFileName)
			old, err := LoadKeyFile(file, cfg.Dir)
			must(t, err)
			cfg.Keys = old
			s := open(t, cfg)
			must(t, s.Groups().Put(ctx, Group{Name: "uk"}))
			must(t, s.Groups().Put(ctx, Group{Name: "fr"}))
			must(t, s.Accounts().Put(ctx, Account{Group: "uk", Email: "ada@example.org", Token: token}))
			g, err := s.Groups().Get(ctx, "uk")
			must(t, err)
			s.Close()

			rot, err := RotateKeyFile(ctx, cfg, file)
			must(t, err)
			if rot.Secrets != 3 || rot.Key == old.ID() {
				t.Fatalf("rotation %+v (old key %s)", rot, old.ID())
			}
			lines, err := keyLines(file)
			must(t, err)
			fi, err := os.Stat(file)
			must(t, err)
			if len(lines) != 1 || fi.Mode().Perm() != 0o600 {
				t.Fatalf("key file: %d keys, mode %v", len(lines), fi.Mode().Perm())
			}
			now, err := LoadKeyFile(file, cfg.Dir)
			must(t, err)
			if now.ID() != rot.Key {
				t.Fatalf("the key file holds %s, the rotation says %s", now.ID(), rot.Key)
			}
			cfg.Keys = now
			s = open(t, cfg)
			g2, err := s.Groups().Get(ctx, "uk")
			must(t, err)
			a, err := s.Accounts().Get(ctx, "uk", "ada@example.org")
			if err != nil || a.Token != token || !bytes.Equal(g2.SigningKey, g.SigningKey) {
				t.Fatalf("after rotation: token %q, %v", a.Token, err)
			}
			s.Close()
			cfg.Keys = old
			s = open(t, cfg)
			_, err = s.Accounts().Get(ctx, "uk", "ada@example.org")
			wantErr(t, err, ErrKey)
		})
	}
}

// TestRotateKeyFileFailsWhole: a secret no key in the file opens stops
// the rotation before anything changes, and the file keeps the old key
// beside the new, so every secret still opens.
func TestRotateKeyFileFailsWhole(t *testing.T) {
	cfg := drivers[0].config(t)
	file := filepath.Join(t.TempDir(), KeyFileName)
	old, err := LoadKeyFile(file, cfg.Dir)
	must(t, err)
	cfg.Keys = old
	s := open(t, cfg)
	must(t, s.Groups().Put(ctx, Group{Name: "uk"}))
	must(t, s.Accounts().Put(ctx, Account{Group: "uk", Email: "ada@example.org", Token: token}))
	foreign := ring(t, NewKey()).Seal([]byte("other"), tokenAD("uk", "bob@example.org"))
	_, err = s.(*sqlStore).exec(ctx, "INSERT INTO accounts (group_name, email, token, created_at) VALUES ('uk', 'bob@example.org', ?, ?)",
		foreign, sqliteDialect.ts(t0))
	must(t, err)
	before := raw(t, s, "SELECT token FROM accounts WHERE email = ?", "ada@example.org")
	s.Close()

	if _, err := RotateKeyFile(ctx, cfg, file); !errors.Is(err, ErrKey) {
		t.Fatalf("rotation over a foreign secret: %v", err)
	}
	lines, _ := keyLines(file)
	if len(lines) != 2 {
		t.Fatalf("key file holds %d keys, want the new and the old", len(lines))
	}
	ring, err := LoadKeyFile(file, cfg.Dir)
	must(t, err)
	cfg.Keys = ring
	s = open(t, cfg)
	if after := raw(t, s, "SELECT token FROM accounts WHERE email = ?", "ada@example.org"); !bytes.Equal(before, after) {
		t.Fatal("a failed rotation changed a secret")
	}
	if a, err := s.Accounts().Get(ctx, "uk", "ada@example.org"); err != nil || a.Token != token {
		t.Fatalf("after a failed rotation: %q, %v", a.Token, err)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cfg", "lifeboat", KeyFileName)
	k1, err := LoadKeyFile(file, filepath.Join(dir, "state"))
	must(t, err)
	fi, err := os.Stat(file)
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode().Perm())
	}
	k2, err := LoadKeyFile(file, "")
	if err != nil || k2.ID() != k1.ID() {
		t.Fatalf("the key file was not reused: %v", err)
	}
	// Processes starting at once agree on one key.
	racing := filepath.Join(dir, "race", KeyFileName)
	ids := make([]string, 8)
	errs := race(8, func(i int) error {
		k, err := LoadKeyFile(racing, "")
		if err == nil {
			ids[i] = k.ID()
		}
		return err
	})
	if count(t, errs, nil) != 8 {
		t.Fatal("a racing load failed")
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("racing loads made different keys: %v", ids)
		}
	}

	_, err = LoadKeyFile(filepath.Join(dir, "state", "keys", KeyFileName), filepath.Join(dir, "state"))
	if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "inside the state directory") {
		t.Errorf("a key file in the state directory: %v", err)
	}
	must(t, os.Chmod(file, 0o644))
	if _, err = LoadKeyFile(file, ""); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a readable key file: %v", err)
	}
	for _, bad := range []string{"", "# only a comment\n", "not base64!", "c2hvcnQ="} {
		if _, err := ParseKeys(bad, "test"); !errors.Is(err, ErrKey) {
			t.Errorf("ParseKeys(%q): %v", bad, err)
		}
	}
	// $LIFEBOAT_SECRET_KEY wins over the file; its first key seals.
	a, b := NewKey(), NewKey()
	t.Setenv(EnvSecretKey, a+","+b)
	k, err := LoadKeys(dir)
	must(t, err)
	if k.ID() != ring(t, a).ID() || len(k.keys) != 2 {
		t.Fatalf("keys from the environment: %s, %d", k.ID(), len(k.keys))
	}
}
