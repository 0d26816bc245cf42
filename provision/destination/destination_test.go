package destination

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/config"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
	"github.com/lifeboat-social/lifeboat/provision/local"
)

func group(d groups.Destination) *groups.Group {
	return &groups.Group{Version: 1, Name: "river-birders", Title: "River Birders", Destination: d}
}

// For chooses by the group file alone, and only an existing or a new
// server can be attached to without being made.
func TestFor(t *testing.T) {
	ctx := context.Background()
	state := t.TempDir()
	cfg := Config{Config: config.Config{StateDir: state,
		Hetzner: config.Hetzner{Terraform: "/usr/bin/true", Mirror: filepath.Join(state, "mirror")}}}

	d, err := For(ctx, group(groups.Destination{Type: groups.DestLocal}), cfg)
	if _, ok := d.(*local.Local); !ok || err != nil {
		t.Errorf("local: %T %v", d, err)
	}
	if _, ok := d.(provision.Attacher); ok {
		t.Error("the local destination attaches: it must be started")
	}
	d, err = For(ctx, group(groups.Destination{Type: groups.DestExisting, Server: "https://social.example/"}), cfg)
	if _, ok := d.(*existing.Existing); !ok || err != nil {
		t.Fatalf("existing: %T %v", d, err)
	}
	srv, err := d.(provision.Attacher).Attach(ctx, nil)
	if err != nil || srv.URL != "https://social.example" {
		t.Errorf("existing attach: %+v %v", srv, err)
	}
	d, err = For(ctx, group(groups.Destination{Type: groups.DestNew, Cloud: groups.CloudHetzner, Domain: "social.example.org",
		Location: "fsn1", ServerType: "cx22"}), cfg)
	if _, ok := d.(*hetzner.Destination); !ok || err != nil {
		t.Errorf("new: %T %v", d, err)
	}
	if _, err := For(ctx, group(groups.Destination{Type: "boat"}), cfg); err == nil {
		t.Error("an unknown type was built")
	}
}

// A new server gets the one SMTP scheme, split as GoToSocial and Mastodon
// take it, the lead's SSH sources as networks, and its state under the
// group's folder.
func TestHetznerConfig(t *testing.T) {
	state := t.TempDir()
	cfg := Config{Config: config.Config{StateDir: state, SSHFrom: []string{"203.0.113.7", " 2001:db8::/64"},
		SMTP:    config.SMTP{Addr: "smtp.example.org:465", User: "u", Password: "p", From: "River Birders <lifeboat@example.org>"},
		Hetzner: config.Hetzner{Token: "t", Endpoint: "http://127.0.0.1:9", Terraform: "/usr/bin/true", Mirror: "/m"}}}
	g := group(groups.Destination{Type: groups.DestNew, Cloud: groups.CloudHetzner, Domain: "d.example", Location: "fsn1", ServerType: "cx22"})
	hc, err := Hetzner(context.Background(), g, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := hetzner.SMTP{Host: "smtp.example.org", Port: 465, Username: "u", Password: "p", From: "lifeboat@example.org"}
	if hc.SMTP != want {
		t.Errorf("smtp %+v, want %+v", hc.SMTP, want)
	}
	if hc.Dir != filepath.Join(state, "groups", "river-birders", "hetzner") || hc.HomeDir != filepath.Join(state, "groups", "river-birders", "home") || hc.Token != "t" || hc.Terraform != "/usr/bin/true" || hc.ProviderMirror != "/m" {
		t.Errorf("%+v", hc)
	}
	if len(hc.SSHFrom) != 2 || hc.SSHFrom[0] != "203.0.113.7/32" || hc.SSHFrom[1] != "2001:db8::/64" {
		t.Errorf("ssh from %q", hc.SSHFrom)
	}
	if !hc.NoWait {
		t.Error("a loopback endpoint (a fake API) must not be waited for")
	}
	cfg.SMTP.Addr = "smtp.example.org"
	if _, err := Hetzner(context.Background(), g, cfg); !errors.Is(err, hetzner.ErrConfig) {
		t.Errorf("an address without a port: %v", err)
	}
	if _, err := Hetzner(context.Background(), group(groups.Destination{Type: groups.DestLocal}), cfg); !errors.Is(err, hetzner.ErrConfig) {
		t.Errorf("a local group: %v", err)
	}
}
