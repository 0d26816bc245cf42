package boottest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
)

// onHome is the group's new GoToSocial server put on its booted campaign
// home by lifeboat up: what the home test has ready for it.
type onHome struct {
	t       *testing.T
	phase   func(string)
	f       *hcloudfake.Fake
	g       *groups.Group
	root    string
	home    *hetzner.Home
	homeURL string
	sshDial hetzner.DialFunc
	browser *http.Client
	gtsSum  string
	fetched func() map[string]int
	cfg     hetzner.Config // up's configuration, HomeDir set
}

// run is up for a destination on the home, cut off during its install
// over SSH, once the release is checked (the lead's machine gone, as
// after kill -9: the connection drops and the script on the home is left
// running) and run again, which
// waits for the one left behind and finishes: GoToSocial from the
// lead's mirror on loopback behind the home's Caddy, which gets the
// group domain's certificate from the ACME server; the admin made and
// its token through the sign-in forms, as for a server of its own. The
// group's members then get their accounts there and the mesh is seeded.
// The home's server is then made anew (newHomeServer), and up installs
// GoToSocial onto its data on the volume again, every account kept;
// serve attaches to it; home down refuses; down exports the database and
// takes GoToSocial off the home, which keeps serving the campaign.
func (o onHome) run(ctx context.Context) {
	t, social := o.t, o.g.Destination.Domain
	servers := len(o.f.Servers())
	// An install from before GoToSocial's data went on the volume left it
	// on the root disk: the install moves it over.
	if err := os.MkdirAll(filepath.Join(o.root, "var/lib/gotosocial"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(o.root, "var/lib/gotosocial/from-the-disk"), []byte("kept\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	cut, cutOff := context.WithCancel(ctx)
	defer cutOff()
	first := &recorder{done: func(step string) { o.phase("up, to be cut off: " + step + " done") }}
	t.Cleanup(first.close)
	// The cut comes once the script on the home has checked the release
	// it downloaded, before it is unpacked and started.
	installing := func() {
		for cut.Err() == nil {
			if strings.Contains(readFile(o.root, "var/log/lifeboat-gotosocial.log"), "_linux_amd64.tar.gz: OK") {
				cutOff()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	_, err := hetzner.NewDestination(o.cfg).Start(cut, func(e progress.Event) {
		first.emit(e)
		if e.Kind == progress.StepStarted && e.Step == "install" {
			go installing()
		}
	})
	if err == nil || first.steps() != "preflight,ssh" {
		t.Fatalf("up was not cut off during the install (steps done %s): %v", first.steps(), err)
	}
	o.phase(fmt.Sprintf("up cut off after %s: %v", first.steps(), err))
	if _, err := os.Stat(filepath.Join(o.cfg.Dir, "on-home.json")); err != nil {
		t.Fatalf("the cut-off up did not record that the server lives on the home: %v", err)
	}

	rec := &recorder{done: func(step string) { o.phase("up on the home: " + step + " done") }}
	t.Cleanup(rec.close)
	dest := hetzner.NewDestination(o.cfg)
	defer dest.Stop(context.Background())
	srv, err := dest.Start(ctx, rec.emit)
	if err != nil {
		t.Fatalf("up again: %v\nsteps: %s\ninstall log:\n%s", err, rec.steps(), readFile(o.root, "var/log/lifeboat-gotosocial.log"))
	}
	if got, want := rec.steps(), "preflight,ssh,install,dns,tls,first boot,account maker,admin account,admin token"; got != want {
		t.Errorf("steps done: %s, want %s", got, want)
	}
	res := dest.Result()
	if srv.URL != "https://"+social || srv.Software != groups.SoftwareGoToSocial || srv.AdminToken == "" || srv.Accounts == nil || !res.OnHome {
		t.Fatalf("server = %+v, result %+v", srv, res)
	}
	if n := len(o.f.Servers()); n != servers {
		t.Fatalf("up on the home made a server: %d, not %d", n, servers)
	}

	// GoToSocial over HTTPS through the home's Caddy, with the
	// certificate the ACME server issued for the group's domain.
	resp, err := o.browser.Get(srv.URL + "/api/v2/instance")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"domain":"`+social+`"`) {
		t.Fatalf("instance: %s %.300s", resp.Status, body)
	}
	if leaf := resp.TLS.PeerCertificates[0]; leaf.VerifyHostname(social) != nil || !strings.Contains(leaf.Issuer.CommonName, "Pebble") {
		t.Errorf("served certificate for %v from %q", leaf.DNSNames, leaf.Issuer.CommonName)
	}

	run := remote(ctx, t, sshTarget(t, res, o.sshDial))
	for cmd, want := range map[string]string{
		"systemctl is-active gotosocial lifeboat-serve caddy":                             "active\nactive\nactive",
		"systemctl show -p User --value gotosocial":                                       "gotosocial",
		"sha256sum /opt/gotosocial/gotosocial | cut -d' ' -f1":                            o.gtsSum,
		"grep -E '^(bind-address|port|letsencrypt-enabled):' /etc/gotosocial/config.yaml": "bind-address: \"127.0.0.1\"\nport: 8081\nletsencrypt-enabled: false",
		"stat -c %U:%a /usr/local/sbin/lifeboat-gotosocial-install":                       "root:700",
		"grep -c '^import /etc/caddy/lifeboat-destination.caddy$' /etc/caddy/Caddyfile":   "1",
		"hostname": "lifeboat-" + o.g.Name + "-home",
		"test -e /opt/gotosocial.part && echo left || echo none":                           "none",
		"pgrep -f '[l]ifeboat-gotosocial-install' >/dev/null && echo running || echo none": "none",
		// GoToSocial's data is on the home's volume, bound at its place.
		"findmnt -n -o TARGET -T /var/lib/gotosocial/sqlite.db":                                                "/var/lib/gotosocial",
		"stat -c %d /var/lib/lifeboat /var/lib/gotosocial/sqlite.db | uniq | wc -l":                            "1",
		"stat -c %U /var/lib/lifeboat/gotosocial/sqlite.db":                                                    "gotosocial",
		"systemctl show -p RequiresMountsFor --value gotosocial | tr ' ' '\\n' | grep -cx /var/lib/gotosocial": "1",
		"cat /var/lib/lifeboat/gotosocial/from-the-disk /var/lib/gotosocial/from-the-disk":                     "kept\nkept",
	} {
		if got := run(cmd); got != want {
			t.Errorf("%s: %q, want %q", cmd, got, want)
		}
	}
	if got := o.fetched()["/releases/"+fmt.Sprintf("gotosocial_%s_linux_amd64.tar.gz", hetzner.GoToSocialVersion)]; got < 1 || got > 2 {
		t.Errorf("GoToSocial fetched %d times from the mirror, want once (twice if the cut came during the download)", got)
	}
	o.phase("GoToSocial checked on the home")

	// The group's members get their accounts on the home's GoToSocial.
	(&rig{t: t, began: time.Now(), g: o.g, tlsClient: o.browser}).arrive(ctx, srv)

	// The home's server made anew (deleted, and home up made another):
	// GoToSocial's data stays on the volume, its programs and user went
	// with the old server's disk, and the new server's gotosocial user has
	// another uid. up installs GoToSocial onto the data again, and every
	// account is still there.
	dest.Stop(ctx)
	const accounts = "sqlite3 /var/lib/lifeboat/gotosocial/sqlite.db 'select count(*) from accounts'"
	before := run(accounts)
	run(newHomeServer)
	o.recordServer("1")
	rec = &recorder{done: func(step string) { o.phase("up on the home's new server: " + step + " done") }}
	t.Cleanup(rec.close)
	dest = hetzner.NewDestination(o.cfg)
	defer dest.Stop(context.Background())
	if srv, err = dest.Start(ctx, rec.emit); err != nil {
		t.Fatalf("up on the home's new server: %v\nsteps: %s\ninstall log:\n%s", err, rec.steps(), readFile(o.root, "var/log/lifeboat-gotosocial.log"))
	}
	said := false
	for _, e := range rec.events {
		said = said || e.Kind == progress.Log && strings.Contains(e.Message, "its data (every account) is on the home's volume, which the new server mounts; installing GoToSocial onto it again")
	}
	if got, want := rec.steps(), "preflight,ssh,install,dns,tls,first boot,account maker,admin account,admin token"; got != want || !said {
		t.Errorf("steps done on the home's new server: %s, want %s; said it installs onto the data: %v", got, want, said)
	}
	for cmd, want := range map[string]string{
		accounts:                         before,
		"systemctl is-active gotosocial": "active",
		"find /var/lib/lifeboat/gotosocial ! -user gotosocial -o ! -group gotosocial | wc -l": "0",
		"id -u someone-else >/dev/null && echo kept":                                          "kept",
	} {
		if got := run(cmd); got != want {
			t.Errorf("on the home's new server: %s: %q, want %q", cmd, got, want)
		}
	}
	if n, _ := strconv.Atoi(before); n < len(o.g.Members) || srv.AdminToken == "" {
		t.Errorf("%s accounts before the new server, admin token %q", before, srv.AdminToken)
	}
	o.phase("GoToSocial installed again onto its data on the home's new server")

	// lifeboat serve finds the server as it finds one of its own.
	again, err := hetzner.NewDestination(o.cfg).Attach(ctx, func(progress.Event) {})
	if err != nil || again.AdminToken != srv.AdminToken || again.URL != srv.URL {
		t.Fatalf("attach: %+v, %v", again, err)
	}
	if err := o.home.Down(ctx, func(progress.Event) {}); !errors.Is(err, hetzner.ErrHomeInUse) || len(o.f.Servers()) != servers {
		t.Fatalf("home down with the group's server on it: %v", err)
	}

	// down, from the lead's next command (up's account maker ended): the
	// database exported, GoToSocial taken off, the home kept.
	dest.Stop(ctx)
	p := hetzner.New(o.cfg)
	dump, err := p.Export(ctx, func(progress.Event) {})
	if fi, serr := os.Stat(dump); err != nil || serr != nil || fi.Size() == 0 {
		t.Fatalf("export: %v %v", err, serr)
	}
	if err := p.Down(ctx, func(progress.Event) {}); err != nil {
		t.Fatal(err)
	}
	for cmd, want := range map[string]string{
		"systemctl is-active gotosocial || true":   "inactive",
		"systemctl is-active lifeboat-serve caddy": "active\nactive",
		"test -e /opt/gotosocial -o -e /var/lib/gotosocial -o -e /etc/caddy/lifeboat-destination.caddy && echo left || echo gone": "gone",
		"grep -c lifeboat-destination /etc/caddy/Caddyfile || true":                                                               "0",
		"id gotosocial >/dev/null 2>&1 && echo left || echo gone":                                                                 "gone",
		"test -e /var/lib/lifeboat/gotosocial && echo left || echo gone":                                                          "gone",
		"grep -c ' /var/lib/gotosocial none ' /etc/fstab || true":                                                                 "0",
	} {
		if got := run(cmd); got != want {
			t.Errorf("after down: %s: %q, want %q", cmd, got, want)
		}
	}
	if resp, err := o.browser.Get(o.homeURL + "/"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the campaign's pages after down: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if n := len(o.f.Servers()); n != servers || hetzner.HasServer(o.cfg.Dir) {
		t.Errorf("after down: %d servers, the destination still recorded: %v", n, hetzner.HasServer(o.cfg.Dir))
	}
	o.phase("down took GoToSocial off the home; the home serves on")
}

// newHomeServer turns the booted home into a new server made by home up
// after the old one was deleted: the volume (mounted by the home's first
// boot) is all that is left of GoToSocial; its programs, unit, Caddy site,
// bind mount, account maker and user are gone, and the user's old uid is
// someone else's.
const newHomeServer = `set -e
systemctl disable --now gotosocial
umount /var/lib/gotosocial
sed -i '\| /var/lib/gotosocial none |d' /etc/fstab
for f in /etc/caddy/Caddyfile /etc/lifeboat/Caddyfile; do
  [ -e "$f" ] && sed -i '\|^import /etc/caddy/lifeboat-destination.caddy$|d' "$f"
done
rm -rf /opt/gotosocial /etc/gotosocial /var/lib/gotosocial /etc/caddy/lifeboat-destination.caddy /etc/systemd/system/gotosocial.service \
  /usr/local/sbin/lifeboat-gotosocial-install /opt/lifeboat/lifeboat-gts-accounts
systemctl daemon-reload
systemctl reload caddy
uid=$(stat -c %u /var/lib/lifeboat/gotosocial/sqlite.db)
userdel gotosocial
useradd --system --uid "$uid" --no-create-home --shell /usr/sbin/nologin someone-else`

// recordServer makes the destination's record name another server of the
// home than the one it is, as after the home's server was made anew.
func (o onHome) recordServer(id string) {
	path := filepath.Join(o.cfg.Dir, "on-home.json")
	b, err := os.ReadFile(path)
	if err != nil {
		o.t.Fatal(err)
	}
	var rec map[string]any
	err = json.Unmarshal(b, &rec)
	if v, _ := rec["volume_id"].(string); err != nil || v == "" {
		o.t.Fatalf("the record %s: %v", b, err)
	}
	rec["server_id"] = id
	if b, err = json.Marshal(rec); err == nil {
		err = os.WriteFile(path, b, 0o600)
	}
	if err != nil {
		o.t.Fatal(err)
	}
}

// mergeReleases is one mirror directory holding the files of several
// release directories, with one checksums.txt listing them all.
func mergeReleases(t *testing.T, dirs ...string) string {
	t.Helper()
	out := t.TempDir()
	var sums strings.Builder
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() == "checksums.txt" {
				b, err := os.ReadFile(filepath.Join(d, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				sums.Write(b)
				continue
			}
			if err := os.Symlink(filepath.Join(d, e.Name()), filepath.Join(out, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(out, "checksums.txt"), []byte(sums.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// remote runs commands on the server over SSH, each failure an error of
// the test, and returns their output trimmed.
func remote(ctx context.Context, t *testing.T, target hetzner.SSHTarget) func(cmd string) string {
	return func(cmd string) string {
		t.Helper()
		out, err := target.Run(ctx, cmd)
		if err != nil {
			t.Errorf("%s: %v %s", cmd, err, out)
		}
		return strings.TrimSpace(string(out))
	}
}
