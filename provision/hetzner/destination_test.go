package hetzner

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/lifeboat-social/lifeboat/fedi"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
	"github.com/lifeboat-social/lifeboat/progress"
)

func TestMain(m *testing.M) { gtstest.Main(m) }

// standIns points cfg's waits at stand-ins on loopback for the server the
// fake "creates": a DNS server answering with the fake's addresses, an
// HTTPS server with a certificate for the group's domain answering
// /api/v2/instance, and an SSH server with the group's pinned host key
// that answers commands with answer.
func standIns(t *testing.T, f *hcloudfake.Fake, cfg *Config, answer func(n int, cmd string) (string, int)) *sshServer {
	t.Helper()
	domain := cfg.Group.Destination.Domain
	keys, err := loadKeys(cfg.Dir) // made now so the stand-in knows the host key
	if err != nil {
		t.Fatal(err)
	}
	host, _ := ssh.ParsePrivateKey([]byte(keys.HostPEM))
	sshSrv := startSSH(t, host, keys.Client.PublicKey(), answer)

	dnsAddr := startDNS(t, func(name string, _ dnsmessage.Type) []net.IP {
		servers := f.Servers()
		if name != domain || len(servers) == 0 {
			return nil
		}
		pn := servers[0].PublicNet
		_, n, _ := net.ParseCIDR(pn.IPv6.IP)
		v6 := append(net.IP(nil), n.IP...)
		v6[15] = 1
		return []net.IP{net.ParseIP(pn.IPv4.IP), v6}
	})

	cert, pool := selfSigned(t, domain)
	web := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"domain":%q}`, domain)
	}))
	web.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	web.StartTLS()
	t.Cleanup(web.Close)
	webAddr := web.Listener.Addr().String()

	var d net.Dialer
	cfg.NoWait = false
	cfg.Wait = Waits{
		Interval: 20 * time.Millisecond, Timeout: 20 * time.Second,
		Resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "udp", dnsAddr)
		}},
		HTTP: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, webAddr)
			},
		}},
		SSHDial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, sshSrv.addr)
		},
	}
	return sshSrv
}

// realAdmin is the admin of the real GoToSocial from gtstest, as
// admin.json would describe it.
func realAdmin(t *testing.T) (Credentials, string) {
	t.Helper()
	dest, srv := gtstest.Server(t)
	email, password := dest.AdminCredentials()
	me, err := fedi.New(srv.URL).WithToken(srv.AdminToken).VerifyCredentials(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return Credentials{Software: groups.SoftwareGoToSocial, URL: srv.URL, Username: me.Username, Email: email, Password: password}, srv.AdminToken
}

func credsJSON(t *testing.T, c Credentials) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkAdminToken: the token signs in as the admin and may use the admin
// API.
func checkAdminToken(t *testing.T, url, token, username string) {
	t.Helper()
	ctx := context.Background()
	c := fedi.New(url).WithToken(token)
	me, err := c.VerifyCredentials(ctx)
	if err != nil || me.Username != username {
		t.Fatalf("verify credentials: %+v, %v", me, err)
	}
	if _, err := c.PendingAccounts(ctx); err != nil {
		t.Fatalf("the admin token cannot use the admin API: %v", err)
	}
}

// TestDestinationGoToSocial runs Start end to end: apply against the fake
// with real Terraform, the waits and the credential fetch against the
// stand-ins, and the admin token from a real GoToSocial (whose URL and
// admin credentials the stand-in's admin.json carries) through its OAuth
// sign-in forms. Then: a second Start reuses server and token; a token
// that no longer works is replaced; Stop leaves the server; a wrong
// password fails clearly.
func TestDestinationGoToSocial(t *testing.T) {
	f := hcloudfake.New().Start()
	defer f.Close()
	cfg := fakeConfig(t, f, groups.SoftwareGoToSocial, 0)
	admin, sharedToken := realAdmin(t)
	creds := credsJSON(t, admin)
	var (
		mu       sync.Mutex
		commands []string
	)
	standIns(t, f, &cfg, func(_ int, cmd string) (string, int) {
		mu.Lock()
		defer mu.Unlock()
		commands = append(commands, cmd)
		if cmd != credentialsCmd {
			return "", 127
		}
		return creds, 0
	})
	ctx := context.Background()

	rec := &recorder{}
	d := NewDestination(cfg)
	srv, err := d.Start(ctx, rec.emit)
	if err != nil {
		t.Fatal(err)
	}
	if srv.URL != admin.URL || srv.Software != groups.SoftwareGoToSocial || srv.Accounts != nil {
		t.Fatalf("server = %+v", srv)
	}
	if srv.AdminToken == "" || srv.AdminToken == sharedToken {
		t.Fatal("Start did not make its own admin token")
	}
	checkAdminToken(t, srv.URL, srv.AdminToken, admin.Username)
	if res := d.Result(); !res.Waited || res.ServerID == "" || len(f.Servers()) != 1 {
		t.Fatalf("result = %+v", res)
	}
	var steps []string
	for _, e := range rec.events {
		if e.Kind == progress.StepDone {
			steps = append(steps, e.Step)
		}
	}
	if got := strings.Join(steps, ","); got != "preflight,init,apply,dns,tls,credentials,admin token" {
		t.Fatalf("steps done: %s", got)
	}
	path := filepath.Join(cfg.Dir, tokenFile)
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), srv.AdminToken) {
		t.Fatalf("saved token: %q, %v", b, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %v", tokenFile, fi.Mode().Perm())
	}
	// Nothing secret went to the server as a command.
	mu.Lock()
	for _, c := range commands {
		if strings.Contains(c, admin.Password) || strings.Contains(c, srv.AdminToken) {
			t.Errorf("a secret in an SSH command: %q", c)
		}
	}
	mu.Unlock()

	// Again, as a new process would: same server, same token.
	posts := countCalls(f, "POST /servers")
	srv2, err := NewDestination(cfg).Start(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if srv2.AdminToken != srv.AdminToken || countCalls(f, "POST /servers") != posts || len(f.Servers()) != 1 {
		t.Fatal("a second Start made a new server or token")
	}

	// A saved token that no longer signs in is replaced by one that does.
	if err := atomicfile.Write(path, []byte(fmt.Sprintf(`{"url":%q,"username":%q,"token":"revoked"}`, admin.URL, admin.Username)), 0o600); err != nil {
		t.Fatal(err)
	}
	d3 := NewDestination(cfg)
	srv3, err := d3.Start(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if srv3.AdminToken == "revoked" {
		t.Fatal("a token that does not verify was reused")
	}
	checkAdminToken(t, srv3.URL, srv3.AdminToken, admin.Username)

	// Stop leaves the cloud server running.
	if err := d3.Stop(ctx); err != nil || len(f.Servers()) != 1 {
		t.Fatalf("stop: %v, servers %d", err, len(f.Servers()))
	}

	// Wrong password in admin.json: a clear error, no token saved.
	os.Remove(path)
	bad := admin
	bad.Password = "not-the-password-1A!"
	mu.Lock()
	creds = credsJSON(t, bad)
	mu.Unlock()
	_, err = NewDestination(cfg).Start(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "sign the admin in") {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("a token file was written after a failed sign-in")
	}

	if err := New(cfg).Down(ctx, nil); err != nil || !f.Empty() {
		t.Fatalf("down: %v, left %v", err, f.Counts())
	}
}

// TestDestinationMastodon: for Mastodon the token is made on the server
// over SSH. The stand-in answers the token command as the server would,
// with a token that really works (one the real GoToSocial issued to its
// admin, since no Mastodon runs here), after Rails' own noise.
func TestDestinationMastodon(t *testing.T) {
	f := hcloudfake.New().Start()
	defer f.Close()
	cfg := fakeConfig(t, f, groups.SoftwareMastodon, 0)
	admin, _ := realAdmin(t)
	ctx := context.Background()
	c := fedi.New(admin.URL)
	app, err := c.RegisterApp(ctx, "mastodon stand-in", "", AdminScopes)
	if err != nil {
		t.Fatal(err)
	}
	minted, err := c.SignInAndAuthorize(ctx, app, admin.Email, admin.Password)
	if err != nil {
		t.Fatal(err)
	}
	admin.Software = groups.SoftwareMastodon
	admin.Password = "the-mastodon-password" // not used for Mastodon's token
	creds := credsJSON(t, admin)
	var tokenCmds atomic.Int32
	standIns(t, f, &cfg, func(_ int, cmd string) (string, int) {
		switch cmd {
		case credentialsCmd:
			return creds, 0
		case mastodonTokenCmd(admin.Username):
			tokenCmds.Add(1)
			return "W, [2025] WARN -- : some deprecation\n" + tokenMarker + minted + "\n", 0
		}
		return "", 127
	})

	srv, err := NewDestination(cfg).Start(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Software != groups.SoftwareMastodon || srv.AdminToken != minted || tokenCmds.Load() != 1 {
		t.Fatalf("server = %+v, token commands %d", srv, tokenCmds.Load())
	}
	checkAdminToken(t, srv.URL, srv.AdminToken, admin.Username)
	if _, err := NewDestination(cfg).Start(ctx, nil); err != nil || tokenCmds.Load() != 1 {
		t.Fatalf("second start: %v, token commands %d (want the saved token reused)", err, tokenCmds.Load())
	}
	if err := New(cfg).Down(ctx, nil); err != nil || !f.Empty() {
		t.Fatalf("down: %v, left %v", err, f.Counts())
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, tokenFile)); err == nil {
		t.Fatal("down left the admin token")
	}
}

func TestDestinationNeedsWaits(t *testing.T) {
	cfg := Config{Group: testGroup(groups.SoftwareGoToSocial), Dir: t.TempDir(), NoWait: true}
	if _, err := NewDestination(cfg).Start(context.Background(), nil); !errors.Is(err, ErrNotReady) {
		t.Fatalf("err = %v, want ErrNotReady", err)
	}
}

func TestMastodonTokenCmd(t *testing.T) {
	cmd := mastodonTokenCmd("admin")
	// One single-quoted argument to the shell: no quote inside the Ruby.
	ruby := strings.TrimSuffix(cmd[strings.Index(cmd, "'")+1:], "'")
	if strings.Contains(ruby, "'") || !strings.HasPrefix(cmd, "cd /opt/mastodon && docker-compose exec -T web bin/rails runner '") {
		t.Fatalf("cmd = %s", cmd)
	}
	for _, want := range []string{`Account.find_local!("admin")`, `"read write follow admin:read admin:write"`, tokenMarker} {
		if !strings.Contains(ruby, want) {
			t.Errorf("ruby lacks %s: %s", want, ruby)
		}
	}
	if usernameRE.MatchString(`admin"); system("id`) {
		t.Fatal("a username with quotes passes")
	}
}

func TestCredentialsCheck(t *testing.T) {
	ok := Credentials{Software: "gotosocial", URL: "https://social.example.org", Username: "admin", Email: "a@example.org", Password: "pw"}
	cases := []struct {
		name   string
		change func(*Credentials)
		want   string // "" for valid
	}{
		{"https", func(*Credentials) {}, ""},
		{"loopback http", func(c *Credentials) { c.URL = "http://127.0.0.1:8080" }, ""},
		{"plain http", func(c *Credentials) { c.URL = "http://social.example.org" }, "unencrypted"},
		{"no password", func(c *Credentials) { c.Password = "" }, "missing"},
		{"not a URL", func(c *Credentials) { c.URL = "social.example.org" }, "not a server address"},
		{"other scheme", func(c *Credentials) { c.URL = "ftp://social.example.org" }, "not http"},
	}
	for _, tc := range cases {
		c := ok
		tc.change(&c)
		err := c.check()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
