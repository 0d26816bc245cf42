package hetzner

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
	"github.com/lifeboat-social/lifeboat/internal/tools"
	"github.com/lifeboat-social/lifeboat/progress"
)

// realTools returns the real Terraform and the real hcloud provider's
// filesystem mirror, building them once into the tools cache (a build in
// progress elsewhere holds a lock; this waits for it).
func realTools(t *testing.T) (terraform, mirror string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	in := tools.New()
	tf, err := in.Terraform(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := in.HcloudMirror(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return tf, m
}

func fakeConfig(t *testing.T, f *hcloudfake.Fake, software string, volume int) Config {
	t.Helper()
	tf, mirror := realTools(t)
	return Config{
		Group: testGroup(software), Dir: filepath.Join(t.TempDir(), "hetzner"),
		Token: f.Token, Endpoint: f.URL(), Terraform: tf, ProviderMirror: mirror,
		SSHFrom: []string{"203.0.113.7/32"}, VolumeSize: volume, PollInterval: "50ms", NoWait: true,
	}
}

type recorder struct {
	mu     sync.Mutex
	events []progress.Event
}

func (r *recorder) emit(e progress.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func countCalls(f *hcloudfake.Fake, call string) int {
	n := 0
	for _, c := range f.Calls() {
		if c == call {
			n++
		}
	}
	return n
}

// TestLifecycleAgainstFake: real Terraform with the real provider plans,
// applies, re-plans with no changes, re-applies without touching
// anything, and destroys; nothing is left in the fake.
func TestLifecycleAgainstFake(t *testing.T) {
	f := hcloudfake.New().Start()
	defer f.Close()
	cfg := fakeConfig(t, f, groups.SoftwareGoToSocial, 10)
	ctx := context.Background()
	p := New(cfg)

	plan, err := p.Plan(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"hcloud_ssh_key.admin": "create", "hcloud_firewall.server": "create", "hcloud_primary_ip.ipv4": "create",
		"hcloud_primary_ip.ipv6": "create", "hcloud_server.main": "create", "hcloud_volume.media[0]": "create",
	}
	got := map[string]string{}
	for _, c := range plan.Resources {
		got[c.Address] = c.Action
	}
	if len(got) != len(want) {
		t.Fatalf("plan = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("plan %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if plan.Datacenter != "fsn1-dc14" || plan.Cost.Monthly <= 0 || plan.Cost.PerMember <= 0 {
		t.Fatalf("plan = %+v", plan)
	}
	if !f.Empty() {
		t.Fatal("plan created resources")
	}

	rec := &recorder{}
	res, err := p.Up(ctx, rec.emit)
	if err != nil {
		t.Fatal(err)
	}
	if res.IPv4 == "" || res.IPv6 == "" || len(res.DNS) != 2 || res.DNS[0].Type != "A" || res.DNS[0].Value != res.IPv4 || res.DNS[1].Type != "AAAA" {
		t.Fatalf("result = %+v", res)
	}
	if res.Waited || res.Credentials != "" {
		t.Fatal("NoWait run waited")
	}
	wantCounts := map[string]int{"servers": 1, "ssh_keys": 1, "firewalls": 1, "primary_ips": 2, "volumes": 1}
	for k, v := range wantCounts {
		if f.Counts()[k] != v {
			t.Fatalf("after up: %v, want %v", f.Counts(), wantCounts)
		}
	}
	servers := f.Servers()
	srv := servers[0]
	if srv.Name != "lifeboat-valley-cyclists" || srv.Labels["lifeboat-group"] != "valley-cyclists" || srv.BackupWindow == nil {
		t.Fatalf("server = %+v", srv)
	}
	if ud := f.UserData(srv.ID); !strings.HasPrefix(ud, "#cloud-config") || !strings.Contains(ud, "gotosocial") {
		t.Fatalf("user data = %.80q", ud)
	}
	// Progress came from Terraform's JSON log: every resource advanced.
	var last progress.Event
	for _, e := range rec.events {
		if e.Step == "apply" && e.Kind == progress.Advanced && e.Item != "" {
			last = e
		}
	}
	if last.Total != 6 || last.Done != 6 {
		t.Fatalf("last apply progress = %+v", last)
	}

	// The state holds secrets: 0600 in a 0700 directory; the token is in
	// no file at all.
	for _, name := range []string{stateFile, varsFile, "ssh/id_ed25519", "ssh/host_ed25519", cliConfig} {
		fi, err := os.Stat(filepath.Join(cfg.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	if fi, _ := os.Stat(cfg.Dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v", fi.Mode().Perm())
	}
	filepath.WalkDir(cfg.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(path, "/"+dataDir+"/") {
			return nil
		}
		if b, _ := os.ReadFile(path); strings.Contains(string(b), f.Token) {
			t.Errorf("the token is in %s", path)
		}
		return nil
	})

	// Re-plan: nothing to do. Re-run up: no new server.
	plan2, err := p.Plan(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range plan2.Resources {
		if c.Action != "no-op" {
			t.Fatalf("re-plan wants %s %s", c.Action, c.Address)
		}
	}
	posts := countCalls(f, "POST /servers")
	again := cfg
	again.SSHFrom = nil // remembered from the first run
	// Other cloud-init (as from a newer Lifeboat) must not replace the
	// running server: user data is read on first boot only.
	again.SMTP = SMTP{Host: "smtp.other.example", Port: 587}
	res2, err := New(again).Up(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res2.ServerID != res.ServerID || countCalls(f, "POST /servers") != posts || len(f.Servers()) != 1 {
		t.Fatalf("re-run up changed the server: %s -> %s", res.ServerID, res2.ServerID)
	}
	st, err := p.Status(ctx)
	if err != nil || st.IPv4 != res.IPv4 {
		t.Fatalf("status = %+v, %v", st, err)
	}

	if err := p.Down(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if !f.Empty() {
		t.Fatalf("left behind after down: %v", f.Counts())
	}
	if err := p.Down(ctx, nil); !errors.Is(err, ErrNothing) {
		t.Fatalf("second down: %v, want ErrNothing", err)
	}
	if u := f.Unrouted(); len(u) > 0 {
		t.Fatalf("the provider or hcloud-go called endpoints the fake lacks: %v", u)
	}
	t.Logf("API calls: %d", len(f.Calls()))
}

// TestFaultMidApply: the API fails while the volume is created, after the
// server exists. Re-running up finishes without a second server; down
// after the half-applied run leaves nothing.
func TestFaultMidApply(t *testing.T) {
	f := hcloudfake.New().Start()
	defer f.Close()
	cfg := fakeConfig(t, f, groups.SoftwareMastodon, 20)
	ctx := context.Background()

	f.Inject(hcloudfake.Fault{Method: "POST", Path: "/volumes", Times: -1})
	_, err := New(cfg).Up(ctx, nil)
	if err == nil {
		t.Fatal("up succeeded through a fault")
	}
	if c := f.Counts(); c["servers"] != 1 || c["volumes"] != 0 {
		t.Fatalf("after the fault: %v", c)
	}
	firstID := f.Servers()[0].ID
	f.ClearFaults()
	res, err := New(cfg).Up(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := f.Counts(); c["servers"] != 1 || c["volumes"] != 1 {
		t.Fatalf("after rerun: %v", c)
	}
	if f.Servers()[0].ID != firstID || res.ServerID == "" {
		t.Fatalf("server replaced: %d -> %s", firstID, res.ServerID)
	}
	if err := New(cfg).Down(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if !f.Empty() {
		t.Fatalf("left behind: %v", f.Counts())
	}
}

func TestDownAfterHalfApply(t *testing.T) {
	f := hcloudfake.New().Start()
	defer f.Close()
	cfg := fakeConfig(t, f, groups.SoftwareGoToSocial, 0)
	ctx := context.Background()
	f.Inject(hcloudfake.Fault{Method: "POST", Path: "/servers", Times: -1})
	if _, err := New(cfg).Up(ctx, nil); err == nil {
		t.Fatal("up succeeded through a fault")
	}
	if c := f.Counts(); c["servers"] != 0 || c["ssh_keys"] != 1 || c["firewalls"] != 1 {
		t.Fatalf("half-applied: %v", c)
	}
	f.ClearFaults()
	if err := New(cfg).Down(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if !f.Empty() {
		t.Fatalf("left behind: %v", f.Counts())
	}
}

// TestPreflightFailsBeforeTerraform: each bad input gives a clear error
// before Terraform runs (the Terraform path does not even exist) and
// before anything is created.
func TestPreflightFailsBeforeTerraform(t *testing.T) {
	f := hcloudfake.New().Start()
	defer f.Close()
	base := Config{
		Dir: t.TempDir(), Token: f.Token, Endpoint: f.URL(), Terraform: "/nonexistent/terraform",
		SSHFrom: []string{"203.0.113.7/32"}, NoWait: true,
	}
	cases := []struct {
		name   string
		change func(*Config)
		want   error
		text   string
	}{
		{"bad token", func(c *Config) { c.Token = strings.Repeat("x", 64) }, ErrToken, "HCLOUD_TOKEN"},
		{"unknown location", func(c *Config) { c.Group.Destination.Location = "mars1" }, ErrLocation, "fsn1, hel1, nbg1"},
		{"unavailable server type", func(c *Config) { c.Group.Destination.ServerType = hcloudfake.UnavailableType }, ErrServerType, "not available in fsn1"},
		{"deprecated server type", func(c *Config) { c.Group.Destination.ServerType = hcloudfake.DeprecatedType }, ErrServerType, "deprecated"},
		{"unknown server type", func(c *Config) { c.Group.Destination.ServerType = "cx9000" }, ErrServerType, "does not exist"},
		{"unknown image", func(c *Config) { c.Image = "plan9" }, ErrImage, "plan9"},
		{"mastodon on a small server", func(c *Config) {
			c.Group.Destination.Software = groups.SoftwareMastodon
			c.Group.Destination.ServerType = "cpx11"
		}, ErrServerType, "4 GB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			cfg.Group = testGroup(groups.SoftwareGoToSocial)
			cfg.Dir = t.TempDir()
			tc.change(&cfg)
			_, err := Preflight(context.Background(), cfg)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("Preflight: %v, want %v mentioning %q", err, tc.want, tc.text)
			}
			_, err = New(cfg).Up(context.Background(), nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Up: %v, want %v", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(cfg.Dir, stateFile)); err == nil {
				t.Fatal("Terraform ran")
			}
		})
	}
	for _, c := range f.Calls() {
		if !strings.HasPrefix(c, "GET ") {
			t.Fatalf("pre-flight wrote to the API: %s", c)
		}
	}
}

func TestPreflightPrices(t *testing.T) {
	f := hcloudfake.New().Start()
	defer f.Close()
	cfg := Config{Group: testGroup(groups.SoftwareGoToSocial), Dir: t.TempDir(), Token: f.Token, Endpoint: f.URL(), VolumeSize: 50}
	p, err := Preflight(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// cx22 in fsn1: 3.79 net → 4.51 gross; backups 20% → 0.90; IPv4
	// 0.50 net → 0.60; volume 50 × 0.044 net → 2.62.
	wantLines := map[string]float64{"server cx22": 4.51, "backups (20%)": 0.90, "primary IPv4": 0.60, "primary IPv6": 0, "volume 50 GB": 2.62}
	for _, l := range p.Cost.Lines {
		if w, ok := wantLines[l.Item]; !ok || w != l.Monthly {
			t.Errorf("line %q = %.2f, want %.2f", l.Item, l.Monthly, w)
		}
	}
	if p.Cost.Monthly != 8.63 || p.Cost.PerMember != 2.88 || p.Cost.Currency != "EUR" {
		t.Fatalf("cost = %+v", p.Cost)
	}
}

func TestPreflightHangTimesOut(t *testing.T) {
	f := hcloudfake.New().Start()
	defer f.Close()
	f.Inject(hcloudfake.Fault{Path: "/pricing", Hang: true})
	cfg := Config{Group: testGroup(groups.SoftwareGoToSocial), Dir: t.TempDir(), Token: f.Token, Endpoint: f.URL()}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := Preflight(ctx, cfg)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
}

// TestModuleFmtAndValidate: the embedded module is terraform fmt clean
// and terraform validate accepts it (with the real provider's schema).
func TestModuleFmtAndValidate(t *testing.T) {
	f := hcloudfake.New().Start()
	defer f.Close()
	cfg := fakeConfig(t, f, groups.SoftwareGoToSocial, 0)
	r, err := newRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ok, files, err := r.tf.FormatCheck(ctx, tfexec.Dir(filepath.Join(cfg.Dir, moduleDir)))
	if err != nil || !ok {
		t.Fatalf("terraform fmt -check: %v, unformatted: %v", err, files)
	}
	if err := r.init(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := r.tf.Validate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Valid || v.ErrorCount+v.WarningCount > 0 {
		t.Fatalf("terraform validate: %+v", v.Diagnostics)
	}
}

func TestTokenFromEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HCLOUD_TOKEN", "")
	t.Setenv("HCLOUD_TOKEN_FILE", "")
	if tok, err := TokenFromEnv(); tok != "" || err != nil {
		t.Fatalf("empty env = %q, %v", tok, err)
	}
	path := filepath.Join(dir, "token")
	os.WriteFile(path, []byte("  secret-token\n"), 0o644)
	t.Setenv("HCLOUD_TOKEN_FILE", path)
	if _, err := TokenFromEnv(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("group-readable token file: %v", err)
	}
	os.Chmod(path, 0o600)
	if tok, err := TokenFromEnv(); tok != "secret-token" || err != nil {
		t.Fatalf("token file = %q, %v", tok, err)
	}
	t.Setenv("HCLOUD_TOKEN", "from-env")
	if tok, _ := TokenFromEnv(); tok != "from-env" {
		t.Fatalf("env token = %q", tok)
	}
}

func TestTerraformEnv(t *testing.T) {
	t.Setenv("TF_LOG", "DEBUG") // managed by tfexec: must be dropped, not rejected
	t.Setenv("HCLOUD_TOKEN_FILE", "/somewhere")
	t.Setenv("KEEP_ME", "1")
	env := terraformEnv(Config{Dir: "/state", Token: "tok", Endpoint: "http://127.0.0.1:1/v1"})
	if env["HCLOUD_TOKEN"] != "tok" || env["HCLOUD_ENDPOINT"] != "http://127.0.0.1:1/v1" || env["KEEP_ME"] != "1" ||
		env["TF_CLI_CONFIG_FILE"] != "/state/terraform.rc" || env["TF_DATA_DIR"] != "/state/terraform.d" {
		t.Fatalf("env = %v", env)
	}
	if _, ok := env["TF_LOG"]; ok {
		t.Fatal("TF_LOG kept")
	}
	if _, ok := env["HCLOUD_TOKEN_FILE"]; ok {
		t.Fatal("HCLOUD_TOKEN_FILE kept")
	}
	if !strings.Contains(cliConfigText("/mirror"), `path    = "/mirror"`) || strings.Contains(cliConfigText(""), "provider_installation") {
		t.Fatal("CLI config")
	}
}
