package hetzner

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/tools"
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

// stateAttr returns one attribute of every resource instance in a state
// file that has it, by address.
func stateAttr(t *testing.T, path, attr string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Resources []struct {
			Type, Name string
			Instances  []struct {
				Attributes map[string]any
			}
		}
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, r := range st.Resources {
		for _, in := range r.Instances {
			if v, ok := in.Attributes[attr]; ok {
				out[r.Type+"."+r.Name] = v
			}
		}
	}
	return out
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
	if plan.Location != "fsn1" || plan.ServerType.Name != hcloudfake.CurrentType || plan.Cost.Monthly <= 0 || plan.Cost.PerMember <= 0 {
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
	for _, ip := range f.PrimaryIPs() {
		if ip.Location.Name != "fsn1" || ip.AssigneeID == nil || *ip.AssigneeID != srv.ID {
			t.Fatalf("primary IP %s: location %s, assigned to %v", ip.Name, ip.Location.Name, ip.AssigneeID)
		}
	}
	if srv.Location.Name != "fsn1" || srv.ServerType.Name != hcloudfake.CurrentType {
		t.Fatalf("server in %s of type %s", srv.Location.Name, srv.ServerType.Name)
	}
	setsDatacenter := regexp.MustCompile(`"datacenter"|(?m)^\s*(datacenter\s*=|variable\s+"datacenter")`)
	for _, name := range []string{varsFile, filepath.Join(moduleDir, "main.tf"), filepath.Join(moduleDir, "variables.tf")} {
		if b, _ := os.ReadFile(filepath.Join(cfg.Dir, name)); setsDatacenter.Match(b) {
			t.Fatalf("%s sets a datacenter", name)
		}
	}
	// The provider keeps a deprecated datacenter attribute in its schema;
	// with nothing from the API to fill it, it stays null.
	for addr, dc := range stateAttr(t, filepath.Join(cfg.Dir, stateFile), "datacenter") {
		if dc != nil && dc != "" {
			t.Fatalf("%s has datacenter %v in the state", addr, dc)
		}
	}
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
	// Nothing the API has removed was used: no datacenters endpoint, no
	// datacenter property, by pre-flight, the module or the provider.
	if g := f.Gone(); len(g) > 0 {
		t.Fatalf("pre-flight, the module or the provider used what the API removed: %q", g)
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

// smallType is a current type with too little memory for Mastodon, added
// to the fake's catalogue (every current Hetzner type has 4 GB or more).
func addSmallType(f *hcloudfake.Fake) {
	for _, st := range f.Catalog.ServerTypes {
		if st.Name == hcloudfake.CurrentType {
			st.ID, st.Name, st.Memory = 999, "cx12", 2
			f.Catalog.ServerTypes = append(f.Catalog.ServerTypes, st)
			return
		}
	}
}

// TestPreflightFailsBeforeTerraform: each bad input gives a clear error
// before Terraform runs (the Terraform path does not even exist) and
// before anything is created.
func TestPreflightFailsBeforeTerraform(t *testing.T) {
	f := hcloudfake.New()
	addSmallType(f)
	f.Start()
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
		{"unavailable server type", func(c *Config) { c.Group.Destination.ServerType = hcloudfake.UnavailableType }, ErrServerType,
			"cx53 is not available in fsn1 right now; it can be ordered in hel1, nbg1\n  recommended in fsn1"},
		{"deprecated server type", func(c *Config) { c.Group.Destination.ServerType = hcloudfake.DeprecatedType }, ErrServerType,
			"cx22 is deprecated in fsn1 and can no longer be ordered there (since 2026-01-01)\n  recommended in fsn1 (set destination.server_type in the group file to one of them):\n" +
				"    cx12 (2 vCPU, 2 GB RAM, 40 GB disk) 4.15 EUR/month\n    cx23 (2 vCPU, 4 GB RAM, 40 GB disk) 4.15 EUR/month\n    cax11 (Arm, 2 vCPU, 4 GB RAM, 40 GB disk) 4.51 EUR/month\n"},
		{"unknown server type", func(c *Config) { c.Group.Destination.ServerType = "cx9000" }, ErrServerType, "cx9000 does not exist\n  recommended in fsn1"},
		{"unknown image", func(c *Config) { c.Image = "plan9" }, ErrImage, "plan9"},
		{"mastodon on a small server", func(c *Config) {
			c.Group.Destination.Software = groups.SoftwareMastodon
			c.Group.Destination.ServerType = "cx12"
		}, ErrServerType, "cx12 has 2 GB of memory and Mastodon needs at least 4 GB"},
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
	if g := f.Gone(); len(g) > 0 {
		t.Fatalf("pre-flight used what the API removed: %q", g)
	}
}

// TestPreflightRecommends: a type that cannot be ordered gets the types the
// location recommends, cheapest first, priced from the API, without the
// deprecated, sold-out or too small ones.
func TestPreflightRecommends(t *testing.T) {
	f := hcloudfake.New()
	addSmallType(f)
	f.Start()
	defer f.Close()
	for _, tc := range []struct {
		software, typ string
		want          []TypeOffer
	}{
		{groups.SoftwareGoToSocial, hcloudfake.DeprecatedType, []TypeOffer{
			{"cx12", 2, 2, 40, "x86", 4.15, "EUR"}, {"cx23", 2, 4, 40, "x86", 4.15, "EUR"}, {"cax11", 2, 4, 40, "arm", 4.51, "EUR"},
			{"cx33", 4, 8, 80, "x86", 6.53, "EUR"}, {"cpx22", 2, 4, 80, "x86", 9.51, "EUR"}, {"cx43", 8, 16, 160, "x86", 11.29, "EUR"},
		}},
		{groups.SoftwareMastodon, "cx12", []TypeOffer{
			{"cx23", 2, 4, 40, "x86", 4.15, "EUR"}, {"cax11", 2, 4, 40, "arm", 4.51, "EUR"},
			{"cx33", 4, 8, 80, "x86", 6.53, "EUR"}, {"cpx22", 2, 4, 80, "x86", 9.51, "EUR"}, {"cx43", 8, 16, 160, "x86", 11.29, "EUR"},
		}},
	} {
		g := testGroup(tc.software)
		g.Destination.ServerType = tc.typ
		_, err := Preflight(context.Background(), Config{Group: g, Dir: t.TempDir(), Token: f.Token, Endpoint: f.URL()})
		var te *ServerTypeError
		if !errors.As(err, &te) || te.Type != tc.typ || te.Location != "fsn1" {
			t.Fatalf("%s: %v, want a ServerTypeError", tc.typ, err)
		}
		if !reflect.DeepEqual(te.Recommended, tc.want) {
			t.Fatalf("%s for %s: recommended\n%v\nwant\n%v", tc.typ, tc.software, te.Recommended, tc.want)
		}
	}
}

// TestPreflightDeprecatedStillOrderable: a type deprecated in the location
// but orderable for a while yet plans, with a warning that names what the
// location recommends instead.
func TestPreflightDeprecatedStillOrderable(t *testing.T) {
	f := hcloudfake.New()
	until := time.Now().AddDate(0, 2, 0).UTC()
	for i, st := range f.Catalog.ServerTypes {
		if st.Name == "cx33" {
			l := &f.Catalog.ServerTypes[i].Locations[0] // fsn1; still flagged recommended
			l.Deprecation = &schema.DeprecationInfo{Announced: time.Now().AddDate(0, -1, 0), UnavailableAfter: until}
		}
	}
	f.Start()
	defer f.Close()
	g := testGroup(groups.SoftwareGoToSocial)
	g.Destination.ServerType = "cx33"
	p, err := Preflight(context.Background(), Config{Group: g, Dir: t.TempDir(), Token: f.Token, Endpoint: f.URL()})
	if err != nil {
		t.Fatal(err)
	}
	want := "cx33 is deprecated in fsn1 and can be ordered there until " + until.Format(time.DateOnly) + "; recommended instead: cx23 (4.15 EUR/month), cax11 (4.51 EUR/month)"
	if len(p.Warnings) == 0 || !strings.HasPrefix(p.Warnings[0], want) {
		t.Fatalf("warnings = %q, want %q…", p.Warnings, want)
	}
	if strings.Contains(p.Warnings[0], "cx33 (") {
		t.Fatal("the deprecated type recommends itself")
	}
}

// TestPreflightExistingServerKeepsWorking: once the server exists, a type
// Hetzner no longer sells does not stop a re-run (the server keeps
// running); it is a warning.
func TestPreflightExistingServerKeepsWorking(t *testing.T) {
	f := hcloudfake.New().Start()
	defer f.Close()
	g := testGroup(groups.SoftwareGoToSocial)
	g.Destination.ServerType = hcloudfake.DeprecatedType
	dir := t.TempDir()
	cfg := Config{Group: g, Dir: dir, Token: f.Token, Endpoint: f.URL()}
	if _, err := Preflight(context.Background(), cfg); !errors.Is(err, ErrServerType) {
		t.Fatalf("no server yet: %v", err)
	}
	state := `{"version":4,"resources":[{"type":"hcloud_server","name":"main","instances":[{"attributes":{"id":"1"}}]}]}`
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Preflight(context.Background(), cfg)
	if err != nil || len(p.Warnings) == 0 || !strings.Contains(p.Warnings[0], "the server you have keeps running") {
		t.Fatalf("with a server: %v, warnings %q", err, p.Warnings)
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
	// cx23 in fsn1: 3.49 net → 4.15 gross; backups 20% → 0.83; IPv4
	// 0.50 net → 0.60; volume 50 × 0.044 net → 2.62.
	wantLines := map[string]float64{"server cx23": 4.15, "backups (20%)": 0.83, "primary IPv4": 0.60, "primary IPv6": 0, "volume 50 GB": 2.62}
	for _, l := range p.Cost.Lines {
		if w, ok := wantLines[l.Item]; !ok || w != l.Monthly {
			t.Errorf("line %q = %.2f, want %.2f", l.Item, l.Monthly, w)
		}
	}
	if p.Cost.Monthly != 8.20 || p.Cost.PerMember != 2.73 || p.Cost.Currency != "EUR" {
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
	r, err := newRunner(context.Background(), cfg, nil)
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

// TestGoneIsCaughtThroughTerraform: the guard the lifecycle test relies on
// works through the real Terraform and provider: a configuration that
// still reads the datacenters endpoint fails against the fake, and the
// fake records the call.
func TestGoneIsCaughtThroughTerraform(t *testing.T) {
	f := hcloudfake.New().Start()
	defer f.Close()
	cfg := fakeConfig(t, f, groups.SoftwareGoToSocial, 0)
	dir := filepath.Join(cfg.Dir, "old")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	old := `terraform {
  required_providers {
    hcloud = { source = "hetznercloud/hcloud" }
  }
}
data "hcloud_datacenter" "dc" {
  name = "fsn1-dc14"
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.Dir, cliConfig), []byte(cliConfigText(cfg.ProviderMirror)), 0o600); err != nil {
		t.Fatal(err)
	}
	tf, err := tfexec.NewTerraform(dir, cfg.Terraform)
	if err != nil {
		t.Fatal(err)
	}
	if err := tf.SetEnv(terraformEnv(cfg)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := tf.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := tf.Plan(ctx); err == nil {
		t.Fatal("a plan reading the datacenters endpoint succeeded")
	}
	if g := f.Gone(); len(g) == 0 || !strings.HasPrefix(g[0], "GET /datacenters") {
		t.Fatalf("gone = %q, want the datacenters call", g)
	}
}
