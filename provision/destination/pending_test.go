package destination

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/config"
	"github.com/lifeboat-social/lifeboat/provision"
)

// On a machine without Terraform or Go (the campaign's home, where
// lifeboat serve runs from a release binary), a group bound for a new
// server that does not exist yet still gets a destination: serve attaches
// and hears "not yet", and keeps serving its pages, instead of failing to
// start. Making the server needs the tools, and says so. Once the state
// lists a server, the tools are needed to read it, and their absence is
// an error again.
func TestForNewServerWithoutTools(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty) // neither terraform nor go
	t.Setenv("LIFEBOAT_TOOLS", filepath.Join(empty, "tools"))
	ctx := context.Background()
	state := t.TempDir()
	cfg := Config{Config: config.Config{StateDir: state}}
	g := group(groups.Destination{Type: groups.DestNew, Cloud: groups.CloudHetzner, Domain: "social.example.org", Location: "fsn1", ServerType: "cx23"})

	d, err := For(ctx, g, cfg)
	if err != nil {
		t.Fatalf("For: %v", err)
	}
	a, ok := d.(provision.Attacher)
	if !ok {
		t.Fatalf("%T does not attach", d)
	}
	if _, err := a.Attach(ctx, nil); !errors.Is(err, provision.ErrNotReady) {
		t.Errorf("attach: %v, want ErrNotReady", err)
	}
	if _, err := d.Start(ctx, nil); err == nil || errors.Is(err, provision.ErrNotReady) || !errors.Is(err, errNoTools) {
		t.Errorf("start: %v, want the missing tools", err)
	}
	if err := d.Stop(ctx); err != nil {
		t.Error(err)
	}

	dir := filepath.Join(GroupDir(state, g.Name), "hetzner")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "terraform.tfstate"), []byte(`{"resources":[{"type":"hcloud_server"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := For(ctx, g, cfg); !errors.Is(err, errNoTools) {
		t.Errorf("with a server in the state: %v, want the missing tools", err)
	}
}
