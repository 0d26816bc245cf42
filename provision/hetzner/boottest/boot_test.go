package boottest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"

	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/tools"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
)

// budget bounds the whole test below go test's own timeout, so the
// cleanups (container, overlay, namespace) still run when it is reached.
func budget(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := t.Deadline(); ok {
		d = min(d, time.Until(dl)-2*time.Minute)
	}
	return context.WithTimeout(context.Background(), d)
}

// TestCloudInitBootGoToSocial is lifeboat up for a GoToSocial group with a
// real first boot. Terraform (real, with the real hcloud provider) applies
// the module against the fake Hetzner API; the user data the API received
// and the SSH key it holds become a NoCloud seed in a Debian root built from
// Debian's packages, which boots under systemd-nspawn in its own network
// namespace. cloud-init's own modules then do what they do on the server:
// install the pinned host key and root's authorized key, trust the lead's
// CA, write the files and run the first-boot script, which downloads
// GoToSocial from the lead's mirror (the cached build packed as the release
// tarball, with its checksums), checks it and starts it as a systemd
// service serving the lead's certificate. up's own waits and after-boot
// steps run against it unchanged: TLS and /api/v2/instance verified by the
// test CA, first boot over SSH with the pinned host key, the account maker
// copied and the admin made, the admin token through the sign-in forms.
// Then the group's members arrive through the arrival engine (accounts made
// over SSH, tokens through the forms) and the mesh is seeded and read back
// from the server.
func TestCloudInitBootGoToSocial(t *testing.T) {
	ctx, cancel := budget(t, 20*time.Minute)
	defer cancel()
	r := newRig(ctx, t)
	dest, srv, root := r.up(ctx)
	defer dest.Stop(context.Background())
	g, domain := r.g, r.domain

	// What first boot did, seen on the server over SSH as the lead sees it.
	res := dest.Result()
	target := sshTarget(t, res, r.sshDial)
	if out, err := target.Run(ctx, "cloud-init status --long"); err != nil || !strings.Contains(string(out), "status: done") {
		t.Errorf("cloud-init status: %s %v\n%s", out, err, readFile(root, "var/log/cloud-init.log"))
	}
	for cmd, want := range map[string]string{
		"systemctl is-active gotosocial":            "active",
		"systemctl show -p User --value gotosocial": "gotosocial",
		"sha256sum /opt/gotosocial/gotosocial":      r.binSum,
		"hostname":                                  "lifeboat-" + g.Name,
		"stat -c %a:%G /etc/gotosocial/tls/key.pem": "640:gotosocial",
	} {
		out, err := target.Run(ctx, cmd)
		if err != nil {
			t.Errorf("%s: %v", cmd, err)
			continue
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("%s: %q, want it to contain %q", cmd, out, want)
		}
	}
	if out, err := target.Run(ctx, "systemctl --failed --no-legend --plain"); err == nil && len(bytes.TrimSpace(out)) > 0 {
		t.Logf("units failed in the container (not the server's own): %s", out)
	}
	if bundle, err := target.Run(ctx, "cat /etc/ssl/certs/ca-certificates.crt"); err != nil || !holdsCert(bundle, r.ca.cert) {
		t.Errorf("cloud-init's ca_certs did not add the lead's CA to the system's trusted certificates (%v)", err)
	}
	if got := r.fetched(); got["/releases/checksums.txt"] != 1 || got[fmt.Sprintf("/releases/gotosocial_%s_linux_amd64.tar.gz", hetzner.GoToSocialVersion)] != 1 {
		t.Errorf("mirror fetches: %v, want the tarball and checksums.txt once each", got)
	}
	checkCertificate(t, r.ca, r.guest("443"), domain)
	r.phase("first boot checked")

	// The group arrives: accounts over SSH, tokens through the forms, the
	// mesh seeded and read back from the server.
	r.arrive(ctx, srv)
}

// bootTools installs (once) what every boot test needs: the Debian root,
// Terraform and the hcloud provider's mirror.
func bootTools(ctx context.Context, t *testing.T) (in *tools.Installer, root, terraform, mirror string) {
	t.Helper()
	in = tools.New()
	in.Log = testLog{t}
	var err error
	if root, err = in.DebianRoot(ctx); err != nil {
		t.Fatal(err)
	}
	if terraform, err = in.Terraform(ctx); err != nil {
		t.Fatal(err)
	}
	if mirror, err = in.HcloudMirror(ctx); err != nil {
		t.Fatal(err)
	}
	return in, root, terraform, mirror
}

// testLog sends the tools installer's output to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

type recorder struct {
	mu     sync.Mutex
	events []progress.Event
	done   func(step string) // told of each step done, for the timings
	closed bool
}

func (r *recorder) emit(e progress.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	if e.Kind == progress.StepDone && !r.closed {
		r.done(e.Step)
	}
}

// close stops the timings: the test is ending and may log no more.
func (r *recorder) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}

// steps lists the steps done, in order.
func (r *recorder) steps() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []string
	for _, e := range r.events {
		if e.Kind == progress.StepDone {
			s = append(s, e.Step)
		}
	}
	return strings.Join(s, ",")
}

// apiDNS answers for the group's domains with the addresses the API gave
// the server, as the records up prints would once the lead sets them.
type apiDNS struct {
	f       *hcloudfake.Fake
	domains []string
}

func (r apiDNS) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	s := r.f.Servers()
	if !slices.Contains(r.domains, host) || len(s) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	_, v6, err := net.ParseCIDR(s[0].PublicNet.IPv6.IP)
	if err != nil {
		return nil, err
	}
	first := slices.Clone(v6.IP)
	first[len(first)-1] = 1
	return []net.IPAddr{{IP: net.ParseIP(s[0].PublicNet.IPv4.IP)}, {IP: first}}, nil
}

// awaitServer waits until the API has created the server, and returns it
// with the user data it was created with.
func awaitServer(ctx context.Context, t *testing.T, f *hcloudfake.Fake, done <-chan started) (serverInfo, string) {
	t.Helper()
	for {
		if s := f.Servers(); len(s) > 0 {
			if ud := f.UserData(s[0].ID); ud != "" {
				return serverInfo{ID: s[0].ID, Name: s[0].Name}, ud
			}
		}
		select {
		case r := <-done:
			t.Fatalf("up ended before the server existed: %v", r.err)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// started is what up's Start returned.
type started struct {
	srv *provision.Server
	err error
}

type serverInfo struct {
	ID   int64
	Name string
}

// apiSSHKeys reads the project's SSH keys from the API: what Hetzner's
// metadata service hands the server for root's authorized_keys.
func apiSSHKeys(ctx context.Context, t *testing.T, f *hcloudfake.Fake) []string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.URL()+"/ssh_keys", nil)
	req.Header.Set("Authorization", "Bearer "+f.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		SSHKeys []struct {
			PublicKey string `json:"public_key"`
		} `json:"ssh_keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.SSHKeys) == 0 {
		t.Fatalf("the API's SSH keys: %v (%d)", err, len(body.SSHKeys))
	}
	var keys []string
	for _, k := range body.SSHKeys {
		keys = append(keys, k.PublicKey)
	}
	return keys
}

// seed writes the NoCloud seed cloud-init reads on first boot, with what
// Hetzner's datasource would give: the server's id, name and SSH keys, and
// the user data.
func seed(t *testing.T, root string, id int64, name, userData string, keys []string) {
	t.Helper()
	dir := filepath.Join(root, "var", "lib", "cloud", "seed", "nocloud")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	meta, err := yaml.Marshal(map[string]any{"instance-id": fmt.Sprint(id), "local-hostname": name, "public-keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	for file, b := range map[string][]byte{"user-data": []byte(userData), "meta-data": meta} {
		if err := os.WriteFile(filepath.Join(dir, file), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// checkPackages: every package the user data installs is in the root, as
// the container cannot download one (a new package in the template needs
// adding to the root's list in internal/tools).
func checkPackages(t *testing.T, root, userData string) {
	t.Helper()
	var doc struct {
		Packages []string `yaml:"packages"`
	}
	if err := yaml.Unmarshal([]byte(userData), &doc); err != nil || len(doc.Packages) == 0 {
		t.Fatalf("the user data's packages: %v %v", doc.Packages, err)
	}
	for _, p := range doc.Packages {
		out, err := exec.Command("dpkg-query", "--admindir="+filepath.Join(root, "var", "lib", "dpkg"), "-W", "-f=${Status}", p).CombinedOutput()
		if err != nil || string(out) != "install ok installed" {
			t.Fatalf("the cloud-init installs %s, which the Debian root lacks (add it to debianRootPackages in internal/tools): %s", p, out)
		}
	}
}

// sshTarget is the server as up's result describes it: the key file and
// the pinned host key from known_hosts.
func sshTarget(t *testing.T, res hetzner.Result, dial hetzner.DialFunc) hetzner.SSHTarget {
	t.Helper()
	b, err := os.ReadFile(res.SSH.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	kh, err := os.ReadFile(res.SSH.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	_, _, host, _, _, err := ssh.ParseKnownHosts(kh)
	if err != nil {
		t.Fatal(err)
	}
	return hetzner.SSHTarget{Addr: net.JoinHostPort(res.IPv4, "22"), User: res.SSH.User, Signer: signer, HostKey: host, Dial: dial}
}

// checkCertificate: the server serves the lead's certificate for the
// domain, and only a client trusting the lead's CA accepts it.
func checkCertificate(t *testing.T, ca *testCA, addr, domain string) {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: domain, RootCAs: ca.Pool})
	if err != nil {
		t.Fatalf("TLS with the lead's CA: %v", err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	if !slices.Contains(leaf.DNSNames, domain) || leaf.Issuer.CommonName != ca.cert.Subject.CommonName {
		t.Fatalf("served certificate: %v from %v", leaf.DNSNames, leaf.Issuer)
	}
	_, err = tls.Dial("tcp", addr, &tls.Config{ServerName: domain})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("TLS without the lead's CA: %v, want an unknown authority", err)
	}
}

// holdsCert reports whether a PEM bundle holds cert.
func holdsCert(bundle []byte, cert *x509.Certificate) bool {
	for {
		var b *pem.Block
		b, bundle = pem.Decode(bundle)
		if b == nil {
			return false
		}
		if bytes.Equal(b.Bytes, cert.Raw) {
			return true
		}
	}
}

// readFile reads a file inside the root, for failure messages.
func readFile(root, rel string) string {
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return err.Error()
	}
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}
