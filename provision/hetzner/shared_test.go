package hetzner

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
	"github.com/lifeboat-social/lifeboat/internal/progress"
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
	// added (the Caddy site, the data bound to the home's volume) or taken
	// away, never a second copy of the steps (which would halve the share).
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
	if n := len(strings.Split(home, "\n")); shared < n*2/3 {
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

// TestGoToSocialDataOnHomeVolume: on the campaign home, GoToSocial's
// database and media (every account) are on the home's volume, where the
// home's own first boot mounts it: a directory of it bound at GoToSocial's
// data directory before GoToSocial starts, and GoToSocial waits for that
// mount. The removal unbinds and deletes it. A server of its own keeps its
// layout: the database on its disk, media on its volume when it has one.
func TestGoToSocialDataOnHomeVolume(t *testing.T) {
	// Where the home's first boot mounts the volume.
	h := NewHome(HomeConfig{Group: testGroup(groups.SoftwareGoToSocial), GroupFile: []byte(testGroupFile), Dir: t.TempDir(),
		Domain: "join.valley-cyclists.example", Version: "v1.4.0"})
	ud, err := h.renderHome("x86", testKeys(t), "key")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`echo "\$dev (\S+) ext4 `).FindStringSubmatch(ud)
	if m == nil {
		t.Fatalf("the home's first boot mounts no volume:\n%s", ud)
	}
	volume := m[1]

	cfg, _, _ := renderCase(t, groups.SoftwareGoToSocial, 20)
	cfg.Boot = testBoot()
	script, err := New(cfg).sharedInstall("x86")
	if err != nil {
		t.Fatal(err)
	}
	conf := regexp.MustCompile(`db-address: "(/\S+)/sqlite\.db"\n(?:.*\n)*?storage-local-base-path: "(/\S+)"`).FindStringSubmatch(script)
	if conf == nil {
		t.Fatalf("no database or storage path in GoToSocial's config:\n%s", script)
	}
	data := conf[1]
	if !strings.HasPrefix(conf[2], data+"/") {
		t.Fatalf("storage %s is not beside the database in %s", conf[2], data)
	}
	bind := fmt.Sprintf(`echo "$vol/gotosocial %s none bind,nofail,x-systemd.requires-mounts-for=$vol 0 0" >>/etc/fstab`, data)
	for _, want := range []string{"vol=" + shellQuote(volume) + "\n", `mountpoint -q "$vol" || {`, bind,
		"RequiresMountsFor=" + data + "\n", "  mount " + data + "\n"} {
		if !strings.Contains(script, want) {
			t.Errorf("the install on the home lacks %q:\n%s", want, script)
		}
	}
	if i, j := strings.Index(script, "  mount "+data+"\n"), strings.Index(script, "systemctl enable --now gotosocial"); i < 0 || j < i {
		t.Error("GoToSocial starts before its data directory is bound to the volume")
	}
	for _, want := range []string{"umount " + data, "'\\|^" + volume + "/gotosocial " + data + " none |d' /etc/fstab", "rm -rf " + volume + "/gotosocial "} {
		if !strings.Contains(removeCmd, want) {
			t.Errorf("the removal lacks %q", want)
		}
	}
	if GoToSocialData.DB != data+"/sqlite.db" || GoToSocialData.Storage != conf[2] {
		t.Errorf("backup and restore read %+v, GoToSocial keeps its data in %s", GoToSocialData, data)
	}

	for _, vol := range []int{0, 20} {
		_, own, _ := renderCase(t, groups.SoftwareGoToSocial, vol)
		if strings.Contains(own, "/gotosocial "+data+" none bind") || strings.Contains(own, "RequiresMountsFor") {
			t.Errorf("a server of its own (volume %d GB) binds its data to a home's volume", vol)
		}
		if got := strings.Contains(own, "/var/lib/gotosocial/storage ext4"); got != (vol > 0) {
			t.Errorf("a server of its own with a %d GB volume mounts media on it: %v", vol, got)
		}
	}
}

// movedHome writes a campaign home's state as home up leaves it, with
// server and volume, and the destination's record that up put GoToSocial
// on the home when it was server recServer with volume recVolume (none:
// a record from before volumes were kept). It returns up's configuration.
func movedHome(t *testing.T, f *hcloudfake.Fake, server, volume, recServer, recVolume string) Config {
	t.Helper()
	homeDir, dir := t.TempDir(), t.TempDir()
	state := fmt.Sprintf(`{"version":4,"resources":[
 {"type":"hcloud_server","name":"main","instances":[{"attributes":{"id":%[1]q,"name":"lifeboat-valley-cyclists-home","server_type":"cx23","location":"fsn1"}}]},
 {"type":"hcloud_volume","name":"media","instances":[{"attributes":{"id":%[2]q,"size":10}}]}],
 "outputs":{"server_id":{"value":%[1]q},"server_name":{"value":"lifeboat-valley-cyclists-home"},"ipv4":{"value":"198.51.100.9"},"ipv6":{"value":"2001:db8:9::1"},"volume_id":{"value":%[2]q}}}`, server, volume)
	rec := fmt.Sprintf(`{"home_dir":%q,"server_id":%q,"server_name":"lifeboat-valley-cyclists-home","volume_id":%q}`, homeDir, recServer, recVolume)
	for path, text := range map[string]string{
		filepath.Join(homeDir, stateFile): state,
		filepath.Join(homeDir, varsFile):  `{"domain":"join.valley-cyclists.example","image":"debian-12"}`,
		filepath.Join(dir, onHomeFile):    rec,
	} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return Config{Group: testGroup(groups.SoftwareGoToSocial), Dir: dir, HomeDir: homeDir, Token: f.Token, Endpoint: f.URL(), NoWait: true}
}

// TestUpOnHomeAfterItsServerWasReplaced: when the campaign home is a new
// server (home up made it anew after the old one was deleted) with the
// same volume, GoToSocial's data is on that volume and up goes on to
// install GoToSocial onto it again, saying so, and records the new server;
// a record from before volumes were kept goes on the same way. A volume
// that is not the recorded one held the data no longer: up refuses and
// records nothing, and so does down for a new server whose volume holds
// the data (nothing installed there to export it from). Status tells the
// two apart.
func TestUpOnHomeAfterItsServerWasReplaced(t *testing.T) {
	f := hcloudfake.New().Start()
	defer f.Close()
	record := func(cfg Config) onHome {
		t.Helper()
		h, err := New(cfg).recorded()
		if err != nil || h == nil {
			t.Fatalf("the record: %+v %v", h, err)
		}
		return *h
	}
	for _, recVolume := range []string{"3001", ""} {
		cfg := movedHome(t, f, "2002", "3001", "2001", recVolume)
		var said []string
		res, err := New(cfg).Up(t.Context(), func(e progress.Event) {
			if e.Kind == progress.Log {
				said = append(said, e.Message)
			}
		})
		if err != nil || !res.OnHome || res.ServerID != "2002" {
			t.Fatalf("up on the home's new server (recorded volume %q): %+v, %v", recVolume, res, err)
		}
		want := "the campaign home is server 2002 now, not 2001 where up put GoToSocial: its data (every account) is on the home's volume, which the new server mounts; installing GoToSocial onto it again"
		if !slices.Contains(said, want) {
			t.Errorf("up said %q, want %q", said, want)
		}
		if h := record(cfg); h.ServerID != "2002" || h.VolumeID != "3001" {
			t.Errorf("recorded %+v, want server 2002 with volume 3001", h)
		}
	}

	cfg := movedHome(t, f, "2002", "3002", "2001", "3001")
	_, err := New(cfg).Up(t.Context(), func(progress.Event) {})
	if !errors.Is(err, ErrHomeVolumeGone) || !strings.Contains(err.Error(), "run lifeboat down GROUP.yaml to forget the server, then up again") {
		t.Fatalf("up with another volume: %v", err)
	}
	if h := record(cfg); h.ServerID != "2001" || h.VolumeID != "3001" {
		t.Errorf("a refused up recorded %+v", h)
	}
	if _, err := New(cfg).Status(t.Context()); !errors.Is(err, ErrNothing) || !errors.Is(err, ErrHomeVolumeGone) {
		t.Errorf("status with another volume: %v", err)
	}

	cfg = movedHome(t, f, "2002", "3001", "2001", "3001")
	if _, err := New(cfg).Status(t.Context()); !errors.Is(err, ErrNothing) || !strings.Contains(err.Error(), "lifeboat up GROUP.yaml installs it again onto its data on the home's volume") {
		t.Errorf("status on the home's new server: %v", err)
	}
	cfg.NoWait = false
	err = New(cfg).Down(t.Context(), func(progress.Event) {})
	if !errors.Is(err, ErrHomeMoved) || !strings.Contains(err.Error(), "run lifeboat up GROUP.yaml to install it again onto the data, then down") {
		t.Fatalf("down on the home's new server: %v", err)
	}
	if h := record(cfg); h.ServerID != "2001" {
		t.Errorf("a refused down forgot the record: %+v", h)
	}
}

// TestInstallOnHomeAgainKeepsTheData: the install on the home runs again
// onto data the volume already holds (the home's server made anew, or a
// run cut off): it touches none of that data but to give every file of it
// back to GoToSocial's user, whose uid on a new server need not be the old
// one's, before GoToSocial starts; the only deletion in the data is the
// move of an older install's data from the root disk, which refuses when
// the volume holds data already; and the script makes no account (the
// admin is made over SSH afterwards, by the account maker, which finds
// the one made before).
func TestInstallOnHomeAgainKeepsTheData(t *testing.T) {
	cfg, _, _ := renderCase(t, groups.SoftwareGoToSocial, 20)
	cfg.Boot = testBoot()
	script, err := New(cfg).sharedInstall("x86")
	if err != nil {
		t.Fatal(err)
	}
	owned := `find "$vol/gotosocial" -xdev \( ! -user gotosocial -o ! -group gotosocial \) -exec chown -h gotosocial:gotosocial {} +`
	at := func(s string) int { return strings.Index(script, s) }
	if at(owned) < 0 {
		t.Fatalf("the install does not give the volume's data back to GoToSocial's user:\n%s", script)
	}
	if !(at("useradd --system --home /var/lib/gotosocial") < at(owned) && at(`mountpoint -q "$vol" ||`) < at(owned) && at(owned) < at("systemctl enable --now gotosocial")) {
		t.Error("the data is given to GoToSocial's user before the user or the volume is there, or after GoToSocial starts")
	}
	refuse := `[ -z "$(ls -A "$vol/gotosocial")" ] || {`
	for _, l := range strings.Split(script, "\n") {
		l = strings.TrimSpace(l)
		touches := strings.Contains(l, "/var/lib/gotosocial") || strings.Contains(l, "$vol")
		if !touches || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.Contains(l, "rm ") || strings.Contains(l, "-delete") || strings.Contains(l, "mkfs") || strings.Contains(l, "mv ") {
			if l != "find /var/lib/gotosocial -mindepth 1 -delete" || at(refuse) < 0 || at(refuse) > at(l) {
				t.Errorf("the install deletes or moves GoToSocial's data: %s", l)
			}
		}
	}
	for _, made := range []string{"admin account create", "account create", "tootctl", "lifeboat-gts-accounts"} {
		if strings.Contains(script, made) {
			t.Errorf("the install script makes accounts (%q): a second run would make them again", made)
		}
	}
}
