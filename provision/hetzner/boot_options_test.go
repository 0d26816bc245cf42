package hetzner

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/lifeboat-social/lifeboat/groups"
)

// testBoot is every boot option set, with the test-only certificates in
// testdata (made for these tests; they protect nothing).
func testBoot() BootOptions {
	return BootOptions{
		GoToSocialFrom: "https://mirror.example.org/gotosocial/v0.17.3/",
		TLSCertFile:    filepath.Join("testdata", "tls-domain.pem"),
		TLSKeyFile:     filepath.Join("testdata", "tls-domain.key"),
		TrustCAFile:    filepath.Join("testdata", "tls-ca.pem"),
	}
}

func renderBoot(t *testing.T, software string, boot BootOptions) (string, error) {
	t.Helper()
	cfg := Config{Group: testGroup(software), Dir: t.TempDir(), Token: "x", Boot: boot}
	cfg.setDefaults()
	return renderCloudInit(cfg, "x86", testKeys(t))
}

// TestRenderBootOptions: with every boot option set the cloud-init
// downloads from the mirror, serves the lead's certificate without Let's
// Encrypt and trusts the lead's CA; it is a golden file, passes
// cloud-init's schema and bash -n; and each option changes only its own
// lines (the default rendering stays the other golden file).
func TestRenderBootOptions(t *testing.T) {
	ud, err := renderBoot(t, groups.SoftwareGoToSocial, testBoot())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "gotosocial-boot-options.cloud-init.golden", []byte(ud))
	for _, want := range []string{
		"base='https://mirror.example.org/gotosocial/v0.17.3'\n",
		"letsencrypt-enabled: false\n",
		`tls-certificate-chain: "/etc/gotosocial/tls/chain.pem"`,
		"chgrp gotosocial /etc/gotosocial/tls/key.pem\n",
		"ca_certs:\n  trusted:\n    - |\n      -----BEGIN CERTIFICATE-----\n",
	} {
		if !strings.Contains(ud, want) {
			t.Errorf("rendering lacks %q", want)
		}
	}
	for _, gone := range []string{"letsencrypt-email-address", "github.com/superseriousbusiness"} {
		if strings.Contains(ud, gone) {
			t.Errorf("rendering still has %q", gone)
		}
	}
	var doc struct {
		WriteFiles []struct {
			Path, Content, Permissions string
		} `yaml:"write_files"`
	}
	if err := yaml.Unmarshal([]byte(ud), &doc); err != nil {
		t.Fatal(err)
	}
	key, _ := os.ReadFile(testBoot().TLSKeyFile)
	found := false
	for _, f := range doc.WriteFiles {
		if f.Path == "/usr/local/sbin/lifeboat-firstboot" {
			found = strings.Contains(f.Content, "put /etc/gotosocial/tls/key.pem 0640 <<'LIFEBOAT_EOF'\n"+strings.TrimSpace(string(key))+"\nLIFEBOAT_EOF\n") && f.Permissions == "0700"
		}
	}
	if !found {
		t.Error("the first boot does not write the key to /etc/gotosocial/tls/key.pem as given, 0640, from a root-only script")
	}
	checkCloudInit(t, ud)

	// One option at a time differs from the default only in its lines.
	def, err := renderBoot(t, groups.SoftwareGoToSocial, BootOptions{})
	if err != nil {
		t.Fatal(err)
	}
	only := []BootOptions{{GoToSocialFrom: testBoot().GoToSocialFrom}, {TLSCertFile: testBoot().TLSCertFile, TLSKeyFile: testBoot().TLSKeyFile}, {TrustCAFile: testBoot().TrustCAFile}}
	for i, b := range only {
		ud, err := renderBoot(t, groups.SoftwareGoToSocial, b)
		if err != nil {
			t.Fatal(err)
		}
		if ud == def {
			t.Errorf("option %d changed nothing", i)
		}
		checkCloudInit(t, ud)
	}
}

func TestBootOptionsRefused(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.pem")
	os.WriteFile(big, []byte("-----BEGIN CERTIFICATE-----\n"+strings.Repeat("A", maxPEMFile)+"\n-----END CERTIFICATE-----\n"), 0o600)
	text := filepath.Join(dir, "text.pem")
	os.WriteFile(text, []byte("not a certificate\n"), 0o600)
	with := func(f func(*BootOptions)) BootOptions { b := testBoot(); f(&b); return b }
	for _, tc := range []struct {
		name, software string
		boot           BootOptions
		want           string
	}{
		{"plain http", "gotosocial", with(func(b *BootOptions) { b.GoToSocialFrom = "http://mirror.example.org/gts" }), "must be an https URL"},
		{"query", "gotosocial", with(func(b *BootOptions) { b.GoToSocialFrom = "https://mirror.example.org/gts?x=1" }), "no query"},
		{"quote", "gotosocial", with(func(b *BootOptions) { b.GoToSocialFrom = "https://mirror.example.org/g'ts" }), "no query, no spaces or quotes"},
		{"cert without key", "gotosocial", with(func(b *BootOptions) { b.TLSKeyFile = "" }), "go together"},
		{"missing file", "gotosocial", with(func(b *BootOptions) { b.TLSCertFile = filepath.Join(dir, "nope.pem") }), EnvTLSCertFile},
		{"other domain", "gotosocial", with(func(b *BootOptions) {
			b.TLSCertFile, b.TLSKeyFile = filepath.Join("testdata", "tls-other.pem"), filepath.Join("testdata", "tls-other.key")
		}), "not for the group's domain social.valley-cyclists.example"},
		{"key of another cert", "gotosocial", with(func(b *BootOptions) { b.TLSKeyFile = filepath.Join("testdata", "tls-other.key") }), "are not a certificate and its key"},
		{"too large", "gotosocial", with(func(b *BootOptions) { b.TrustCAFile = big }), "larger than 64 KiB"},
		{"not PEM", "gotosocial", with(func(b *BootOptions) { b.TrustCAFile = text }), "is not PEM"},
		{"key as CA", "gotosocial", with(func(b *BootOptions) { b.TrustCAFile = filepath.Join("testdata", "tls-domain.key") }), "block 1 is not a certificate (PRIVATE KEY)"},
		{"mastodon", "mastodon", testBoot(), "are for GoToSocial servers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderBoot(t, tc.software, tc.boot)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrConfig with %q", err, tc.want)
			}
		})
	}
}

// TestAdminEmail: the admin's address reaches the lead's mailbox but is
// not the lead's own, which the lead's member account takes.
func TestAdminEmail(t *testing.T) {
	for lead, want := range map[string]string{
		"quinn@example.org":       "quinn+lifeboat-admin@example.org",
		"q.spoke+cycling@mail.eu": "q.spoke+cycling+lifeboat-admin@mail.eu",
	} {
		g := testGroup(groups.SoftwareGoToSocial)
		g.Lead.Email = lead
		if got := AdminEmail(g); got != want {
			t.Errorf("AdminEmail(%s) = %s, want %s", lead, got, want)
		}
	}
}
