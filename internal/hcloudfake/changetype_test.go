package hcloudfake_test

import (
	"context"
	"testing"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// TestChangeType: a server's type changes as Hetzner's rescale does: only
// while it is off, only to a type that can be ordered where it is and
// whose disk is not smaller than the server's, the disk growing only when
// asked; the server stays off until powered on.
func TestChangeType(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	res, _, err := c.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "s1", ServerType: &hcloud.ServerType{Name: "cx23"},
		Image: &hcloud.Image{Name: "debian-12"}, Location: &hcloud.Location{Name: "fsn1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Action.WaitFor(ctx, append(res.NextActions, res.Action)...); err != nil {
		t.Fatal(err)
	}
	s := res.Server
	change := func(to string, upgrade bool) error {
		a, _, err := c.Server.ChangeType(ctx, s, hcloud.ServerChangeTypeOpts{ServerType: &hcloud.ServerType{Name: to}, UpgradeDisk: upgrade})
		if err != nil {
			return err
		}
		return c.Action.WaitFor(ctx, a)
	}
	if err := change("cx33", true); !hcloud.IsError(err, hcloud.ErrorCodeServerNotStopped) {
		t.Fatalf("change_type while running: %v", err)
	}
	off, _, err := c.Server.Poweroff(ctx, s)
	if err != nil || c.Action.WaitFor(ctx, off) != nil {
		t.Fatal(err)
	}
	if err := change("cx53", true); !hcloud.IsError(err, hcloud.ErrorCodeResourceUnavailable) {
		t.Errorf("change_type to a type sold out in fsn1: %v", err)
	}
	if err := change("cx33", false); err != nil {
		t.Fatal(err)
	}
	got, _, _ := c.Server.GetByID(ctx, s.ID)
	if got.ServerType.Name != "cx33" || got.PrimaryDiskSize != 40 || got.Status != hcloud.ServerStatusOff {
		t.Fatalf("after change_type keeping the disk: %s, %d GB, %s", got.ServerType.Name, got.PrimaryDiskSize, got.Status)
	}
	if err := change("cx43", true); err != nil {
		t.Fatal(err)
	}
	if err := change("cx33", false); !hcloud.IsError(err, hcloud.ErrorCodeInvalidServerType) {
		t.Errorf("change_type to a smaller disk: %v", err)
	}
	got, _, _ = c.Server.GetByID(ctx, s.ID)
	if got.ServerType.Name != "cx43" || got.PrimaryDiskSize != 160 {
		t.Fatalf("after change_type growing the disk: %s, %d GB", got.ServerType.Name, got.PrimaryDiskSize)
	}
}
