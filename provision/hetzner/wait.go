package hetzner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/provision/gtsaccounts"
)

// Waits are the steps after apply that need the real server: DNS, TLS and
// the instance API, and SSH. Each is behind a small interface so tests can
// point it at something on loopback.
type Waits struct {
	Resolver Resolver      // default net.DefaultResolver
	HTTP     *http.Client  // default: a client with a 10 s timeout
	SSHDial  DialFunc      // default net.Dialer.DialContext
	Interval time.Duration // between tries; default 10 s
	Timeout  time.Duration // for the whole wait; default 30 min
}

// Resolver looks names up; *net.Resolver is one.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// DialFunc opens a network connection.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func (w Waits) withDefaults() Waits {
	if w.Resolver == nil {
		w.Resolver = net.DefaultResolver
	}
	if w.HTTP == nil {
		w.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if w.SSHDial == nil {
		var d net.Dialer
		w.SSHDial = d.DialContext
	}
	if w.Interval == 0 {
		w.Interval = 10 * time.Second
	}
	if w.Timeout == 0 {
		w.Timeout = 30 * time.Minute
	}
	return w
}

// DNSRecord is a record the lead sets at their DNS provider.
type DNSRecord struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
	TTL   int    `json:"ttl"`
}

func (r DNSRecord) String() string {
	return fmt.Sprintf("%s.\t%d\tIN\t%s\t%s", strings.TrimSuffix(r.Name, "."), r.TTL, r.Type, r.Value)
}

// retry calls try every interval until it succeeds, ctx ends or timeout
// passes; it returns the last error then.
func retry(ctx context.Context, interval, timeout time.Duration, try func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		err := try(ctx)
		var stop backoffStop
		if err == nil || errors.As(err, &stop) {
			return err
		}
		// An attempt cut short by the wait's own deadline says less than
		// the one before it (a refused certificate, a wrong answer).
		if ctx.Err() == nil || last == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(interval):
		}
	}
}

// ErrDNS: the server's DNS records did not resolve to its addresses in
// time (the lead has not set them yet, or they have not spread).
var ErrDNS = errors.New("the DNS records do not point at the server yet")

// WaitDNS waits until every record resolves to its value.
func WaitDNS(ctx context.Context, w Waits, records []DNSRecord, emit progress.Func) error {
	w = w.withDefaults()
	const step = "dns"
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: step, Total: len(records), Message: "waiting for the DNS records"})
	for i, rec := range records {
		want := net.ParseIP(rec.Value)
		err := retry(ctx, w.Interval, w.Timeout, func(ctx context.Context) error {
			addrs, err := w.Resolver.LookupIPAddr(ctx, rec.Name)
			if err != nil {
				return err
			}
			if slices.ContainsFunc(addrs, func(a net.IPAddr) bool { return a.IP.Equal(want) }) {
				return nil
			}
			return fmt.Errorf("%s resolves to %v, not %s yet", rec.Name, addrs, rec.Value)
		})
		if err != nil {
			return fmt.Errorf("wait for DNS %s %s: %w: %w", rec.Type, rec.Name, ErrDNS, err)
		}
		emit.Emit(progress.Event{Kind: progress.Advanced, Step: step, Item: rec.Type + " " + rec.Name, Done: i + 1, Total: len(records)})
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: step})
	return nil
}

// WaitInstance waits until baseURL answers /api/v2/instance over verified
// TLS with the instance's domain.
func WaitInstance(ctx context.Context, w Waits, baseURL, domain string, emit progress.Func) error {
	w = w.withDefaults()
	const step = "tls"
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: step, Message: "waiting for TLS and " + baseURL + "/api/v2/instance"})
	err := retry(ctx, w.Interval, w.Timeout, func(ctx context.Context) error {
		return checkInstance(ctx, w.HTTP, baseURL, domain)
	})
	if err != nil {
		return fmt.Errorf("wait for %s: %w", baseURL, err)
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: step})
	return nil
}

// checkInstance asks baseURL for /api/v2/instance once: it must answer
// 200 with an instance document of domain.
func checkInstance(ctx context.Context, hc *http.Client, baseURL, domain string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(baseURL, "/")+"/api/v2/instance", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	var inst struct {
		Domain string `json:"domain"`
	}
	if err := json.Unmarshal(body, &inst); err != nil {
		return fmt.Errorf("not an instance document: %w", err)
	}
	if inst.Domain != domain {
		return fmt.Errorf("instance says domain %q, want %q", inst.Domain, domain)
	}
	return nil
}

// SSHTarget is a server reached with the group's key and a pinned host key.
type SSHTarget struct {
	Addr    string // host:port
	User    string
	Signer  ssh.Signer
	HostKey ssh.PublicKey // the only host key accepted
	Dial    DialFunc
}

// ErrHostKey means the server presented a host key other than the pinned one.
var ErrHostKey = errors.New("host key does not match the pinned key")

// connect dials the server and checks its host key. ctx bounds the
// handshake; the connection itself outlives it.
func (t SSHTarget) connect(ctx context.Context) (*ssh.Client, error) {
	dial := t.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	conn, err := dial(ctx, "tcp", t.Addr)
	if err != nil {
		return nil, fmt.Errorf("ssh dial %s: %w", t.Addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	want := t.HostKey.Marshal()
	cfg := &ssh.ClientConfig{
		User: t.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(t.Signer)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if !bytes.Equal(key.Marshal(), want) {
				return fmt.Errorf("%w: got %s", ErrHostKey, ssh.FingerprintSHA256(key))
			}
			return nil
		},
		HostKeyAlgorithms: []string{t.HostKey.Type()},
		Timeout:           30 * time.Second,
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, t.Addr, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh %s: %w", t.Addr, err)
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// Run runs a command over SSH and returns its standard output.
func (t SSHTarget) Run(ctx context.Context, cmd string) ([]byte, error) {
	return t.RunInput(ctx, cmd, nil)
}

// RunInput is Run with stdin as the command's standard input: the way
// secrets and files reach the server, never in the command line.
func (t SSHTarget) RunInput(ctx context.Context, cmd string, stdin io.Reader) ([]byte, error) {
	client, err := t.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()
	sess, err := client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("ssh session: %w", err)
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, &stdout, &stderr
	if err := sess.Run(cmd); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("ssh %q: %w: %s", cmd, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Start starts a long-lived command over SSH and returns it as a
// gtsaccounts.Proc: its input and output are the session's. ctx bounds
// only the connection's set-up.
func (t SSHTarget) Start(ctx context.Context, cmd string) (gtsaccounts.Proc, error) {
	client, err := t.connect(ctx)
	if err != nil {
		return nil, err
	}
	sess, err := client.NewSession()
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("ssh session: %w", err)
	}
	p := &sshProc{client: client, sess: sess}
	sess.Stderr = &p.stderr
	if p.in, err = sess.StdinPipe(); err == nil {
		p.out, err = sess.StdoutPipe()
	}
	if err == nil {
		err = sess.Start(cmd)
	}
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("ssh %q: %w", cmd, err)
	}
	return p, nil
}

// sshProc is a command running over SSH.
type sshProc struct {
	client *ssh.Client
	sess   *ssh.Session
	in     io.WriteCloser
	out    io.Reader
	stderr gtsaccounts.Stderr
}

func (p *sshProc) Write(b []byte) (int, error) { return p.in.Write(b) }
func (p *sshProc) Output() io.Reader           { return p.out }
func (p *sshProc) Said() string                { return p.stderr.String() }
func (p *sshProc) Close() error {
	p.in.Close()
	err := p.sess.Wait()
	p.client.Close()
	return err
}

// credentialsCmd prints the admin credentials (Mastodon: made by first
// boot) once first boot has finished, and fails (to be retried) until then.
func credentialsCmd(l Layout) string {
	return "test -e " + shellQuote(l.Ready) + " && cat " + shellQuote(l.AdminJSON)
}

// Credentials are the admin account: made by Lifeboat for GoToSocial, by
// first boot for Mastodon.
type Credentials struct {
	Software string `json:"software"`
	URL      string `json:"url"`
	Username string `json:"username"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// FetchCredentials waits for first boot to finish and reads the admin
// credentials it made over SSH.
func FetchCredentials(ctx context.Context, w Waits, t SSHTarget, l Layout, emit progress.Func) ([]byte, error) {
	b, err := sshWait(ctx, w, t, "credentials", "fetching the admin credentials over SSH", credentialsCmd(l), func(b []byte) error {
		var c Credentials
		if err := json.Unmarshal(b, &c); err != nil || c.Password == "" {
			return fmt.Errorf("admin.json is not complete yet")
		}
		return nil
	}, emit)
	if err != nil {
		return nil, fmt.Errorf("fetch admin credentials: %w", err)
	}
	return b, nil
}

// sshWait runs cmd over SSH until it succeeds and its output passes check
// (nil: any output), as one progress step. A host key other than the
// pinned one ends the wait at once.
func sshWait(ctx context.Context, w Waits, t SSHTarget, step, msg, cmd string, check func([]byte) error, emit progress.Func) ([]byte, error) {
	w = w.withDefaults()
	if t.Dial == nil {
		t.Dial = w.SSHDial
	}
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: step, Message: msg})
	var out []byte
	err := retry(ctx, w.Interval, w.Timeout, func(ctx context.Context) error {
		b, err := t.Run(ctx, cmd)
		if errors.Is(err, ErrHostKey) {
			return backoffStop{err}
		}
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(b); err != nil {
				return err
			}
		}
		out = b
		return nil
	})
	var stop backoffStop
	if errors.As(err, &stop) {
		err = stop.err
	}
	if err != nil {
		emit.Emit(progress.Event{Kind: progress.Failed, Step: step, Message: err.Error()})
		return nil, err
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: step})
	return out, nil
}

// backoffStop ends a retry loop at once (the host key is wrong: trying
// again will not help and must not be ignored).
type backoffStop struct{ err error }

func (b backoffStop) Error() string { return b.err.Error() }
