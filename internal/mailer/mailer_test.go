package mailer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// testCert makes a self-signed certificate for 127.0.0.1 and a pool that
// trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// authServer is an SMTP server that wants TLS and AUTH PLAIN.
type authServer struct {
	mu      sync.Mutex
	got     []mailbox.Message
	authed  []string
	tlsSeen []bool
}

type authSession struct {
	s    *authServer
	c    *smtp.Conn
	user string
	to   []string
}

func (x *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (x *authSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != "lead" || pass != "s3cret pass" {
			return errors.New("bad credentials")
		}
		x.user = user
		return nil
	}), nil
}
func (x *authSession) Mail(string, *smtp.MailOptions) error {
	if x.user == "" {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (x *authSession) Rcpt(to string, _ *smtp.RcptOptions) error { x.to = append(x.to, to); return nil }
func (x *authSession) Data(r io.Reader) error {
	raw, _ := io.ReadAll(r)
	m, err := mailbox.Parse(raw)
	if err != nil {
		return err
	}
	m.To = x.to
	_, isTLS := x.c.TLSConnectionState()
	x.s.mu.Lock()
	x.s.got = append(x.s.got, m)
	x.s.authed = append(x.s.authed, x.user)
	x.s.tlsSeen = append(x.s.tlsSeen, isTLS)
	x.s.mu.Unlock()
	return nil
}
func (x *authSession) Reset()        {}
func (x *authSession) Logout() error { return nil }

func startAuthServer(t *testing.T, implicit bool) (*authServer, string, *x509.CertPool) {
	t.Helper()
	cert, pool := testCert(t)
	as := &authServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &authSession{s: as, c: c}, nil }))
	srv.Domain = "127.0.0.1"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	var ln net.Listener
	var err error
	if implicit {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return as, ln.Addr().String(), pool
}

func TestSendStartTLSAuth(t *testing.T) {
	for _, sec := range []Security{StartTLS, TLS} {
		t.Run(string(sec), func(t *testing.T) {
			as, addr, pool := startAuthServer(t, sec == TLS)
			s, err := New(Config{Addr: addr, Security: sec, Username: "lead", Password: "s3cret pass",
				From: "River Birders <lifeboat@example.org>", TLSConfig: &tls.Config{RootCAs: pool}})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(context.Background(), Message{To: "ben@example.org", Subject: "Your link — Flussvögel",
				Text: "Hello Ben,\nyour link: https://x.example/p/abc\n", HTML: "<p>Hello Ben</p>"})
			if err != nil {
				t.Fatal(err)
			}
			as.mu.Lock()
			defer as.mu.Unlock()
			if len(as.got) != 1 || as.authed[0] != "lead" || !as.tlsSeen[0] {
				t.Fatalf("got %d mails, authed %v, tls %v", len(as.got), as.authed, as.tlsSeen)
			}
			m := as.got[0]
			if m.Subject != "Your link — Flussvögel" || !strings.Contains(m.Text, "https://x.example/p/abc") || m.HTML != "<p>Hello Ben</p>" {
				t.Fatalf("mail %+v", m)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		_, addr, pool := startAuthServer(t, false)
		s, _ := New(Config{Addr: addr, Username: "lead", Password: "nope", From: "l@example.org", TLSConfig: &tls.Config{RootCAs: pool}})
		err := s.Send(context.Background(), Message{To: "a@example.org", Subject: "x", Text: "x"})
		if err == nil || strings.Contains(err.Error(), "nope") {
			t.Fatalf("err = %v (must fail and not show the password)", err)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		_, addr, _ := startAuthServer(t, false)
		s, _ := New(Config{Addr: addr, Username: "lead", Password: "s3cret pass", From: "l@example.org"})
		if err := s.Send(context.Background(), Message{To: "a@example.org", Subject: "x", Text: "x"}); err == nil {
			t.Fatal("sent to a server with an untrusted certificate")
		}
	})
}

func TestSendPlainToMailbox(t *testing.T) {
	mb, err := mailbox.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	s, err := New(Config{Addr: mb.Addr, Security: None, From: "lifeboat@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), Message{To: "ada@example.org", Subject: "Hi", Text: "only text, line one\nline two=three"}); err != nil {
		t.Fatal(err)
	}
	m := mb.To("ada@example.org")
	if len(m) != 1 || strings.TrimSpace(m[0].Text) != "only text, line one\r\nline two=three" || m[0].HTML != "" {
		t.Fatalf("%q", m)
	}
	if s, _ := New(Config{Addr: mb.Addr, Security: StartTLS, From: "l@example.org"}); s.Send(context.Background(), Message{To: "a@b.org", Subject: "x", Text: "x"}) == nil {
		t.Fatal("starttls required but server lacks it: sent anyway")
	}
}

func TestConfig(t *testing.T) {
	bad := []Config{
		{Addr: "nohost", From: "a@b.c"},
		{Addr: "smtp.example.org:587", From: ""},
		{Addr: "smtp.example.org:587", From: "a@b.c", Security: "ssl"},
		{Addr: "smtp.example.org:25", From: "a@b.c", Security: None, Username: "u", Password: "p"},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("from-file\n"), 0o644)
	if _, err := ReadSecretFile(pw); err == nil {
		t.Fatal("world-readable password file accepted")
	}
	os.Chmod(pw, 0o600)
	p, err := ReadSecretFile(pw)
	if err != nil || p != "from-file" {
		t.Fatalf("%q %v", p, err)
	}
	// A file longer than a secret is refused, not cut to its first 4 KiB.
	long := filepath.Join(dir, "long")
	os.WriteFile(long, []byte(strings.Repeat("x", 4097)), 0o600)
	if p, err := ReadSecretFile(long); err == nil || p != "" {
		t.Fatalf("over-long secret file: %d bytes, %v", len(p), err)
	}
	c := Config{Addr: "smtp.example.org:587", Username: "u", Password: p, From: "a@b.c"}
	if err := c.Validate(); err != nil || c.Security != StartTLS {
		t.Fatalf("%v %s", err, c.Security)
	}
}

func TestBuildRejectsHeaderInjection(t *testing.T) {
	if _, err := Build("a@b.c", Message{To: "x@y.z\r\nBcc: evil@x", Subject: "s", Text: "t"}, time.Now()); err == nil {
		t.Fatal("header injection accepted")
	}
	if _, err := Build("a@b.c", Message{To: "x@y.z", Subject: "s"}, time.Now()); err == nil {
		t.Fatal("mail without text accepted")
	}
}

type countSender struct {
	mu   sync.Mutex
	n    map[string]int
	ids  map[string]string
	fail atomic.Bool
	slow time.Duration
}

func (c *countSender) Send(_ context.Context, m Message) error {
	time.Sleep(c.slow)
	if c.fail.Load() {
		return errors.New("relay down")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n, c.ids = map[string]int{}, map[string]string{}
	}
	c.n[m.To]++
	c.ids[m.To] = m.ID
	return nil
}

func openStore(t *testing.T) store.Store {
	st, err := store.Open(context.Background(), store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestJournalExactlyOnce(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	cs := &countSender{slow: 5 * time.Millisecond}
	j := &Journal{Sender: cs, Steps: st.Journal(), Run: "g"}
	msg := Message{To: "ben@example.org", Subject: "s", Text: "t"}

	// Concurrent senders of one key: one mail.
	var wg sync.WaitGroup
	var sent atomic.Int32
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := j.Send(ctx, "mail:invite:ben", msg)
			if err != nil && !errors.Is(err, ErrInProgress) {
				t.Error(err)
			}
			if ok {
				sent.Add(1)
			}
		}()
	}
	wg.Wait()
	if sent.Load() != 1 || cs.n["ben@example.org"] != 1 {
		t.Fatalf("sent %d, delivered %d", sent.Load(), cs.n["ben@example.org"])
	}
	if ok, err := j.Send(ctx, "mail:invite:ben", msg); ok || err != nil {
		t.Fatalf("resend after done: %v %v", ok, err)
	}

	// A failure is retried later.
	cs.fail.Store(true)
	msg.To = "chloe@example.org"
	if _, err := j.Send(ctx, "mail:invite:chloe", msg); err == nil {
		t.Fatal("failure not reported")
	}
	cs.fail.Store(false)
	if ok, err := j.Send(ctx, "mail:invite:chloe", msg); !ok || err != nil {
		t.Fatalf("retry after failure: %v %v", ok, err)
	}

	// A crash after Start: within the lease nobody sends; after it, the
	// mail goes, with the Message-ID the first attempt had.
	if _, err := st.Journal().Start(ctx, "g", "mail:invite:dev"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	msg.To = "dev@example.org"
	if _, err := j.Send(ctx, "mail:invite:dev", msg); !errors.Is(err, ErrInProgress) {
		t.Fatalf("within lease: %v", err)
	}
	j.Now = func() time.Time { return time.Now().Add(3 * time.Minute) }
	if ok, err := j.Send(ctx, "mail:invite:dev", msg); !ok || err != nil {
		t.Fatalf("after lease: %v %v", ok, err)
	}
	if cs.n["dev@example.org"] != 1 || cs.ids["dev@example.org"] != MessageID("g", "mail:invite:dev") {
		t.Fatalf("dev: %d mails, id %s", cs.n["dev@example.org"], cs.ids["dev@example.org"])
	}
	if done, _ := j.Sent(ctx, "mail:invite:dev"); !done {
		t.Fatal("not marked sent")
	}
}
