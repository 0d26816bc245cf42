package hetzner

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
	"github.com/lifeboat-social/lifeboat/internal/progress"
)

// sshServer is a real SSH server on loopback (golang.org/x/crypto/ssh)
// that accepts one client key and answers exec requests with a handler.
type sshServer struct {
	addr  string
	execs atomic.Int32
}

// sshHandler serves one exec request on ch and returns its exit status.
type sshHandler func(n int, cmd string, ch ssh.Channel) int

// startSSH answers exec requests from a table: answer returns the output
// and the exit status.
func startSSH(t *testing.T, host ssh.Signer, client ssh.PublicKey, answer func(n int, cmd string) (string, int)) *sshServer {
	return startSSHHandler(t, host, client, answers(answer))
}

func answers(answer func(n int, cmd string) (string, int)) sshHandler {
	return func(n int, cmd string, ch ssh.Channel) int {
		out, code := answer(n, cmd)
		ch.Write([]byte(out))
		return code
	}
}

// shellHandler runs each command for real with sh -c, its input, output
// and errors on the channel, as sshd would; table answers come first
// (ok false: run it).
func shellHandler(table func(cmd string) (out string, code int, ok bool)) sshHandler {
	return func(_ int, cmd string, ch ssh.Channel) int {
		if table != nil {
			if out, code, ok := table(cmd); ok {
				ch.Write([]byte(out))
				return code
			}
		}
		c := exec.Command("sh", "-c", cmd)
		c.Stdin, c.Stdout, c.Stderr = ch, ch, ch.Stderr()
		if err := c.Run(); err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return ee.ExitCode()
			}
			fmt.Fprintln(ch.Stderr(), err)
			return 127
		}
		return 0
	}
}

func startSSHHandler(t *testing.T, host ssh.Signer, client ssh.PublicKey, handle sshHandler) *sshServer {
	t.Helper()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if string(k.Marshal()) == string(client.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	cfg.AddHostKey(host)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &sshServer{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c, cfg, handle)
		}
	}()
	return s
}

func (s *sshServer) serve(c net.Conn, cfg *ssh.ServerConfig, handle sshHandler) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "no")
			continue
		}
		ch, reqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			defer ch.Close()
			for req := range reqs {
				if req.Type != "exec" {
					req.Reply(false, nil)
					continue
				}
				var p struct{ Cmd string }
				ssh.Unmarshal(req.Payload, &p)
				req.Reply(true, nil)
				n := int(s.execs.Add(1))
				code := handle(n, p.Cmd, ch)
				ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
				return
			}
		}()
	}
}

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	s, err := ssh.NewSignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fastWaits() Waits {
	return Waits{Interval: 20 * time.Millisecond, Timeout: 10 * time.Second}
}

func TestFetchCredentialsPinnedHostKey(t *testing.T) {
	keys := testKeys(t)
	hostSigner, err := ssh.ParsePrivateKey([]byte(keys.HostPEM))
	if err != nil {
		t.Fatal(err)
	}
	const creds = `{"software":"gotosocial","url":"https://social.example","username":"admin","email":"a@example.org","password":"pw"}`
	srv := startSSH(t, hostSigner, keys.Client.PublicKey(), func(n int, cmd string) (string, int) {
		if cmd != credentialsCmd(DefaultLayout()) {
			return "", 127
		}
		if n < 3 { // first boot still running
			return "", 1
		}
		return creds, 0
	})
	target := SSHTarget{Addr: srv.addr, User: "root", Signer: keys.Client, HostKey: keys.HostKey}
	b, err := FetchCredentials(context.Background(), fastWaits(), target, DefaultLayout(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != creds || srv.execs.Load() != 3 {
		t.Fatalf("got %q after %d tries", b, srv.execs.Load())
	}
}

func TestFetchCredentialsRefusesOtherHostKey(t *testing.T) {
	keys := testKeys(t)
	impostor := newSigner(t)
	srv := startSSH(t, impostor, keys.Client.PublicKey(), func(int, string) (string, int) { return `{"password":"stolen"}`, 0 })
	target := SSHTarget{Addr: srv.addr, User: "root", Signer: keys.Client, HostKey: keys.HostKey}
	start := time.Now()
	_, err := FetchCredentials(context.Background(), fastWaits(), target, DefaultLayout(), nil)
	if !errors.Is(err, ErrHostKey) {
		t.Fatalf("err = %v, want ErrHostKey", err)
	}
	if srv.execs.Load() != 0 {
		t.Fatal("a command ran on a server with the wrong host key")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("a wrong host key was retried instead of failing at once")
	}
}

// dnsServer answers A and AAAA queries over UDP on loopback from a map
// that the test changes while the wait runs.
func startDNS(t *testing.T, answers func(name string, typ dnsmessage.Type) []net.IP) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionAvailable: true})
			b.EnableCompression()
			b.StartQuestions()
			b.Question(q)
			b.StartAnswers()
			rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 1}
			for _, ip := range answers(strings.TrimSuffix(q.Name.String(), "."), q.Type) {
				if q.Type == dnsmessage.TypeA && ip.To4() != nil {
					var a [4]byte
					copy(a[:], ip.To4())
					b.AResource(rh, dnsmessage.AResource{A: a})
				}
				if q.Type == dnsmessage.TypeAAAA && ip.To4() == nil {
					var a [16]byte
					copy(a[:], ip.To16())
					b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a})
				}
			}
			out, err := b.Finish()
			if err == nil {
				pc.WriteTo(out, addr)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func TestWaitDNS(t *testing.T) {
	var published atomic.Bool
	addr := startDNS(t, func(name string, typ dnsmessage.Type) []net.IP {
		if name != "social.example.org" {
			return nil
		}
		if !published.Load() {
			return []net.IP{net.ParseIP("192.0.2.99")} // the old address
		}
		return []net.IP{net.ParseIP("198.51.100.4"), net.ParseIP("2001:db8:1::1")}
	})
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
	records := []DNSRecord{
		{Name: "social.example.org", Type: "A", Value: "198.51.100.4", TTL: 300},
		{Name: "social.example.org", Type: "AAAA", Value: "2001:db8:1::1", TTL: 300},
	}
	time.AfterFunc(150*time.Millisecond, func() { published.Store(true) })
	w := fastWaits()
	w.Resolver = r
	var events []string
	err := WaitDNS(context.Background(), w, records, func(e progress.Event) { events = append(events, string(e.Kind)+":"+e.Item) })
	if err != nil {
		t.Fatal(err)
	}
	if !published.Load() {
		t.Fatal("WaitDNS returned before the records were published")
	}
	if got := strings.Join(events, " "); !strings.Contains(got, "advanced:A social.example.org") || !strings.Contains(got, "advanced:AAAA social.example.org") {
		t.Fatalf("events = %s", got)
	}

	// Never published: the wait ends at its timeout with the last answer.
	w.Timeout = time.Second
	err = WaitDNS(context.Background(), w, []DNSRecord{{Name: "other.example.org", Type: "A", Value: "198.51.100.4"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "other.example.org") {
		t.Fatalf("err = %v", err)
	}
}

func TestWaitInstanceOverTLS(t *testing.T) {
	var ready atomic.Bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/instance" || !ready.Load() {
			http.Error(w, "starting", http.StatusBadGateway)
			return
		}
		fmt.Fprint(w, `{"domain":"social.example.org","title":"Valley Cyclists"}`)
	}))
	defer srv.Close()
	time.AfterFunc(100*time.Millisecond, func() { ready.Store(true) })
	w := fastWaits()
	w.HTTP = srv.Client() // trusts the test certificate only
	if err := WaitInstance(context.Background(), w, srv.URL, "social.example.org", nil); err != nil {
		t.Fatal(err)
	}
	// A client that does not trust the certificate never succeeds: TLS is
	// verified, not skipped.
	w.HTTP = &http.Client{Timeout: time.Second}
	// Long enough for a handshake on a loaded machine: the wait must end
	// on the certificate, not on the clock.
	w.Timeout = 3 * time.Second
	err := WaitInstance(context.Background(), w, srv.URL, "social.example.org", nil)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
}

// selfSigned makes a TLS certificate for host and a pool trusting it.
func selfSigned(t *testing.T, host string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, pool
}

// TestUpWaitsAndFetchesCredentials runs Up without NoWait for Mastodon,
// whose first boot makes the admin: the apply
// against the fake, then the DNS wait (a DNS server on loopback that
// answers with the fake's addresses), the TLS and instance wait (an HTTPS
// server with a certificate for the group's domain) and the credential
// fetch (an SSH server with the group's pinned host key). Every address
// the fake hands out is redirected to those stand-ins.
func TestUpWaitsAndFetchesCredentials(t *testing.T) {
	f := hcloudfake.New().Start()
	defer f.Close()
	cfg := fakeConfig(t, f, groups.SoftwareMastodon, 0)
	const creds = `{"software":"mastodon","url":"https://social.valley-cyclists.example","username":"admin","email":"quinn@example.org","password":"pw"}`
	standIns(t, f, &cfg, answers(func(_ int, cmd string) (string, int) { return creds, 0 }), "")
	rec := &recorder{}
	res, err := New(cfg).Up(context.Background(), rec.emit)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Waited || res.Credentials == "" {
		t.Fatalf("result = %+v", res)
	}
	b, err := readSealed(res.Credentials)
	if err != nil || string(b) != creds {
		t.Fatalf("credentials = %q, %v", b, err)
	}
	// The password here ("pw") is too short to look for: the clear
	// document's field names are not there either.
	assertSealed(t, cfg.Dir, `"password"`, `"username"`)
	if fi, _ := os.Stat(res.Credentials); fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials mode %v", fi.Mode().Perm())
	}
	steps := map[string]bool{}
	for _, e := range rec.events {
		if e.Kind == progress.StepDone {
			steps[e.Step] = true
		}
	}
	for _, s := range []string{"preflight", "init", "apply", "dns", "tls", "credentials"} {
		if !steps[s] {
			t.Errorf("step %s did not finish (done: %v)", s, steps)
		}
	}
	if err := New(cfg).Down(context.Background(), nil); err != nil || !f.Empty() {
		t.Fatalf("down: %v, left %v", err, f.Counts())
	}
}
