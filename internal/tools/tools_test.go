package tools

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The tools directory usually sits inside a Lifeboat checkout, whose
// go.mod may ask for a newer Go than the one on the PATH: the go commands
// that fetch a module@version must not read it (a fresh clone once failed
// so, in go mod download, before anything was installed).
func TestToolBuildsIgnoreTheEnclosingModule(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	checkout := t.TempDir()
	if err := os.WriteFile(filepath.Join(checkout, "go.mod"), []byte("module example.org/checkout\n\ngo 1.999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := &Installer{Dir: filepath.Join(checkout, ".tools"), Log: testLog{t}}

	tmp, err := os.MkdirTemp(checkout, "src-")
	if err != nil {
		t.Fatal(err)
	}
	src, err := in.moduleSource(ctx, tmp, "github.com/rivo/uniseg", "v0.4.7", "")
	if err != nil {
		t.Fatalf("module source inside a checkout: %v", err)
	}
	if _, err := os.Stat(filepath.Join(src, "go.mod")); err != nil {
		t.Errorf("the module's source was not copied: %v", err)
	}

	bin, err := in.goInstall(ctx, "stringer-test", "golang.org/x/tools/cmd/stringer@v0.52.0", "stringer")
	if err != nil {
		t.Fatalf("go install inside a checkout: %v", err)
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("no executable at %s: %v", bin, err)
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) { l.t.Log(string(p)); return len(p), nil }
