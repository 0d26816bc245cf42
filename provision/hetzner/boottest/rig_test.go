package boottest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
	"github.com/lifeboat-social/lifeboat/internal/meshcheck"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
)

// rig is everything a boot test sets up before up runs: the tools, the
// example group, the container's network, the test CA and the release
// mirror, the fake API, and up's configuration reaching the container
// only.
type rig struct {
	t          *testing.T
	began      time.Time
	cachedRoot string
	g          *groups.Group
	domain     string
	link       *link
	ca         *testCA
	binSum     string
	fetched    func() map[string]int
	f          *hcloudfake.Fake
	tlsClient  *http.Client
	sshDial    hetzner.DialFunc
	cfg        hetzner.Config
	c          *container // the container booted last
}

func newRig(ctx context.Context, t *testing.T) *rig {
	r := &rig{t: t, began: time.Now()}
	in, root, terraform, mirror := bootTools(ctx, t)
	r.cachedRoot = root
	gts, err := in.GoToSocial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.phase("tools ready")

	g, probs := groups.Load(filepath.Join("..", "..", "..", "examples", "new-hetzner.yaml"))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	r.g, r.domain = g, g.Destination.Domain
	r.link = newLink(t)
	r.ca = newCA(t)
	certPEM, keyPEM := r.ca.issue(t, r.domain)
	releaseDir, binSum := packRelease(t, gts, hetzner.GoToSocialVersion, "amd64")
	releaseURL, fetched := serveMirror(t, r.ca, r.link.Host, releaseDir)
	r.binSum, r.fetched = binSum, fetched
	r.phase("network, CA and release mirror ready at " + releaseURL)

	r.f = hcloudfake.New().Start()
	t.Cleanup(r.f.Close)
	var d net.Dialer
	// The domain and the address the API hands out are the container's,
	// as the DNS records up prints would make them; nothing else is
	// reachable.
	r.tlsClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: r.ca.Pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != r.domain+":443" {
				return nil, fmt.Errorf("the boot test reaches only %s:443, not %s", r.domain, addr)
			}
			return d.DialContext(ctx, network, r.guest("443"))
		},
	}}
	r.sshDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if s := r.f.Servers(); len(s) == 0 || addr != net.JoinHostPort(s[0].PublicNet.IPv4.IP, "22") {
			return nil, fmt.Errorf("the boot test reaches only the server's IPv4 on port 22, not %s", addr)
		}
		return d.DialContext(ctx, network, r.guest("22"))
	}
	r.cfg = hetzner.Config{
		Group: g, Dir: filepath.Join(t.TempDir(), "hetzner"),
		Token: r.f.Token, Endpoint: r.f.URL(), Terraform: terraform, ProviderMirror: mirror,
		SSHFrom: []string{"203.0.113.7/32"}, PollInterval: "50ms",
		AccountsBin: func(ctx context.Context, goarch string) (string, error) {
			return in.GoToSocialAccountsFor(ctx, "linux", goarch)
		},
		Boot: hetzner.BootOptions{
			GoToSocialFrom: releaseURL,
			TLSCertFile:    writeFile(t, "chain.pem", certPEM),
			TLSKeyFile:     writeFile(t, "key.pem", keyPEM),
			TrustCAFile:    writeFile(t, "ca.pem", r.ca.PEM),
		},
		Wait: hetzner.Waits{
			Resolver: apiDNS{r.f, []string{r.domain}}, HTTP: r.tlsClient, SSHDial: r.sshDial,
			Interval: 2 * time.Second, Timeout: 10 * time.Minute,
		},
	}
	return r
}

// phase logs the time since the rig was made.
func (r *rig) phase(what string) { r.t.Logf("%6.1fs  %s", time.Since(r.began).Seconds(), what) }

// guest is the container's address on port.
func (r *rig) guest(port string) string { return net.JoinHostPort(r.link.Guest.String(), port) }

// up runs lifeboat up's Start and, once the API has the server, boots it
// from the user data the API holds, in a fresh overlay of the cached root.
// It returns the destination, the server up returned and the root.
func (r *rig) up(ctx context.Context) (*hetzner.Destination, *provision.Server, string) {
	t := r.t
	dest := hetzner.NewDestination(r.cfg)
	rec := &recorder{done: func(step string) { r.phase("up: " + step + " done") }}
	t.Cleanup(rec.close) // up may still be winding down after a failure
	done := make(chan started, 1)
	go func() {
		srv, err := dest.Start(ctx, rec.emit)
		done <- started{srv, err}
	}()
	server, userData := awaitServer(ctx, t, r.f, done)
	r.phase(fmt.Sprintf("the API has server %d (%s); booting it", server.ID, server.Name))

	root := newRoot(t, r.cachedRoot)
	checkPackages(t, root, userData)
	seed(t, root, server.ID, server.Name, userData, apiSSHKeys(ctx, t, r.f))
	r.c = boot(t, root, r.link)
	var srv *provision.Server
	select {
	case res := <-done:
		if res.err != nil {
			t.Fatalf("up: %v\nsteps: %s\nconsole:\n%s\nfirst boot:\n%s", res.err, rec.steps(), r.c.tail(), readFile(root, "var/log/lifeboat-firstboot.log"))
		}
		srv = res.srv
	case <-r.c.exited:
		t.Fatalf("the container stopped during up\nconsole:\n%s", r.c.tail())
	case <-ctx.Done():
		t.Fatalf("up did not finish in time (steps done: %s)\nconsole:\n%s", rec.steps(), r.c.tail())
	}
	r.phase("up finished: " + rec.steps())
	if got, want := rec.steps(), "preflight,init,apply,dns,tls,first boot,account maker,admin account,admin token"; got != want {
		t.Errorf("steps done: %s, want %s", got, want)
	}
	if srv.URL != "https://"+r.domain || srv.Software != groups.SoftwareGoToSocial || srv.AdminToken == "" || srv.Accounts == nil {
		t.Fatalf("server = %+v", srv)
	}
	return dest, srv, root
}

// arrive brings the group onto srv through the arrival engine (accounts
// over SSH, tokens through the forms), seeds the mesh and reads it back
// from the server. It returns the lead's store, the engine and the
// members as the store keeps them.
func (r *rig) arrive(ctx context.Context, srv *provision.Server) (store.Store, *arrival.Engine, []meshcheck.Member) {
	t, g := r.t, r.g
	st, err := store.Open(ctx, store.Config{Dir: filepath.Join(t.TempDir(), "state")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := escape.SaveGroup(ctx, st, g); err != nil {
		t.Fatal(err)
	}
	// The passwords the test makes for its members are kept the way the
	// demo keeps its own (never in the store).
	logins, err := arrival.OpenLogins(filepath.Join(t.TempDir(), "logins.csv"))
	if err != nil {
		t.Fatal(err)
	}
	eng := arrival.New(arrival.Config{Store: st, Group: g, Server: srv, Client: r.client, Emit: func(progress.Event) {}, Logins: logins})
	for _, m := range g.Members {
		if err := eng.Join(ctx, m.Email, "", ""); err != nil {
			t.Fatalf("%s arrives: %v", m.Email, err)
		}
		if err := eng.SignIn(ctx, m.Email); err != nil {
			t.Fatalf("%s signs in: %v", m.Email, err)
		}
	}
	if err := eng.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	accs, err := st.Accounts().List(ctx, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	var ms []meshcheck.Member
	for _, a := range accs {
		ms = append(ms, meshcheck.Member{Email: a.Email, ID: a.ID, Token: a.Token})
	}
	if len(ms) != len(g.Members) {
		t.Fatalf("%d accounts, want %d", len(ms), len(g.Members))
	}
	if err := meshcheck.Verify(ctx, srv.URL, eng.ListTitle(), ms, fedi.WithHTTPClient(r.tlsClient)); err != nil {
		t.Fatal(err)
	}
	stats, err := eng.Stats(ctx)
	if n := len(g.Members); err != nil || stats.Follows != n*(n-1) || stats.Lists != n || stats.Welcomes != 1 {
		t.Fatalf("mesh stats: %+v, %v", stats, err)
	}
	r.phase(fmt.Sprintf("%d members arrived, %d follows seeded and read back", stats.Arrived, stats.Follows))
	return st, eng, ms
}

// client is an API client reaching the container over TLS with the test CA.
func (r *rig) client(u string) *fedi.Client { return fedi.New(u, fedi.WithHTTPClient(r.tlsClient)) }
