package hcloudfake_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
)

// refused reports whether err is the API's refusal with this status and
// code, and says what it was otherwise.
func refused(t *testing.T, what string, err error, status int, code hcloud.ErrorCode) {
	t.Helper()
	var e hcloud.Error
	if !errors.As(err, &e) || e.Code != code || e.Response() == nil || e.Response().StatusCode != status {
		t.Errorf("%s: %v, want %d %s", what, err, status, code)
	}
}

// newServer makes a server in loc and waits until it is running.
func newServer(ctx context.Context, t *testing.T, c *hcloud.Client, name, loc string, pn *hcloud.ServerCreatePublicNet) *hcloud.Server {
	t.Helper()
	res, _, err := c.Server.Create(ctx, hcloud.ServerCreateOpts{Name: name, ServerType: &hcloud.ServerType{Name: hcloudfake.CurrentType},
		Image: &hcloud.Image{Name: "debian-12"}, Location: &hcloud.Location{Name: loc}, PublicNet: pn})
	if err != nil {
		t.Fatalf("create %s in %s: %v", name, loc, err)
	}
	if err := c.Action.WaitFor(ctx, append([]*hcloud.Action{res.Action}, res.NextActions...)...); err != nil {
		t.Fatal(err)
	}
	s, _, err := c.Server.GetByID(ctx, res.Server.ID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestVolumeLocation: a volume attaches only to a server in its own
// location, by the attach action or at the server's creation, and to one
// server at a time; a refused attach or creation changes nothing. A
// volume made for a server is made in the server's location.
func TestVolumeLocation(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	fsn := newServer(ctx, t, c, "in-fsn1", "fsn1", nil)
	vol, _, err := c.Volume.Create(ctx, hcloud.VolumeCreateOpts{Name: "in-nbg1", Size: 10, Location: &hcloud.Location{Name: "nbg1"}, Format: hcloud.Ptr("ext4")})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Action.WaitFor(ctx, vol.Action); err != nil {
		t.Fatal(err)
	}

	_, _, err = c.Volume.Attach(ctx, vol.Volume, fsn)
	refused(t, "attach a volume in nbg1 to a server in fsn1", err, 400, hcloud.ErrorCodeInvalidInput)
	var e hcloud.Error
	if errors.As(err, &e) {
		d, _ := e.Details.(hcloud.ErrorDetailsInvalidInput)
		if len(d.Fields) != 1 || d.Fields[0].Name != "server" {
			t.Errorf("the refusal names %+v, want the field server", d.Fields)
		}
	}
	_, _, err = c.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "with-volume", ServerType: &hcloud.ServerType{Name: hcloudfake.CurrentType},
		Image: &hcloud.Image{Name: "debian-12"}, Location: &hcloud.Location{Name: "fsn1"}, Volumes: []*hcloud.Volume{vol.Volume}})
	refused(t, "create a server in fsn1 with a volume in nbg1", err, 400, hcloud.ErrorCodeInvalidInput)
	if v := f.Volumes(); len(v) != 1 || v[0].Server != nil || len(f.Servers()) != 1 || len(f.Servers()[0].Volumes) != 0 {
		t.Fatalf("a refused attach changed something: volumes %+v, servers %d", v, len(f.Servers()))
	}

	// In its own location it attaches, once.
	nbg := newServer(ctx, t, c, "in-nbg1", "nbg1", nil)
	a, _, err := c.Volume.Attach(ctx, vol.Volume, nbg)
	if err != nil {
		t.Fatalf("attach in the same location: %v", err)
	}
	if err := c.Action.WaitFor(ctx, a); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Volume.Attach(ctx, vol.Volume, nbg)
	refused(t, "attach an attached volume", err, 422, hcloud.ErrorCodeVolumeAlreadyAttached)

	// A volume made for a server is in the server's location.
	mine, _, err := c.Volume.Create(ctx, hcloud.VolumeCreateOpts{Name: "for-fsn1", Size: 10, Server: fsn, Format: hcloud.Ptr("ext4")})
	if err != nil {
		t.Fatal(err)
	}
	if mine.Volume.Location == nil || mine.Volume.Location.Name != "fsn1" {
		t.Errorf("a volume made for a server in fsn1 is in %+v", mine.Volume.Location)
	}
}

// TestPrimaryIPLocation: a primary IP goes only to a server in its own
// location, at the server's creation or by the assign action, of its own
// IP version, to a server that is off and has none of that version; it is
// deleted only once unassigned (since 1 May 2026). Every refusal has the
// status and code the API reference lists, and changes nothing.
func TestPrimaryIPLocation(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	ip := func(name string, typ hcloud.PrimaryIPType, loc string) *hcloud.PrimaryIP {
		t.Helper()
		r, _, err := c.PrimaryIP.Create(ctx, hcloud.PrimaryIPCreateOpts{Name: name, Type: typ, Location: loc, AutoDelete: hcloud.Ptr(false)})
		if err != nil {
			t.Fatal(err)
		}
		return r.PrimaryIP
	}
	nbg4, fsn4, fsn6 := ip("nbg-v4", hcloud.PrimaryIPTypeIPv4, "nbg1"), ip("fsn-v4", hcloud.PrimaryIPTypeIPv4, "fsn1"), ip("fsn-v6", hcloud.PrimaryIPTypeIPv6, "fsn1")
	create := func(pn *hcloud.ServerCreatePublicNet) error {
		_, _, err := c.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "another", ServerType: &hcloud.ServerType{Name: hcloudfake.CurrentType},
			Image: &hcloud.Image{Name: "debian-12"}, Location: &hcloud.Location{Name: "fsn1"}, PublicNet: pn})
		return err
	}
	refused(t, "a server in fsn1 with an IPv4 in nbg1", create(&hcloud.ServerCreatePublicNet{EnableIPv4: true, IPv4: nbg4}),
		422, hcloud.ErrorCodePrimaryIPDatacenterMismatch)
	refused(t, "an IPv6 given as the IPv4", create(&hcloud.ServerCreatePublicNet{EnableIPv4: true, IPv4: fsn6}),
		412, hcloud.ErrorCodePrimaryIPVersionMismatch)
	if n := len(f.Servers()); n != 0 {
		t.Fatalf("refused creations made %d servers", n)
	}

	s := newServer(ctx, t, c, "s", "fsn1", &hcloud.ServerCreatePublicNet{EnableIPv4: true, IPv4: fsn4})
	refused(t, "a second server with the same IPv4", create(&hcloud.ServerCreatePublicNet{EnableIPv4: true, IPv4: fsn4}),
		422, hcloud.ErrorCodePrimaryIPAssigned)
	assign := func(p *hcloud.PrimaryIP) error {
		_, _, err := c.PrimaryIP.Assign(ctx, hcloud.PrimaryIPAssignOpts{ID: p.ID, AssigneeID: s.ID, AssigneeType: "server"})
		return err
	}
	refused(t, "assign an IPv6 to a running server", assign(fsn6), 422, hcloud.ErrorCodeServerNotStopped)
	a, _, err := c.Server.Poweroff(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Action.WaitFor(ctx, a); err != nil {
		t.Fatal(err)
	}
	refused(t, "assign an IPv4 in nbg1 to a server in fsn1", assign(nbg4), 422, hcloud.ErrorCodePrimaryIPDatacenterMismatch)
	refused(t, "assign its own IPv4 again", assign(fsn4), 422, hcloud.ErrorCodePrimaryIPAlreadyAssigned)
	if err := assign(fsn6); err != nil {
		t.Fatalf("assign an IPv6 of its location to a server that is off: %v", err)
	}

	_, err = c.PrimaryIP.Delete(ctx, fsn4)
	refused(t, "delete an assigned IPv4", err, 422, "must_be_unassigned")
	for _, p := range f.PrimaryIPs() {
		if p.ID == fsn4.ID && (p.AssigneeID == nil || *p.AssigneeID != s.ID) {
			t.Errorf("a refused delete unassigned the IPv4: %+v", p)
		}
	}
	u, _, err := c.PrimaryIP.Unassign(ctx, fsn4.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Action.WaitFor(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PrimaryIP.Delete(ctx, fsn4); err != nil {
		t.Fatalf("delete an unassigned IPv4: %v", err)
	}
}

// TestFirewallsAreGlobal: one firewall applies to servers in different
// locations (firewalls have no location).
func TestFirewallsAreGlobal(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	fw, _, err := c.Firewall.Create(ctx, hcloud.FirewallCreateOpts{Name: "fw"})
	if err != nil {
		t.Fatal(err)
	}
	var on []hcloud.FirewallResource
	for _, loc := range []string{"fsn1", "hel1"} {
		s := newServer(ctx, t, c, "s-"+loc, loc, nil)
		on = append(on, hcloud.FirewallResource{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: s.ID}})
	}
	as, _, err := c.Firewall.ApplyResources(ctx, fw.Firewall, on)
	if err != nil {
		t.Fatalf("apply one firewall in fsn1 and hel1: %v", err)
	}
	if err := c.Action.WaitFor(ctx, as...); err != nil {
		t.Fatal(err)
	}
	got, _, err := c.Firewall.GetByID(ctx, fw.Firewall.ID)
	if err != nil || len(got.AppliedTo) != 2 {
		t.Fatalf("applied to %+v (%v), want both servers", got, err)
	}
}
