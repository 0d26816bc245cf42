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
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/tools"
	"github.com/lifeboat-social/lifeboat/provision"
)

func TestMain(m *testing.M) { gtstest.Main(m) }

// standIns points cfg's waits at stand-ins on loopback for the server the
// fake "creates": a DNS server answering with the fake's addresses, an
// HTTPS server with a certificate for the group's domain answering
// /api/v2/instance (and passing everything else to backend, a real
// GoToSocial, when given), and an SSH server with the group's pinned host
// key that serves commands with handle.
func standIns(t *testing.T, f *hcloudfake.Fake, cfg *Config, handle sshHandler, backend string) *sshServer {
	t.Helper()
	domain := cfg.Group.Destination.Domain
	keys, err := loadKeys(cfg.Dir) // made now so the stand-in knows the host key
	if err != nil {
		t.Fatal(err)
	}
	host, _ := ssh.ParsePrivateKey([]byte(keys.HostPEM))
	sshSrv := startSSHHandler(t, host, keys.Client.PublicKey(), handle)

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
	var proxy http.Handler = http.NotFoundHandler()
	if backend != "" {
		u, err := url.Parse(backend)
		if err != nil {
			t.Fatal(err)
		}
		proxy = &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) }}
	}
	web := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v2/instance" {
			fmt.Fprintf(w, `{"domain":%q}`, domain)
			return
		}
		proxy.ServeHTTP(w, r)
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
func checkAdminToken(t *testing.T, c *fedi.Client, token, username string) {
	t.Helper()
	ctx := context.Background()
	c = c.WithToken(token)
	me, err := c.VerifyCredentials(ctx)
	if err != nil || me.Username != username {
		t.Fatalf("verify credentials: %+v, %v", me, err)
	}
	if _, err := c.PendingAccounts(ctx); err != nil {
		t.Fatalf("the admin token cannot use the admin API: %v", err)
	}
}

// TestDestinationGoToSocial runs Start end to end: apply against the fake
// with real Terraform; the waits against the stand-ins; then, over a real
// SSH connection whose commands really run here, the wait for first boot,
// the copy of the real account maker and the admin made by it in a real
// GoToSocial (the stand-in HTTPS server for the group's domain passes to
// it); the admin token through GoToSocial's OAuth sign-in forms; and a
// member's account made over SSH. Then: a second Start reuses server,
// maker and token; Attach connects without applying; a token that no
// longer works is replaced; a wrong password fails clearly; no secret was
// ever in an SSH command.
func TestDestinationGoToSocial(t *testing.T) {
	f := hcloudfake.New().Start()
	defer f.Close()
	ctx := context.Background()
	cfg := fakeConfig(t, f, groups.SoftwareGoToSocial, 0)
	cfg.AdminUser = "cloudadmin"
	gts, real := gtstest.Server(t)
	installed, err := tools.New().GoToSocial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var arches []string
	cfg.AccountsBin = func(_ context.Context, goarch string) (string, error) {
		arches = append(arches, goarch)
		return installed.AccountsBin, nil
	}
	remote := t.TempDir() // the server's disk
	cfg.Layout = Layout{Ready: filepath.Join(remote, "ready"), AdminJSON: filepath.Join(remote, "admin.json"),
		GTSConfig: gts.ConfigPath(), MakerDir: filepath.Join(remote, "opt", "lifeboat")}
	var (
		mu       sync.Mutex
		commands []string
	)
	shell := shellHandler(nil)
	standIns(t, f, &cfg, func(n int, cmd string, ch ssh.Channel) int {
		mu.Lock()
		commands = append(commands, cmd)
		mu.Unlock()
		return shell(n, cmd, ch)
	}, real.URL)
	count := func(part string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, c := range commands {
			if strings.Contains(c, part) {
				n++
			}
		}
		return n
	}
	// First boot finishes a little after the server answers.
	time.AfterFunc(300*time.Millisecond, func() { os.WriteFile(cfg.Layout.Ready, nil, 0o600) })
	api := fedi.New("https://"+cfg.Group.Destination.Domain, fedi.WithHTTPClient(cfg.Wait.HTTP))

	rec := &recorder{}
	d := NewDestination(cfg)
	// Before up, the group cannot launch onto the server, and the reason
	// names the command.
	if ok, missing, err := d.Ready(ctx); err != nil || ok || !strings.Contains(missing, "run lifeboat up") {
		t.Fatalf("before up: Ready = %v, %q, %v; want false naming lifeboat up", ok, missing, err)
	}
	srv, err := d.Start(ctx, rec.emit)
	if err != nil {
		t.Fatal(err)
	}
	// After up, it is ready: the state, the credentials and the server
	// answering over verified HTTPS.
	if ok, missing, err := NewDestination(cfg).Ready(ctx); err != nil || !ok || missing != "" {
		t.Fatalf("after up: Ready = %v, %q, %v; want true", ok, missing, err)
	}
	if srv.URL != "https://"+cfg.Group.Destination.Domain || srv.Software != groups.SoftwareGoToSocial || srv.Accounts == nil {
		t.Fatalf("server = %+v", srv)
	}
	checkAdminToken(t, api, srv.AdminToken, "cloudadmin")
	if res := d.Result(); !res.Waited || res.ServerID == "" || len(f.Servers()) != 1 {
		t.Fatalf("result = %+v", res)
	}
	var steps []string
	for _, e := range rec.events {
		if e.Kind == progress.StepDone {
			steps = append(steps, e.Step)
		}
	}
	if got := strings.Join(steps, ","); got != "preflight,init,apply,dns,tls,first boot,account maker,admin account,admin token" {
		t.Fatalf("steps done: %s", got)
	}
	var copied []string
	for _, e := range rec.events {
		if e.Kind == progress.Advanced && e.Step == "account maker" {
			copied = append(copied, fmt.Sprintf("%d/%d", e.Done, e.Total))
		}
	}
	fi, err := os.Stat(installed.AccountsBin)
	if err != nil {
		t.Fatal(err)
	}
	mb := fi.Size() >> 20
	if len(copied) < 10 || copied[len(copied)-1] != fmt.Sprintf("%d/%d", mb, mb) {
		t.Fatalf("copy progress (MB): %v", copied)
	}
	if strings.Join(arches, ",") != "amd64" {
		t.Fatalf("account maker asked for %v, want amd64 (cx23 is x86)", arches)
	}
	want, _, _ := fileSHA256(installed.AccountsBin)
	got, _, err := fileSHA256(filepath.Join(cfg.Layout.MakerDir, "lifeboat-gts-accounts"))
	if err != nil || got != want {
		t.Fatalf("the maker on the server: %v (sha256 %s, want %s)", err, got, want)
	}
	for _, name := range []string{tokenFile, credsFile} {
		fi, err := os.Stat(filepath.Join(cfg.Dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, %v", name, err, fi)
		}
	}
	creds, err := readCredentials(filepath.Join(cfg.Dir, credsFile))
	if err != nil || creds.Username != "cloudadmin" || creds.Email != "quinn+lifeboat-admin@example.org" || creds.URL != srv.URL {
		t.Fatalf("credentials: %+v, %v", creds, err)
	}

	// A member's account, made over SSH, signs in on the real server.
	const pw = "Correct-Horse-Battery-9"
	id, err := srv.Accounts.CreateAccount(ctx, "rosa", "rosa@example.org", pw)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := srv.Accounts.CreateAccount(ctx, "rosa", "rosa@example.org", pw); err != nil || again != id {
		t.Fatalf("a repeated request: %q, %v (want %q)", again, err, id)
	}
	app, err := api.RegisterApp(ctx, "member check", "", []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := api.SignInAndAuthorize(ctx, app, "rosa@example.org", pw); err != nil {
		t.Fatalf("the member cannot sign in: %v", err)
	} else if me, err := api.WithToken(tok).VerifyCredentials(ctx); err != nil || me.Username != "rosa" {
		t.Fatalf("member: %+v, %v", me, err)
	}
	if err := d.Stop(ctx); err != nil || len(f.Servers()) != 1 {
		t.Fatalf("stop: %v, servers %d", err, len(f.Servers()))
	}

	// Again, as a new process would: same server and token; the maker is
	// not copied again.
	posts := countCalls(f, "POST /servers")
	srv2, err := NewDestination(cfg).Start(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if srv2.AdminToken != srv.AdminToken || countCalls(f, "POST /servers") != posts || len(f.Servers()) != 1 {
		t.Fatal("a second Start made a new server or token")
	}
	if n := count("gunzip"); n != 1 {
		t.Fatalf("the maker was copied %d times", n)
	}

	// Attach (lifeboat serve) connects to the same server without applying.
	puts := len(f.Calls())
	d4 := NewDestination(cfg)
	srv4, err := d4.Attach(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if srv4.AdminToken != srv.AdminToken || srv4.Accounts == nil || len(f.Calls()) != puts {
		t.Fatalf("attach: %+v; API calls %d → %d", srv4, puts, len(f.Calls()))
	}
	if _, err := srv4.Accounts.CreateAccount(ctx, "sami", "sami@example.org", pw); err != nil {
		t.Fatal(err)
	}
	d4.Stop(ctx)

	// A saved token that no longer signs in is replaced by one that does.
	path := filepath.Join(cfg.Dir, tokenFile)
	if err := atomicfile.Write(path, []byte(fmt.Sprintf(`{"url":%q,"username":"cloudadmin","token":"revoked"}`, srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	srv3, err := NewDestination(cfg).Start(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if srv3.AdminToken == "revoked" {
		t.Fatal("a token that does not verify was reused")
	}
	checkAdminToken(t, api, srv3.AdminToken, "cloudadmin")

	// A wrong password in admin.json: a clear error, no token saved.
	os.Remove(path)
	bad := creds
	bad.Password = "not-the-password-1A!"
	if err := atomicfile.Write(filepath.Join(cfg.Dir, credsFile), []byte(credsJSON(t, bad)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = NewDestination(cfg).Start(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "sign the admin in") {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("a token file was written after a failed sign-in")
	}

	// No password or token was ever in an SSH command.
	for _, secret := range []string{creds.Password, pw, srv.AdminToken, srv3.AdminToken} {
		if n := count(secret); n != 0 {
			t.Errorf("a secret in %d SSH commands", n)
		}
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
	app, err := c.RegisterApp(ctx, "mastodon stand-in", "", provision.AdminScopes)
	if err != nil {
		t.Fatal(err)
	}
	minted, err := c.SignInAndAuthorize(ctx, app, admin.Email, admin.Password)
	if err != nil {
		t.Fatal(err)
	}
	backend := admin.URL
	admin.Software, admin.URL = groups.SoftwareMastodon, "https://"+cfg.Group.Destination.Domain
	admin.Password = "the-mastodon-password" // not used for Mastodon's token
	creds := credsJSON(t, admin)
	var tokenCmds atomic.Int32
	standIns(t, f, &cfg, answers(func(_ int, cmd string) (string, int) {
		switch cmd {
		case credentialsCmd(DefaultLayout()):
			return creds, 0
		case mastodonTokenCmd(admin.Username):
			tokenCmds.Add(1)
			return "W, [2025] WARN -- : some deprecation\n" + tokenMarker + minted + "\n", 0
		}
		return "", 127
	}), backend)

	srv, err := NewDestination(cfg).Start(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, tootctl := srv.Accounts.(*MastodonAccounts); srv.Software != groups.SoftwareMastodon || srv.AdminToken != minted || !tootctl || tokenCmds.Load() != 1 {
		t.Fatalf("server = %+v, token commands %d", srv, tokenCmds.Load())
	}
	checkAdminToken(t, fedi.New(srv.URL, fedi.WithHTTPClient(cfg.Wait.HTTP)), srv.AdminToken, admin.Username)
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
