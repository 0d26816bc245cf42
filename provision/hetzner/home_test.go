package hetzner

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/lifeboat-social/lifeboat/deploy"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
)

const testGroupFile = "version: 1\nname: valley-cyclists\ntitle: Valley Cyclists\n"

func homeConfig(t *testing.T, f *hcloudfake.Fake) HomeConfig {
	t.Helper()
	tf, mirror := realTools(t)
	return HomeConfig{
		Group: testGroup(groups.SoftwareGoToSocial), GroupFile: []byte(testGroupFile),
		Dir: filepath.Join(t.TempDir(), "home"), DestinationDir: filepath.Join(t.TempDir(), "hetzner"),
		Token: f.Token, Endpoint: f.URL(), Terraform: tf, ProviderMirror: mirror, PollInterval: "50ms",
		Domain: "join.valley-cyclists.example", SSHFrom: []string{"203.0.113.7/32"},
		SMTP:    HomeSMTP{Addr: "smtp.example.org:587", User: "lifeboat", From: "Valley Cyclists <lifeboat@example.org>", Password: "smtp-secret-pw"},
		Version: "v1.4.0", NoWait: true,
	}
}

// TestHomeLifecycleAgainstFake: the home is planned (the smallest type the
// location offers, priced before anything exists), created with its
// volume attached, re-applied without change, and destroyed, by real
// Terraform with the real provider against the fake API.
func TestHomeLifecycleAgainstFake(t *testing.T) {
	f := hcloudfake.New().Start()
	defer f.Close()
	cfg := homeConfig(t, f)
	ctx := context.Background()
	h := NewHome(cfg)

	plan, err := h.Plan(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Empty() {
		t.Fatal("plan created resources")
	}
	// cx23 is the cheapest type fsn1 recommends and can deliver; cx22 and
	// cpx11 are cheaper or as small but deprecated.
	if plan.ServerType.Name != hcloudfake.CurrentType || plan.Location != "fsn1" || plan.VolumeGB != DefaultHomeVolumeGB {
		t.Fatalf("plan = %+v", plan)
	}
	lines := map[string]float64{}
	for _, l := range plan.Cost.Lines {
		lines[l.Item] = l.Monthly
	}
	// The fake's prices, 19% VAT: server 3.49, IPv4 0.50, volume 10 GB at
	// 0.044/GB; no backups (they would not cover the volume).
	want := map[string]float64{"server cx23": 4.15, "primary IPv4": 0.6, "primary IPv6": 0, "volume 10 GB": 0.52}
	for k, v := range want {
		if got, ok := lines[k]; !ok || got != v {
			t.Errorf("cost line %q = %v (%v), want %v; lines %v", k, got, ok, v, plan.Cost.Lines)
		}
	}
	if len(lines) != len(want) || plan.Cost.Monthly != 5.27 {
		t.Errorf("cost = %+v", plan.Cost)
	}
	// The group file asks for a new cx23 server: one machine for both
	// costs the destination's server, not two.
	if tg := plan.Together; tg == nil || tg.DestinationType != "cx23" || tg.OneServer >= tg.Separate || tg.Saving != cents(tg.Separate-tg.OneServer) || tg.Separate != cents(plan.Cost.Monthly+tg.Destination) {
		t.Errorf("together = %+v", plan.Together)
	}
	got := map[string]string{}
	for _, c := range plan.Resources {
		got[c.Address] = c.Action
	}
	for _, addr := range []string{"hcloud_ssh_key.admin", "hcloud_firewall.server", "hcloud_primary_ip.ipv4", "hcloud_primary_ip.ipv6", "hcloud_server.main", "hcloud_volume.media[0]"} {
		if got[addr] != "create" {
			t.Errorf("plan %s = %q (all %v)", addr, got[addr], got)
		}
	}

	res, err := h.Up(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	srvs, vols := f.Servers(), f.Volumes()
	if len(srvs) != 1 || len(vols) != 1 || len(f.PrimaryIPs()) != 2 {
		t.Fatalf("after up: %v", f.Counts())
	}
	srv, vol := srvs[0], vols[0]
	if srv.Name != "lifeboat-valley-cyclists-home" || srv.ServerType.Name != "cx23" || srv.Labels["lifeboat-role"] != "home" || srv.BackupWindow != nil {
		t.Errorf("server = %+v", srv)
	}
	if vol.Server == nil || *vol.Server != srv.ID || vol.Size != DefaultHomeVolumeGB || vol.Format == nil || *vol.Format != "ext4" || vol.Location.Name != "fsn1" {
		t.Errorf("volume = %+v", vol)
	}
	if res.VolumeID == "" || res.URL != "https://join.valley-cyclists.example" || len(res.DNS) != 2 || res.DNS[0].Name != cfg.Domain || res.Waited {
		t.Errorf("result = %+v", res)
	}

	// The user data: lifeboat serve's unit as deploy ships it, Caddy for
	// the campaign's domain, the group file and the secrets as root-only
	// files (never in the unit or the environment file).
	ud := f.UserData(srv.ID)
	var doc struct {
		Packages   []string `yaml:"packages"`
		WriteFiles []struct {
			Path, Permissions, Encoding, Content string
		} `yaml:"write_files"`
		RunCmd [][]string `yaml:"runcmd"`
	}
	if err := yaml.Unmarshal([]byte(ud), &doc); err != nil {
		t.Fatalf("user data is not YAML: %v", err)
	}
	files := map[string]string{}
	perms := map[string]string{}
	for _, w := range doc.WriteFiles {
		c := w.Content
		if w.Encoding == "b64" {
			b, err := base64.StdEncoding.DecodeString(c)
			if err != nil {
				t.Fatalf("%s: %v", w.Path, err)
			}
			c = string(b)
		}
		files[w.Path], perms[w.Path] = c, w.Permissions
	}
	if strings.TrimSpace(files["/etc/systemd/system/lifeboat-serve.service"]) != strings.TrimSpace(deploy.ServeUnit) {
		t.Error("the unit differs from deploy/lifeboat-serve.service")
	}
	if files["/etc/lifeboat/group.yaml"] != testGroupFile || perms["/etc/lifeboat/group.yaml"] != "0640" {
		t.Errorf("group file %q (%s)", files["/etc/lifeboat/group.yaml"], perms["/etc/lifeboat/group.yaml"])
	}
	key, _ := os.ReadFile(filepath.Join(cfg.Dir, homeSecretKey))
	if files["/etc/lifeboat/credentials/secret.key"] != string(key) || len(key) < 40 || perms["/etc/lifeboat/credentials/secret.key"] != "0600" {
		t.Errorf("store key file %q (%s)", files["/etc/lifeboat/credentials/secret.key"], perms["/etc/lifeboat/credentials/secret.key"])
	}
	if files["/etc/lifeboat/credentials/smtp-password"] != "smtp-secret-pw\n" || perms["/etc/lifeboat/credentials/smtp-password"] != "0600" {
		t.Error("the SMTP password is not a root-only credential file")
	}
	env := files["/etc/lifeboat/serve.env"]
	for _, want := range []string{"LIFEBOAT_BASE_URL=https://join.valley-cyclists.example", `LIFEBOAT_SMTP_ADDR="smtp.example.org:587"`, "LIFEBOAT_SMTP_PASSWORD_FILE=/run/credentials/lifeboat-serve.service/lifeboat_smtp-password"} {
		if !strings.Contains(env, want) {
			t.Errorf("serve.env lacks %s:\n%s", want, env)
		}
	}
	if strings.Contains(env, "smtp-secret-pw") || strings.Contains(files["/usr/local/sbin/lifeboat-firstboot"], "smtp-secret-pw") {
		t.Error("the SMTP password is in serve.env or the first-boot script")
	}
	caddy := files["/etc/lifeboat/Caddyfile"]
	if !strings.Contains(caddy, "join.valley-cyclists.example {") || !strings.Contains(caddy, "reverse_proxy 127.0.0.1:8080") || strings.Contains(caddy, "acme_ca") {
		t.Errorf("Caddyfile:\n%s", caddy)
	}
	if fb := files["/usr/local/sbin/lifeboat-firstboot"]; !strings.Contains(fb, "base='https://github.com/lifeboat-social/lifeboat/releases/download/v1.4.0'") || !strings.Contains(fb, "/var/lib/lifeboat ext4") {
		t.Errorf("first boot:\n%s", fb)
	}
	if strings.TrimSpace(files["/usr/local/sbin/lifeboat-admin"]) != strings.TrimSpace(deploy.AdminScript) || perms["/usr/local/sbin/lifeboat-admin"] != "0755" {
		t.Error("lifeboat-admin differs from deploy/lifeboat-admin")
	}
	if !strings.Contains(strings.Join(doc.Packages, ","), "caddy") {
		t.Errorf("packages %v", doc.Packages)
	}

	// The state: 0600 files; the token in none.
	for _, name := range []string{stateFile, varsFile, homeSecretKey, "ssh/id_ed25519"} {
		if fi, err := os.Stat(filepath.Join(cfg.Dir, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", name, fi, err)
		}
	}
	filepath.WalkDir(cfg.Dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(path, "/"+dataDir+"/") {
			if b, _ := os.ReadFile(path); strings.Contains(string(b), f.Token) {
				t.Errorf("the token is in %s", path)
			}
		}
		return nil
	})

	// Again: nothing changes, the same key is used.
	posts := countCalls(f, "POST /servers")
	if _, err := NewHome(cfg).Up(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if countCalls(f, "POST /servers") != posts || len(f.Volumes()) != 1 {
		t.Fatalf("re-run up changed the home: %v", f.Counts())
	}
	if again, _ := os.ReadFile(filepath.Join(cfg.Dir, homeSecretKey)); string(again) != string(key) {
		t.Error("the store key changed")
	}

	if err := h.Down(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if !f.Empty() {
		t.Fatalf("left behind after down: %v", f.Counts())
	}
	if err := h.Down(ctx, nil); !errors.Is(err, ErrNothing) {
		t.Fatalf("second down: %v, want ErrNothing", err)
	}
}

// TestHomeConfigRefused: bad input is refused before the API is asked,
// naming what to fix.
func TestHomeConfigRefused(t *testing.T) {
	base := HomeConfig{Group: testGroup(groups.SoftwareGoToSocial), GroupFile: []byte(testGroupFile), Dir: t.TempDir(),
		Token: "t", Domain: "join.example.org", Version: "v1.4.0", SSHFrom: []string{"203.0.113.7/32"}}
	for name, c := range map[string]struct {
		mod  func(*HomeConfig)
		want string
	}{
		"no domain":      {func(c *HomeConfig) { c.Domain = "" }, "--domain"},
		"bad domain":     {func(c *HomeConfig) { c.Domain = "join example" }, "not a domain name"},
		"one label":      {func(c *HomeConfig) { c.Domain = "localhost" }, "not a domain name"},
		"at in domain":   {func(c *HomeConfig) { c.Domain = "a@join.example.org" }, "not a domain name"},
		"smtp tab":       {func(c *HomeConfig) { c.SMTP.User = "a\tb" }, "control characters"},
		"no token":       {func(c *HomeConfig) { c.Token = "" }, "HCLOUD_TOKEN"},
		"small volume":   {func(c *HomeConfig) { c.VolumeGB = 5 }, "10..10240"},
		"big group file": {func(c *HomeConfig) { c.GroupFile = make([]byte, maxGroupFile+1) }, "first-boot data"},
		"devel build":    {func(c *HomeConfig) { c.Version = "(devel)" }, EnvLifeboatFrom},
		"http mirror":    {func(c *HomeConfig) { c.Boot.LifeboatFrom = "http://mirror.example/x" }, EnvLifeboatFrom},
		"acme query":     {func(c *HomeConfig) { c.Boot.ACMEDirectory = "https://acme.example/dir?x=1" }, EnvACMEDirectory},
		"smtp newline":   {func(c *HomeConfig) { c.SMTP.From = "a\nb" }, "line breaks"},
		"ssh for up":     {func(c *HomeConfig) { c.SSHFrom = nil }, "--ssh-from"},
		"bad ssh-from":   {func(c *HomeConfig) { c.SSHFrom = []string{"nowhere"} }, "not a CIDR"},
	} {
		cfg := base
		c.mod(&cfg)
		err := NewHome(cfg).validate(true)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrConfig naming %s", name, err, c.want)
		}
	}
	if err := NewHome(base).validate(false); err != nil {
		t.Errorf("a good config for plan: %v", err)
	}
}

// TestHomeUserDataFits: the largest group file the home takes still fits
// Hetzner's 32 KiB of user data; what does not fit is refused before
// anything is created.
func TestHomeUserDataFits(t *testing.T) {
	cfg := HomeConfig{Group: testGroup(groups.SoftwareGoToSocial), GroupFile: []byte(strings.Repeat("#", maxGroupFile)),
		Dir: t.TempDir(), Token: "t", Domain: "join.example.org", Version: "v1.4.0",
		SMTP: HomeSMTP{Addr: "smtp.example.org:587", User: "lifeboat", From: "lifeboat@example.org", Password: strings.Repeat("p", 64)}}
	h := NewHome(cfg)
	ud, err := h.renderHome("x86", testKeys(t), "a-key")
	if err != nil || len(ud) > maxUserData {
		t.Fatalf("user data of %d bytes: %v", len(ud), err)
	}
	ca, err := os.ReadFile(filepath.Join("testdata", "tls-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	many := filepath.Join(t.TempDir(), "cas.pem")
	if err := os.WriteFile(many, []byte(strings.Repeat(string(ca), (maxPEMFile-1)/len(ca))), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Boot.TrustCAFile = many
	if _, err := NewHome(cfg).renderHome("x86", testKeys(t), "a-key"); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "32 KiB") {
		t.Fatalf("too much user data: %v", err)
	}
}
