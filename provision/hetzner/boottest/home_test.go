package boottest

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
)

// TestCloudInitBootCampaignHome is lifeboat home up with a real first
// boot. Real Terraform with the real provider applies the module against
// the fake Hetzner API; the user data the API received boots in the Debian
// root under systemd-nspawn, with an ext4 block device bound in where
// Hetzner attaches the volume. cloud-init's own modules then do what they
// do on the server: trust the lead's CA, write the files, and run the
// first-boot script, which mounts the volume, downloads the freshly built
// lifeboat from the lead's mirror (checked against checksums.txt), and
// starts lifeboat serve as a systemd service behind Caddy. Caddy gets the
// campaign domain's certificate over ACME from Pebble, Let's Encrypt's
// test server, which validates the challenge against the container as
// Let's Encrypt would against the server. home up's own waits (DNS, the
// landing page over HTTPS) run unchanged, and the page answers through
// the proxy with the certificate Pebble issued. Then the group's new
// GoToSocial server goes on the same machine (onHome.run).
func TestCloudInitBootCampaignHome(t *testing.T) {
	ctx, cancel := budget(t, 20*time.Minute)
	defer cancel()
	began := time.Now()
	phase := func(what string) { t.Logf("%6.1fs  %s", time.Since(began).Seconds(), what) }

	in, cachedRoot, terraform, mirror := bootTools(ctx, t)
	pebble, err := in.Pebble(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gts, err := in.GoToSocial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A group bound for a new server of its own, which does not exist yet:
	// the pages gather it meanwhile.
	groupFile := filepath.Join("..", "..", "..", "examples", "new-hetzner.yaml")
	g, probs := groups.Load(groupFile)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	raw, err := os.ReadFile(groupFile)
	if err != nil {
		t.Fatal(err)
	}
	lifeboatDir, binSum := packLifeboat(ctx, t)
	gtsDir, gtsSum := packRelease(t, gts, hetzner.GoToSocialVersion, "amd64")
	releaseDir := mergeReleases(t, lifeboatDir, gtsDir)
	phase("tools, the lifeboat and GoToSocial releases ready")

	// The campaign's domain, and the group's own, which the home takes on
	// when GoToSocial goes on its machine.
	const domain = "join.valley-cyclists.example"
	social := g.Destination.Domain
	l := newLink(t)
	ca := newCA(t)
	releaseURL, fetched := serveMirror(t, ca, l.Host, releaseDir)
	dnsAddr := serveDNS(t, l.Host, l.Guest, domain, social)
	acme := startPebble(ctx, t, pebble, ca, l.Host, dnsAddr)
	phase("network, mirror, DNS and ACME server ready at " + acme.Directory)

	f := hcloudfake.New().Start()
	defer f.Close()
	guest := func(port string) string { return net.JoinHostPort(l.Guest.String(), port) }
	var d net.Dialer
	toGuest := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, _ := net.SplitHostPort(addr)
		if (host != domain && host != social) || (port != "443" && port != "80") {
			return nil, fmt.Errorf("the boot test reaches only %s and %s on ports 80 and 443, not %s", domain, social, addr)
		}
		return d.DialContext(ctx, network, guest(port))
	}
	// The lead's browser: it trusts the ACME server's roots (as browsers
	// trust Let's Encrypt's), not the lead's own CA.
	browser := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: acme.Roots}, DialContext: toGuest,
	}}
	sshDial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if s := f.Servers(); len(s) == 0 || addr != net.JoinHostPort(s[0].PublicNet.IPv4.IP, "22") {
			return nil, fmt.Errorf("the boot test reaches only the server's IPv4 on port 22, not %s", addr)
		}
		return d.DialContext(ctx, network, guest("22"))
	}
	homeDir, destDir := filepath.Join(t.TempDir(), "home"), filepath.Join(t.TempDir(), "hetzner")
	h := hetzner.NewHome(hetzner.HomeConfig{
		Group: g, GroupFile: raw, Dir: homeDir, DestinationDir: destDir,
		Token: f.Token, Endpoint: f.URL(), Terraform: terraform, ProviderMirror: mirror, PollInterval: "50ms",
		Domain: domain, SSHFrom: []string{"203.0.113.7/32"}, Version: "(devel)",
		Boot: hetzner.HomeBoot{LifeboatFrom: releaseURL, ACMEDirectory: acme.Directory, TrustCAFile: writeFile(t, "ca.pem", ca.PEM)},
		Wait: hetzner.Waits{Resolver: apiDNS{f, []string{domain}}, HTTP: browser, Interval: 2 * time.Second, Timeout: 10 * time.Minute},
	})

	rec := &recorder{done: func(step string) { phase("home up: " + step + " done") }}
	t.Cleanup(rec.close)
	done := make(chan started, 1)
	var res hetzner.HomeResult
	go func() {
		r, err := h.Up(ctx, rec.emit)
		res = r
		done <- started{err: err}
	}()
	server, userData := awaitServer(ctx, t, f, done)
	// The volume is made once the server exists, and attached to it.
	vols := f.Volumes()
	for len(vols) == 0 || vols[0].Server == nil {
		select {
		case r := <-done:
			t.Fatalf("home up ended before the volume was attached: %v", r.err)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
		vols = f.Volumes()
	}
	if len(vols) != 1 || *vols[0].Server != server.ID || vols[0].LinuxDevice == "" {
		t.Fatalf("the API's volumes: %+v", vols)
	}
	phase(fmt.Sprintf("the API has server %d with volume %d; booting it", server.ID, vols[0].ID))

	root := newRoot(t, cachedRoot)
	checkPackages(t, root, userData)
	seed(t, root, server.ID, server.Name, userData, apiSSHKeys(ctx, t, f))
	dev := volumeDevice(t)
	c := boot(t, root, l, "--bind="+dev+":"+vols[0].LinuxDevice)
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("home up: %v\nsteps: %s\nconsole:\n%s\nfirst boot:\n%s\ncaddy:\n%s", r.err, rec.steps(), c.tail(),
				readFile(root, "var/log/lifeboat-firstboot.log"), journal(root, "caddy"))
		}
	case <-c.exited:
		t.Fatalf("the container stopped during home up\nconsole:\n%s", c.tail())
	case <-ctx.Done():
		t.Fatalf("home up did not finish in time (steps done: %s)\nconsole:\n%s", rec.steps(), c.tail())
	}
	phase("home up finished: " + rec.steps())
	if got, want := rec.steps(), "preflight,init,plan,apply,dns,https"; got != want || !res.Waited {
		t.Errorf("steps done: %s, want %s (waited %v)", got, want, res.Waited)
	}

	// The landing page, through Caddy, with the certificate Pebble issued.
	resp, err := browser.Get("https://" + domain + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), g.Title) {
		t.Fatalf("landing page: %s\n%.400s", resp.Status, body)
	}
	leaf := resp.TLS.PeerCertificates[0]
	if err := leaf.VerifyHostname(domain); err != nil || !strings.Contains(leaf.Issuer.CommonName, "Pebble") {
		t.Errorf("served certificate for %v from %q: %v", leaf.DNSNames, leaf.Issuer.CommonName, err)
	}
	// Plain HTTP is redirected to HTTPS.
	plain := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: toGuest},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := plain.Get("http://" + domain + "/"); err != nil || resp.StatusCode/100 != 3 || resp.Header.Get("Location") != "https://"+domain+"/" {
		t.Errorf("http: %v %v", resp, err)
	}

	// What first boot did, seen on the server over SSH as the lead sees it.
	run := remote(ctx, t, sshTarget(t, res.Result, sshDial))
	if out := run("cloud-init status --long"); !strings.Contains(out, "status: done") {
		t.Errorf("cloud-init status: %s\n%s", out, readFile(root, "var/log/cloud-init.log"))
	}
	for cmd, want := range map[string]string{
		"systemctl is-active lifeboat-serve caddy":                                             "active\nactive",
		"systemctl show -p User --value lifeboat-serve":                                        "lifeboat",
		"sha256sum /usr/local/bin/lifeboat | cut -d' ' -f1":                                    binSum,
		"findmnt -n -o SOURCE,FSTYPE /var/lib/lifeboat":                                        vols[0].LinuxDevice + " ext4",
		"stat -c %U:%a /var/lib/lifeboat":                                                      "lifeboat:700",
		"stat -c %U:%a /var/lib/lifeboat/" + store.DBFile:                                      "lifeboat:600",
		"stat -c %U:%a /etc/lifeboat/credentials/secret.key":                                   "root:600",
		"stat -c %G:%a /etc/lifeboat/group.yaml":                                               "lifeboat:640",
		"grep -c " + vols[0].LinuxDevice + " /etc/fstab":                                       "1",
		"cat /proc/$(systemctl show -p MainPID --value lifeboat-serve)/cmdline | tr '\\0' ' '": "/usr/local/bin/lifeboat serve /etc/lifeboat/group.yaml --addr 127.0.0.1:8080 --base-url https://" + domain + " --trust-proxy",
	} {
		if got := run(cmd); got != want {
			t.Errorf("%s: %q, want %q", cmd, got, want)
		}
	}
	// The group's own server does not exist yet, and this machine has no
	// Terraform: serve says so and keeps serving the pages.
	if log := run("journalctl -u lifeboat-serve --no-pager -o cat"); !strings.Contains(log, "no server yet; run lifeboat up first") {
		t.Errorf("lifeboat serve's log:\n%s", log)
	}
	// The store's key reaches the service as a credential only: not in
	// its command line or environment.
	key := strings.TrimSpace(run("cat /etc/lifeboat/credentials/secret.key"))
	if env := run("cat /proc/$(systemctl show -p MainPID --value lifeboat-serve)/environ | tr '\\0' '\\n'"); key == "" || strings.Contains(env, key) || !strings.Contains(env, "LIFEBOAT_SECRET_KEY_FILE=/run/credentials/lifeboat-serve.service/lifeboat_secret.key") {
		t.Errorf("the service's environment:\n%s", env)
	}
	// The lead's commands run on the home's state through lifeboat-admin,
	// as the service's user with its credentials: the roster serve
	// recorded is there.
	var status struct {
		Group   string `json:"group"`
		Members int    `json:"members"`
	}
	if out := run("lifeboat-admin pledges status /etc/lifeboat/group.yaml --json"); json.Unmarshal([]byte(out), &status) != nil || status.Group != g.Name || status.Members != len(g.Members) {
		t.Errorf("lifeboat-admin pledges status: %q", out)
	}
	if got := run("stat -c %U /var/lib/lifeboat/" + store.DBFile); got != "lifeboat" {
		t.Errorf("after lifeboat-admin the store belongs to %q", got)
	}
	if got := fetched(); got["/releases/checksums.txt"] != 1 || got["/releases/lifeboat_linux_amd64.tar.gz"] != 1 || len(got) != 2 {
		t.Errorf("mirror fetches: %v, want the tarball and checksums.txt once each", got)
	}
	phase("first boot checked")

	// The group chooses its new GoToSocial server: it goes on this
	// machine, over real SSH, and a member's account is made there.
	onHome{
		t: t, phase: phase, f: f, g: g, root: root, home: h, homeURL: res.URL, sshDial: sshDial, browser: browser, gtsSum: gtsSum, fetched: fetched,
		cfg: hetzner.Config{
			Group: g, Dir: destDir, HomeDir: homeDir,
			Token: f.Token, Endpoint: f.URL(), Terraform: terraform, ProviderMirror: mirror, PollInterval: "50ms",
			AccountsBin: func(ctx context.Context, goarch string) (string, error) {
				return in.GoToSocialAccountsFor(ctx, "linux", goarch)
			},
			Boot: hetzner.BootOptions{GoToSocialFrom: releaseURL},
			Wait: hetzner.Waits{Resolver: apiDNS{f, []string{social}}, HTTP: browser, SSHDial: sshDial, Interval: 2 * time.Second, Timeout: 10 * time.Minute},
		},
	}.run(ctx)
}

// packLifeboat builds lifeboat for the server (linux/amd64, no cgo) and
// packs it as a release: lifeboat_linux_amd64.tar.gz and checksums.txt.
// It returns their directory and the binary's SHA-256.
func packLifeboat(ctx context.Context, t *testing.T) (dir, binSum string) {
	t.Helper()
	dir = t.TempDir()
	bin := filepath.Join(t.TempDir(), "lifeboat")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "github.com/lifeboat-social/lifeboat/cmd/lifeboat")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build lifeboat: %v\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	binSum = hex.EncodeToString(s[:])
	const name = "lifeboat_linux_amd64.tar.gz"
	fh, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.New()
	zw := gzip.NewWriter(io.MultiWriter(fh, sum))
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "lifeboat", Mode: 0o755, Size: int64(len(b)), ModTime: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(tw.Close(), zw.Close(), fh.Close()); err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("%s  %s\n", hex.EncodeToString(sum.Sum(nil)), name)
	if err := os.WriteFile(filepath.Join(dir, "checksums.txt"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, binSum
}

// volumeDevice makes a block device as Hetzner attaches a new volume:
// formatted ext4 (the module asks for it), on a loop device.
func volumeDevice(t *testing.T) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "volume.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 64<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v %s", err, out)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).CombinedOutput()
	if err != nil {
		t.Fatalf("losetup: %v %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v %s", dev, err, out)
		}
	})
	return dev
}

// serveDNS answers A queries for the domains with addr, over TCP on a port of
// host (the ACME server's resolver asks over TCP), with an empty answer
// for anything else: the records the lead sets, as the ACME server sees
// them.
func serveDNS(t *testing.T, host, addr net.IP, domains ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	answer := func(query []byte) []byte {
		var p dnsmessage.Parser
		hdr, err := p.Start(query)
		if err != nil {
			return nil
		}
		q, err := p.Question()
		if err != nil {
			return nil
		}
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: hdr.ID, Response: true, Authoritative: true})
		b.StartQuestions()
		b.Question(q)
		b.StartAnswers()
		if q.Type == dnsmessage.TypeA && slices.ContainsFunc(domains, func(d string) bool { return strings.EqualFold(q.Name.String(), d+".") }) {
			b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: [4]byte(addr.To4())})
		}
		msg, _ := b.Finish()
		return msg
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				for {
					var n [2]byte
					if _, err := io.ReadFull(conn, n[:]); err != nil {
						return
					}
					query := make([]byte, int(n[0])<<8|int(n[1]))
					if _, err := io.ReadFull(conn, query); err != nil {
						return
					}
					msg := answer(query)
					if msg == nil {
						return
					}
					conn.Write(append([]byte{byte(len(msg) >> 8), byte(len(msg))}, msg...))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// acmeServer is a running Pebble: its directory URL and the roots the
// certificates it issues chain to.
type acmeServer struct {
	Directory string
	Roots     *x509.CertPool
}

// startPebble runs Pebble on host, serving its API with a certificate
// from ca, validating challenges on ports 80 and 443 of whatever dnsAddr
// resolves names to.
func startPebble(ctx context.Context, t *testing.T, bin string, ca *testCA, host net.IP, dnsAddr string) acmeServer {
	t.Helper()
	dir := t.TempDir()
	certPEM, keyPEM := ca.issue(t, host.String())
	port := func() string {
		ln, err := net.Listen("tcp", net.JoinHostPort(host.String(), "0"))
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		_, p, _ := net.SplitHostPort(ln.Addr().String())
		return p
	}
	api, mgmt := net.JoinHostPort(host.String(), port()), net.JoinHostPort(host.String(), port())
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress": api, "managementListenAddress": mgmt,
		"certificate": writeFile(t, "pebble.pem", certPEM), "privateKey": writeFile(t, "pebble.key", keyPEM),
		"httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": false,
	}}
	b, _ := json.Marshal(conf)
	confFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(confFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "pebble.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", confFile, "-dnsserver", dnsAddr)
	// No random sleeps before validating, no nonces refused at random.
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("pebble's log:\n%s", b)
		}
	})
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
	var roots []byte
	for deadline := time.Now().Add(time.Minute); ; {
		resp, err := hc.Get("https://" + mgmt + "/roots/0")
		if err == nil {
			roots, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("pebble did not start: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(roots) {
		t.Fatalf("pebble's root is not PEM: %.200s", roots)
	}
	return acmeServer{Directory: "https://" + api + "/dir", Roots: pool}
}

// journal is a unit's journal inside the root, for failure messages.
func journal(root, unit string) string {
	out, err := exec.Command("journalctl", "--root="+root, "-u", unit, "--no-pager", "-n", "60").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("%v: %s", err, out)
	}
	return string(out)
}
