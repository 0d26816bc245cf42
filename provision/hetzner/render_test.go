package hetzner

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/tools"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testGroup is a small group going to a new server.
func testGroup(software string) *groups.Group {
	return &groups.Group{
		Version: 1, Name: "valley-cyclists", Title: "Valley Cyclists", ViableMass: 2,
		Lead: groups.Person{Name: "Quinn", Email: "quinn@example.org"},
		Destination: groups.Destination{
			Type: groups.DestNew, Software: software, Domain: "social.valley-cyclists.example",
			Cloud: groups.CloudHetzner, Location: "fsn1", ServerType: "cx23",
		},
		Members: []groups.Member{
			{Name: "Quinn", Email: "quinn@example.org"},
			{Name: "Rosa", Email: "rosa@example.org"},
			{Name: "Sami", Email: "sami@example.org"},
		},
	}
}

// testKeys loads the fixed test-only keys in testdata (made with
// ssh-keygen for these tests; they protect nothing).
func testKeys(t *testing.T) Keys {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"id_ed25519", "host_ed25519"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, "ssh"), 0o700)
		if err := os.WriteFile(filepath.Join(dir, "ssh", f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	k, err := loadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test -update and review the diff\n--- got ---\n%s", name, got)
	}
}

func renderCase(t *testing.T, software string, volume int) (Config, string, []byte) {
	t.Helper()
	cfg := Config{
		Group: testGroup(software), Dir: t.TempDir(), Token: "x", SSHFrom: []string{"203.0.113.7/32"}, VolumeSize: volume,
		SMTP: SMTP{Host: "smtp.example.org", Port: 587, Username: "lifeboat", Password: "s3cret'\"$pw", From: "hello@valley-cyclists.example"},
	}
	cfg.setDefaults()
	keys := testKeys(t)
	ud, err := renderCloudInit(cfg, "x86", keys)
	if err != nil {
		t.Fatal(err)
	}
	plan := Plan{Location: "fsn1", ServerType: ServerType{Name: "cx23"}}
	vb, err := renderVars(cfg, plan, keys, ud)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, ud, vb
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range []struct {
		software string
		volume   int
	}{{groups.SoftwareGoToSocial, 0}, {groups.SoftwareMastodon, 50}} {
		t.Run(tc.software, func(t *testing.T) {
			_, ud, vb := renderCase(t, tc.software, tc.volume)
			golden(t, tc.software+".cloud-init.golden", []byte(ud))
			golden(t, tc.software+".tfvars.golden.json", vb)

			// Rendering is a pure function of its inputs: user data that
			// changed on a re-run would replace the server.
			_, ud2, _ := renderCase(t, tc.software, tc.volume)
			if ud != ud2 {
				t.Fatal("rendering is not deterministic")
			}
		})
	}
}

// TestCloudInitValid checks the rendered cloud-init three ways: it is
// YAML with the #cloud-config header, cloud-init's own schema accepts it,
// and every shell script it writes parses with bash -n.
func TestCloudInitValid(t *testing.T) {
	for _, software := range []string{groups.SoftwareGoToSocial, groups.SoftwareMastodon} {
		for _, volume := range []int{0, 20} {
			t.Run(software, func(t *testing.T) {
				_, ud, _ := renderCase(t, software, volume)
				if !strings.HasPrefix(ud, "#cloud-config\n") {
					t.Fatal("missing #cloud-config header")
				}
				var doc struct {
					WriteFiles []struct {
						Path    string `yaml:"path"`
						Content string `yaml:"content"`
					} `yaml:"write_files"`
					SSHKeys map[string]string `yaml:"ssh_keys"`
					RunCmd  []any             `yaml:"runcmd"`
				}
				if err := yaml.Unmarshal([]byte(ud), &doc); err != nil {
					t.Fatalf("not YAML: %v", err)
				}
				if !strings.Contains(doc.SSHKeys["ed25519_private"], "BEGIN OPENSSH PRIVATE KEY") || doc.SSHKeys["ed25519_public"] == "" {
					t.Fatalf("host key not installed: %v", doc.SSHKeys)
				}
				if len(doc.RunCmd) == 0 {
					t.Fatal("no runcmd")
				}
				for _, f := range doc.WriteFiles {
					if strings.HasSuffix(f.Path, ".yml") || strings.HasSuffix(f.Path, ".yaml") {
						var v any
						if err := yaml.Unmarshal([]byte(f.Content), &v); err != nil {
							t.Errorf("%s is not YAML: %v", f.Path, err)
						}
					}
				}
				if scripts := checkCloudInit(t, ud); scripts < 1 {
					t.Fatalf("found %d scripts, want the first-boot script", scripts)
				}
			})
		}
	}
}

// checkCloudInit checks rendered user data with cloud-init's own schema
// and every shell script it writes with bash -n, and returns how many
// scripts there are.
func checkCloudInit(t *testing.T, ud string) (scripts int) {
	t.Helper()
	var doc struct {
		WriteFiles []struct {
			Path    string `yaml:"path"`
			Content string `yaml:"content"`
		} `yaml:"write_files"`
	}
	if err := yaml.Unmarshal([]byte(ud), &doc); err != nil {
		t.Fatalf("not YAML: %v", err)
	}
	for _, f := range doc.WriteFiles {
		if strings.HasPrefix(f.Content, "#!/bin/bash") {
			scripts++
			cmd := exec.Command("bash", "-n")
			cmd.Stdin = strings.NewReader(f.Content)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: bash -n: %v\n%s", f.Path, err, out)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "user-data")
	os.WriteFile(path, []byte(ud), 0o600)
	out, err := exec.Command(ensureCloudInit(t), "schema", "--config-file", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Valid") {
		t.Fatalf("cloud-init schema: %v\n%s", err, out)
	}
	return scripts
}

// ensureCloudInit finds cloud-init, installing Debian's package when it
// is missing (as root; it only adds files, no service is started here).
func ensureCloudInit(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p, err := tools.New().Command(ctx, "cloud-init", "cloud-init")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRenderRejectsUnsafeValues(t *testing.T) {
	cfg := Config{Group: testGroup("gotosocial"), Dir: t.TempDir(), Token: "x"}
	cfg.Group.Lead.Email = "a$(reboot)@example.org"
	cfg.setDefaults()
	if _, err := renderCloudInit(cfg, "x86", testKeys(t)); err == nil {
		t.Fatal("a shell-unsafe email was rendered")
	}
}

func TestShellQuote(t *testing.T) {
	out, err := exec.Command("bash", "-c", "printf %s "+shellQuote(`it's "$HOME"`)).Output()
	if err != nil || string(out) != `it's "$HOME"` {
		t.Fatalf("got %q, %v", out, err)
	}
}

// TestCloudInitMatchesLayout: the paths Lifeboat uses over SSH are the
// ones the cloud-init makes, GoToSocial is the version the account maker
// is built from, and no password is set from a command line.
func TestCloudInitMatchesLayout(t *testing.T) {
	l := DefaultLayout()
	if "v"+GoToSocialVersion != tools.GoToSocialVersion {
		t.Fatalf("cloud-init installs GoToSocial %s, the account maker is built from %s", GoToSocialVersion, tools.GoToSocialVersion)
	}
	_, gts, _ := renderCase(t, groups.SoftwareGoToSocial, 0)
	for _, want := range []string{"touch " + shellQuote(l.Ready), "put " + l.GTSConfig, "useradd --system --home /var/lib/gotosocial --shell /usr/sbin/nologin " + l.RunAs, "chgrp " + l.RunAs + " " + l.GTSConfig} {
		if !strings.Contains(gts, want) {
			t.Errorf("GoToSocial cloud-init lacks %q", want)
		}
	}
	_, masto, _ := renderCase(t, groups.SoftwareMastodon, 0)
	for _, want := range []string{"touch " + l.Ready, l.AdminJSON} {
		if !strings.Contains(masto, want) {
			t.Errorf("Mastodon cloud-init lacks %q", want)
		}
	}
	for name, ud := range map[string]string{"gotosocial": gts, "mastodon": masto} {
		if strings.Contains(ud, "--password") {
			t.Errorf("%s cloud-init passes a password in a command line", name)
		}
	}
	if got := l.makerCmd(); got != `runuser -u 'gotosocial' -- '/opt/lifeboat/lifeboat-gts-accounts' '/etc/gotosocial/config.yaml'` {
		t.Errorf("maker command: %s", got)
	}
}
