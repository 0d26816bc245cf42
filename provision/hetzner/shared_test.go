package hetzner

import (
	"os/exec"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
)

// TestInstallScriptOnHome: GoToSocial's install on the campaign home is
// the rendering of the same template as a server's own first boot: the
// two differ only where the home's Caddy stands in front (GoToSocial on
// loopback, no certificate of its own, the Caddy site), and both are
// valid bash, as is the script that takes it off the home again.
func TestInstallScriptOnHome(t *testing.T) {
	cfg, ud, _ := renderCase(t, groups.SoftwareGoToSocial, 20)
	cfg.Boot = testBoot() // a certificate of the lead's own is for a server of its own
	p := New(cfg)
	home, err := p.sharedInstall("x86")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		WriteFiles []struct{ Path, Content string } `yaml:"write_files"`
	}
	if err := yaml.Unmarshal([]byte(ud), &doc); err != nil || len(doc.WriteFiles) != 1 || doc.WriteFiles[0].Path != "/usr/local/sbin/lifeboat-firstboot" {
		t.Fatalf("the cloud-init's files: %+v %v", doc.WriteFiles, err)
	}
	own := doc.WriteFiles[0].Content
	for name, script := range map[string]string{"first boot": own, "on the home": home, "removal": removeCmd} {
		cmd := exec.Command("bash", "-n")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: bash -n: %v\n%s", name, err, out)
		}
	}
	for _, want := range []string{
		"bind-address: \"127.0.0.1\"\nport: 8081\n", "letsencrypt-enabled: false\nsmtp-host:",
		"social.valley-cyclists.example {\n\tencode gzip\n\treverse_proxy 127.0.0.1:8081\n}",
		"grep -qxF 'import /etc/caddy/lifeboat-destination.caddy' \"$f\"", "systemctl reload caddy",
		"base='https://mirror.example.org/gotosocial/v0.17.3'",
	} {
		if !strings.Contains(home, want) {
			t.Errorf("the install on the home lacks %q", want)
		}
	}
	for _, gone := range []string{"tls-certificate", "/etc/gotosocial/tls", "letsencrypt-port", "scsi-0HC_Volume", "port: 443"} {
		if strings.Contains(home, gone) {
			t.Errorf("the install on the home has %q", gone)
		}
	}
	if strings.Contains(own, "caddy") || !strings.Contains(own, "scsi-0HC_Volume") {
		t.Error("a server's own first boot changed")
	}
	// Line by line, the home's script is the server's own with lines
	// added or taken away, never a second copy of the steps.
	shared := 0
	ownLines := map[string]bool{}
	for _, l := range strings.Split(own, "\n") {
		ownLines[l] = true
	}
	for _, l := range strings.Split(home, "\n") {
		if ownLines[l] {
			shared++
		}
	}
	if n := len(strings.Split(home, "\n")); shared < n*3/4 {
		t.Errorf("only %d of the home script's %d lines are the first boot's", shared, n)
	}
}

// TestHomeHoldsBoth: the memory a home needs to hold GoToSocial beside
// the pages grows with the group, and a home too small is told the
// cheapest current type of its architecture with enough memory and disk.
func TestHomeHoldsBoth(t *testing.T) {
	for people, want := range map[int]float64{0: 2, 12: 2, 250: 2, 251: 3, 500: 3, 800: 5} {
		if got := sharedMemoryGB(people); got != want {
			t.Errorf("sharedMemoryGB(%d) = %g, want %g", people, got, want)
		}
	}
	f := hcloudfake.New().Start()
	defer f.Close()
	a := newAPI(Config{Token: f.Token, Endpoint: f.URL()})
	cx23 := ServerType{Name: "cx23", Cores: 2, MemoryGB: 4, DiskGB: 40, Architecture: "x86"}
	cax11 := ServerType{Name: "cax11", Cores: 2, MemoryGB: 4, DiskGB: 40, Architecture: "arm"}
	for _, tc := range []struct {
		st     ServerType
		people int
		fits   bool
		resize string
	}{{cx23, 40, true, ""}, {cx23, 750, true, ""}, {cx23, 751, false, "cx33"}, {cx23, 2000, false, "cx43"}, {cax11, 800, false, ""}} {
		fits, _, resize, err := holdsBoth(t.Context(), a, "nbg1", tc.st, tc.people)
		got := ""
		if resize != nil {
			got = resize.Name
		}
		if err != nil || fits != tc.fits || got != tc.resize {
			t.Errorf("%s for %d: fits %v, resize %q (%v); want %v, %q", tc.st.Name, tc.people, fits, got, err, tc.fits, tc.resize)
		}
	}
}
