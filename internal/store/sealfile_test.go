package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A sealed file holds no clear secret, is 0600, opens with the ring and
// only under its own name.
func TestSealedFile(t *testing.T) {
	k := ring(t, NewKey())
	dir := t.TempDir()
	path := filepath.Join(dir, "admin-token.json")
	const secret = `{"token":"admin-token-0123456789abcdef"}`
	must(t, WriteSealedFile(k, path, []byte(secret)))
	b, err := os.ReadFile(path)
	must(t, err)
	if strings.Contains(string(b), "admin-token-0123456789abcdef") || !strings.HasPrefix(string(b), sealedPrefix) {
		t.Fatalf("the file holds %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := ReadSealedFile(k, path)
	if err != nil || string(got) != secret {
		t.Fatalf("read back %q, %v", got, err)
	}
	// Copied under another file's name, it does not open.
	other := filepath.Join(dir, "server.json")
	must(t, os.WriteFile(other, b, 0o600))
	if _, err := ReadSealedFile(k, other); !errors.Is(err, ErrKey) {
		t.Fatalf("a sealed file renamed: %v, want ErrKey", err)
	}
	// Another key does not open it.
	if _, err := ReadSealedFile(ring(t, NewKey()), path); !errors.Is(err, ErrKey) {
		t.Fatalf("another key: %v, want ErrKey", err)
	}
	// A missing file is fs.ErrNotExist, as os.ReadFile says it.
	if _, err := ReadSealedFile(k, filepath.Join(dir, "none.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a missing file: %v", err)
	}
	// A file past the cap is refused, not read whole.
	big := filepath.Join(dir, "big.json")
	must(t, os.WriteFile(big, make([]byte, MaxSealedFile+1), 0o600))
	if _, err := ReadSealedFile(k, big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("a file past the cap: %v", err)
	}
}

// A file an older Lifeboat wrote in clear is read once as it is and
// sealed in place by that read.
func TestClearFileSealedOnRead(t *testing.T) {
	k := ring(t, NewKey())
	path := filepath.Join(t.TempDir(), "server.json")
	const clear = `{"admin_password":"pw-0123456789","admin_token":"tok-0123456789"}`
	must(t, os.WriteFile(path, []byte(clear), 0o600))
	got, err := ReadSealedFile(k, path)
	if err != nil || string(got) != clear {
		t.Fatalf("first read: %q, %v", got, err)
	}
	b, err := os.ReadFile(path)
	must(t, err)
	if strings.Contains(string(b), "0123456789") {
		t.Fatalf("the file is still in clear after a read: %q", b)
	}
	if got, err := ReadSealedFile(k, path); err != nil || string(got) != clear {
		t.Fatalf("second read: %q, %v", got, err)
	}
}

// ResealFiles seals every sealed file below a directory with the ring's
// first key and leaves other files alone; a file no key opens fails it.
func TestResealFiles(t *testing.T) {
	old, next := NewKey(), NewKey()
	dir := t.TempDir()
	sealedPath := filepath.Join(dir, "groups", "g", "hetzner", "admin.json")
	must(t, os.MkdirAll(filepath.Dir(sealedPath), 0o700))
	must(t, WriteSealedFile(ring(t, old), sealedPath, []byte("credentials")))
	clearPath := filepath.Join(dir, "groups", "g", "group.yaml")
	must(t, os.WriteFile(clearPath, []byte("name: g\n"), 0o644))

	n, err := ResealFiles(ring(t, next, old), dir)
	if err != nil || n != 1 {
		t.Fatalf("resealed %d, %v; want 1", n, err)
	}
	if _, err := ReadSealedFile(ring(t, old), sealedPath); !errors.Is(err, ErrKey) {
		t.Fatalf("the old key still opens it: %v", err)
	}
	if got, err := ReadSealedFile(ring(t, next), sealedPath); err != nil || string(got) != "credentials" {
		t.Fatalf("the new key: %q, %v", got, err)
	}
	if b, _ := os.ReadFile(clearPath); string(b) != "name: g\n" {
		t.Fatalf("a file that is not sealed changed: %q", b)
	}
	if _, err := ResealFiles(ring(t, NewKey()), dir); !errors.Is(err, ErrKey) {
		t.Fatalf("a ring without the file's key: %v, want ErrKey", err)
	}
}
