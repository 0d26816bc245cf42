package hcloudfake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
)

const pubKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGQz0Ek3q2b8aYeVqj6pQ4y8kM0Z3nqjvQyQf0w9V1cx test"

func start(t *testing.T) (*hcloudfake.Fake, *hcloud.Client) {
	t.Helper()
	f := hcloudfake.New().Start()
	t.Cleanup(f.Close)
	c := hcloud.NewClient(hcloud.WithToken(f.Token), hcloud.WithEndpoint(f.URL()),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(5 * time.Millisecond)}),
		hcloud.WithRetryOpts(hcloud.RetryOpts{BackoffFunc: hcloud.ConstantBackoff(5 * time.Millisecond), MaxRetries: 3}))
	return f, c
}

func TestCatalog(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	locs, err := c.Location.All(ctx)
	if err != nil || len(locs) != 3 {
		t.Fatalf("locations = %v, %v", locs, err)
	}
	st, _, err := c.ServerType.GetByName(ctx, hcloudfake.CurrentType)
	if err != nil || st == nil || st.Cores != 2 || st.Architecture != hcloud.ArchitectureX86 || len(st.Locations) != 3 {
		t.Fatalf("%s = %+v, %v", hcloudfake.CurrentType, st, err)
	}
	im, _, err := c.Image.GetForArchitecture(ctx, "debian-12", hcloud.ArchitectureARM)
	if err != nil || im == nil || im.ID != 114690389 {
		t.Fatalf("debian-12 arm = %+v, %v", im, err)
	}
	pr, _, err := c.Pricing.Get(ctx)
	if err != nil || pr.Currency != "EUR" || len(pr.ServerTypes) == 0 || pr.ServerTypes[0].Pricings[0].Monthly.Gross == "" {
		t.Fatalf("pricing = %+v, %v", pr, err)
	}
	if none, _, err := c.ServerType.GetByName(ctx, "nope"); err != nil || none != nil {
		t.Fatalf("unknown type = %v, %v", none, err)
	}
}

func TestUnauthorized(t *testing.T) {
	f, _ := start(t)
	c := hcloud.NewClient(hcloud.WithToken(strings.Repeat("x", 64)), hcloud.WithEndpoint(f.URL()))
	_, err := c.Location.All(context.Background())
	if !hcloud.IsError(err, hcloud.ErrorCodeUnauthorized) {
		t.Fatalf("err = %v, want unauthorized", err)
	}
}

func TestSSHKeyUniquenessAndInvalidInput(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	k, _, err := c.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "a", PublicKey: pubKey, Labels: map[string]string{"g": "x"}})
	if err != nil || k.Fingerprint == "" {
		t.Fatalf("create = %+v, %v", k, err)
	}
	_, _, err = c.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "a", PublicKey: pubKey})
	if !hcloud.IsError(err, hcloud.ErrorCodeUniquenessError) {
		t.Fatalf("duplicate name: %v", err)
	}
	_, _, err = c.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "b", PublicKey: pubKey})
	if !hcloud.IsError(err, hcloud.ErrorCodeUniquenessError) {
		t.Fatalf("duplicate fingerprint: %v", err)
	}
	_, _, err = c.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "c", PublicKey: "not a key"})
	if !hcloud.IsError(err, hcloud.ErrorCodeInvalidInput) {
		t.Fatalf("bad key: %v", err)
	}
	var he hcloud.Error
	if !asErr(err, &he) || he.Details == nil {
		t.Fatalf("invalid_input without details: %#v", err)
	}
	got, _, err := c.SSHKey.GetByID(ctx, 999999)
	if err != nil || got != nil {
		t.Fatalf("missing key = %v, %v (hcloud-go maps not_found to nil)", got, err)
	}
	if _, err := c.SSHKey.Delete(ctx, &hcloud.SSHKey{ID: 999999}); !hcloud.IsError(err, hcloud.ErrorCodeNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
	keys, err := c.SSHKey.AllWithOpts(ctx, hcloud.SSHKeyListOpts{ListOpts: hcloud.ListOpts{LabelSelector: "g=x"}})
	if err != nil || len(keys) != 1 {
		t.Fatalf("label selector = %v, %v", keys, err)
	}
	keys, err = c.SSHKey.AllWithOpts(ctx, hcloud.SSHKeyListOpts{ListOpts: hcloud.ListOpts{LabelSelector: "g!=x"}})
	if err != nil || len(keys) != 0 {
		t.Fatalf("negative selector = %v, %v", keys, err)
	}
}

func asErr(err error, target *hcloud.Error) bool {
	e, ok := err.(hcloud.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestPagination(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	for i := range 60 {
		if _, _, err := c.Firewall.Create(ctx, hcloud.FirewallCreateOpts{Name: fmt.Sprintf("fw-%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	page, resp, err := c.Firewall.List(ctx, hcloud.FirewallListOpts{ListOpts: hcloud.ListOpts{Page: 2, PerPage: 25}})
	if err != nil || len(page) != 25 || page[0].Name != "fw-25" {
		t.Fatalf("page 2 = %d items, %v", len(page), err)
	}
	if p := resp.Meta.Pagination; p == nil || p.LastPage != 3 || p.NextPage != 3 || p.PreviousPage != 1 || p.TotalEntries != 60 {
		t.Fatalf("pagination = %+v", resp.Meta.Pagination)
	}
	all, err := c.Firewall.All(ctx)
	if err != nil || len(all) != 60 {
		t.Fatalf("all = %d, %v", len(all), err)
	}
	// per_page is capped at 50 as in the API.
	_, resp, _ = c.Firewall.List(ctx, hcloud.FirewallListOpts{ListOpts: hcloud.ListOpts{PerPage: 500}})
	if resp.Meta.Pagination.PerPage != 50 {
		t.Fatalf("per_page = %d, want 50", resp.Meta.Pagination.PerPage)
	}
	_ = f
}

func TestServerLifecycleWithActions(t *testing.T) {
	f, c := start(t)
	f.PollsPerAction = 3
	ctx := context.Background()
	key, _, err := c.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "k", PublicKey: pubKey})
	if err != nil {
		t.Fatal(err)
	}
	fw, _, err := c.Firewall.Create(ctx, hcloud.FirewallCreateOpts{Name: "fw", Rules: []hcloud.FirewallRule{{
		Direction: hcloud.FirewallRuleDirectionIn, Protocol: hcloud.FirewallRuleProtocolTCP, Port: hcloud.Ptr("22"),
		SourceIPs: mustCIDRs(t, "203.0.113.7/32"),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	ip4, _, err := c.PrimaryIP.Create(ctx, hcloud.PrimaryIPCreateOpts{Name: "v4", Type: hcloud.PrimaryIPTypeIPv4, AssigneeType: "server", Location: "fsn1", AutoDelete: hcloud.Ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := c.Server.Create(ctx, hcloud.ServerCreateOpts{
		Name: "s1", ServerType: &hcloud.ServerType{Name: hcloudfake.CurrentType}, Image: &hcloud.Image{Name: "debian-12"},
		Location: &hcloud.Location{Name: "fsn1"}, SSHKeys: []*hcloud.SSHKey{key}, UserData: "#cloud-config\n",
		Firewalls: []*hcloud.ServerCreateFirewall{{Firewall: *fw.Firewall}},
		PublicNet: &hcloud.ServerCreatePublicNet{EnableIPv4: true, EnableIPv6: true, IPv4: ip4.PrimaryIP},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Server.Status != hcloud.ServerStatusInitializing || res.RootPassword != "" {
		t.Fatalf("server = %+v, root password %q", res.Server.Status, res.RootPassword)
	}
	// Progress rises over polls.
	var seen []int
	err = c.Action.WaitForFunc(ctx, func(a *hcloud.Action) error {
		seen = append(seen, a.Progress)
		return nil
	}, res.Action)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 2 || seen[len(seen)-1] != 100 {
		t.Fatalf("progress = %v, want it to rise to 100", seen)
	}
	s, _, err := c.Server.GetByID(ctx, res.Server.ID)
	if err != nil || s.Status != hcloud.ServerStatusRunning || s.PublicNet.IPv4.IP.String() != ip4.PrimaryIP.IP.String() || s.PublicNet.IPv6.IP == nil {
		t.Fatalf("server after create = %+v, %v", s, err)
	}
	if len(s.PublicNet.Firewalls) != 1 || s.PublicNet.Firewalls[0].Status != hcloud.FirewallStatusApplied {
		t.Fatalf("firewalls = %+v", s.PublicNet.Firewalls)
	}
	if f.UserData(s.ID) != "#cloud-config\n" {
		t.Fatal("user data not kept")
	}
	// Same name again: uniqueness_error.
	_, _, err = c.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "s1", ServerType: &hcloud.ServerType{Name: hcloudfake.CurrentType}, Image: &hcloud.Image{Name: "debian-12"}})
	if !hcloud.IsError(err, hcloud.ErrorCodeUniquenessError) {
		t.Fatalf("duplicate server: %v", err)
	}
	// Sold-out type: resource_unavailable.
	_, _, err = c.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "s2", ServerType: &hcloud.ServerType{Name: hcloudfake.UnavailableType}, Image: &hcloud.Image{Name: "debian-12"}, Location: &hcloud.Location{Name: "fsn1"}})
	if !hcloud.IsError(err, hcloud.ErrorCodeResourceUnavailable) {
		t.Fatalf("sold-out type: %v", err)
	}
	vol, _, err := c.Volume.Create(ctx, hcloud.VolumeCreateOpts{Name: "media", Size: 10, Server: s, Format: hcloud.Ptr("ext4")})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Action.WaitFor(ctx, append([]*hcloud.Action{vol.Action}, vol.NextActions...)...); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Volume.Delete(ctx, vol.Volume); !hcloud.IsError(err, hcloud.ErrorCodeLocked) {
		t.Fatalf("delete attached volume: %v", err)
	}

	// Deleting the server detaches the volume, frees the auto-deleted IPv6,
	// keeps the named IPv4 and removes the firewall's application.
	del, _, err := c.Server.DeleteWithResult(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Action.WaitFor(ctx, del.Action); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := c.Server.GetByID(ctx, s.ID); got != nil {
		t.Fatal("server still there")
	}
	counts := f.Counts()
	if counts["primary_ips"] != 1 || counts["volumes"] != 1 {
		t.Fatalf("counts after server delete = %v", counts)
	}
	fwNow, _, _ := c.Firewall.GetByID(ctx, fw.Firewall.ID)
	if len(fwNow.AppliedTo) != 0 {
		t.Fatalf("firewall still applied: %+v", fwNow.AppliedTo)
	}
	for _, del := range []func() error{
		func() error { _, err := c.Volume.Delete(ctx, vol.Volume); return err },
		func() error { _, err := c.PrimaryIP.Delete(ctx, ip4.PrimaryIP); return err },
		func() error { _, err := c.Firewall.Delete(ctx, fw.Firewall); return err },
		func() error { _, err := c.SSHKey.Delete(ctx, key); return err },
	} {
		if err := del(); err != nil {
			t.Fatal(err)
		}
	}
	if !f.Empty() {
		t.Fatalf("left behind: %v", f.Counts())
	}
}

func mustCIDRs(t *testing.T, s ...string) (out []net.IPNet) {
	t.Helper()
	for _, c := range s {
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *n)
	}
	return out
}

func TestFaults(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	f.Inject(hcloudfake.Fault{Method: "GET", Path: "/locations", Status: 503, Code: "unavailable", Times: 1})
	_, err := c.Location.All(ctx)
	if err == nil {
		// hcloud-go retries some server errors; either it surfaces or the
		// retry succeeds, but the fault must have been seen.
		calls := strings.Join(f.Calls(), "\n")
		if strings.Count(calls, "GET /locations") < 2 {
			t.Fatalf("fault not hit: %s", calls)
		}
	}
	// A fault that skips the first call and then fails every one.
	f.ClearFaults()
	f.Inject(hcloudfake.Fault{Path: "/ssh_keys*", Skip: 1, Times: -1})
	if _, _, err := c.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "k", PublicKey: pubKey}); err != nil {
		t.Fatalf("first call should pass: %v", err)
	}
	_, err = c.SSHKey.All(ctx)
	if !hcloud.IsError(err, hcloud.ErrorCodeServerError) {
		t.Fatalf("err = %v, want server_error", err)
	}

	// A hang: the client gives up by its deadline.
	f.ClearFaults()
	f.Inject(hcloudfake.Fault{Path: "/pricing", Hang: true})
	hctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	startAt := time.Now()
	if _, _, err := c.Pricing.Get(hctx); err == nil {
		t.Fatal("hung call returned no error")
	}
	if time.Since(startAt) > 5*time.Second {
		t.Fatal("hang not released by the client's deadline")
	}

	// A delay: the call is slow, then answered as usual.
	f.ClearFaults()
	f.Inject(hcloudfake.Fault{Path: "/pricing", Delay: 300 * time.Millisecond})
	startAt = time.Now()
	pr, _, err := c.Pricing.Get(ctx)
	if err != nil || pr.Currency != "EUR" || time.Since(startAt) < 300*time.Millisecond {
		t.Fatalf("delayed call: %+v %v after %s", pr, err, time.Since(startAt))
	}
}

func TestRateLimit(t *testing.T) {
	f, _ := start(t)
	f.RateLimit = 2
	req := func() *http.Response {
		r, _ := http.NewRequest("GET", f.URL()+"/locations", nil)
		r.Header.Set("Authorization", "Bearer "+f.Token)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	req().Body.Close()
	req().Body.Close()
	resp := req()
	defer resp.Body.Close()
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 429 || body.Error.Code != "rate_limit_exceeded" {
		t.Fatalf("third call = %d %q", resp.StatusCode, body.Error.Code)
	}
}
