package capped

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	at := func(name string, n int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat("x", n)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Exactly at the cap is read whole.
	b, err := ReadFile(at("full", 1024), 1024)
	if err != nil || len(b) != 1024 {
		t.Fatalf("at the cap: %d bytes, %v", len(b), err)
	}
	// One byte over is refused, never truncated.
	b, err = ReadFile(at("over", 1025), 1024)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Limit != 1024 || b != nil {
		t.Fatalf("over the cap: %d bytes, %v", len(b), err)
	}
	if want := filepath.Join(dir, "over") + " is larger than 1 KiB"; err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	// A file that never ends costs only limit+1 bytes.
	if _, err := ReadFile("/dev/zero", 64); !errors.As(err, &tl) {
		t.Fatalf("/dev/zero: %v", err)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{1 << 20: "1 MiB", 3 << 20: "3 MiB", 64 << 10: "64 KiB", 4096: "4 KiB", 1000: "1000 bytes", 1536: "1536 bytes"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
