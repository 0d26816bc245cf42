// Package gtsaccounts drives lifeboat-gts-accounts, the account maker
// built from GoToSocial's own source (see internal/tools), on any server
// Lifeboat runs: a local process for the local destination, a command
// over SSH for a new instance. Both speak the same line protocol on the
// process's standard input and output, so passwords never go in argv.
//
// GoToSocial's API sign-up is capped at 10 approved sign-ups a day
// (hard-coded in v0.17.3), which no group of any size fits in; the maker
// creates accounts the way `gotosocial admin account create` does.
package gtsaccounts

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"

	"github.com/lifeboat-social/lifeboat/provision"
)

// ErrUsernameTaken means the username belongs to someone else.
var ErrUsernameTaken = provision.ErrUsernameTaken

// Proc is one running account maker: requests go to its input, one answer
// line each comes from its output.
type Proc interface {
	io.Writer
	// Output is the maker's standard output.
	Output() io.Reader
	// Said is what the maker wrote on standard error so far, for the
	// error when it ends without answering.
	Said() string
	// Close ends the maker (closing its input) and waits for it.
	Close() error
}

// StartFunc starts a maker.
type StartFunc func(ctx context.Context) (Proc, error)

// Maker talks to one long-lived maker process, started on first use:
// opening GoToSocial's database takes seconds. Requests are serialised.
type Maker struct {
	start StartFunc

	mu   chan struct{} // a one-slot semaphore that honours contexts
	proc Proc
	out  *bufio.Scanner
}

// New returns a Maker that starts its process with start.
func New(start StartFunc) *Maker {
	return &Maker{start: start, mu: make(chan struct{}, 1)}
}

// Create sends one request. kind is the maker's answer: "ok" (msg is the
// account id, made now or before for this email), "taken", "broken" (the
// name is held by an unusable account) or "error". err is for the
// transport: the maker could not be started or ended without answering.
//
// A maker that has died since the last request (an SSH connection that
// dropped during weeks of "lifeboat serve") is started again and the
// request sent once more: requests are idempotent, so one that reached
// the old maker is found done by the new one.
func (m *Maker) Create(ctx context.Context, username, email, password string, admin bool) (kind, msg string, err error) {
	if strings.ContainsAny(username+email+password, "\t\n\r") {
		return "error", "tabs and newlines are not allowed in usernames, emails or passwords", nil
	}
	select {
	case m.mu <- struct{}{}:
	case <-ctx.Done():
		return "", "", ctx.Err()
	}
	defer func() { <-m.mu }()
	flag := "0"
	if admin {
		flag = "1"
	}
	line := fmt.Sprintf("%s\t%s\t%s\t%s\n", username, email, password, flag)
	for attempt := 1; ; attempt++ {
		fresh := m.proc == nil
		if fresh {
			p, err := m.start(ctx)
			if err != nil {
				return "", "", fmt.Errorf("start the account maker: %w", err)
			}
			m.proc, m.out = p, bufio.NewScanner(p.Output())
		}
		kind, msg, err = m.ask(line)
		if err == nil || fresh || attempt > 1 || ctx.Err() != nil {
			return kind, msg, err
		}
	}
}

// ask sends one request line to the running maker and reads its answer;
// on failure the maker is stopped, so the next request starts another.
func (m *Maker) ask(line string) (kind, msg string, err error) {
	if _, err := io.WriteString(m.proc, line); err != nil {
		// A maker that dies before reading its input breaks the pipe; what
		// it said on the way out is the useful part of the error.
		return "", "", m.died(err)
	}
	if !m.out.Scan() {
		return "", "", m.died(m.out.Err())
	}
	kind, msg, _ = strings.Cut(m.out.Text(), "\t")
	return kind, msg, nil
}

// died stops the maker and words its end with what it wrote on standard
// error. Said is read after the stop: only once the process has been
// waited for has all of its standard error been copied.
func (m *Maker) died(err error) error {
	p := m.proc
	m.stop()
	said := p.Said()
	if len(said) > 2000 {
		said = "…" + said[len(said)-2000:]
	}
	return fmt.Errorf("account maker ended without answering (%v): %s", err, strings.TrimSpace(said))
}

// CreateAccount makes a confirmed, approved member account
// (provision.AccountMaker). It is idempotent: an account that already
// exists for this username and email is returned as it is.
//
// A sign-up cut off half-way can leave a username held by an account
// without its user, which nobody can ever use; the member then gets the
// next variant (name_2, name_3, …), tried in the same order every run so
// that a retry finds the account it made before.
func (m *Maker) CreateAccount(ctx context.Context, username, email, password string) (string, error) {
	for n := 1; n <= 5; n++ {
		kind, msg, err := m.Create(ctx, variant(username, n), email, password, false)
		if err != nil {
			return "", err
		}
		switch kind {
		case "ok":
			return msg, nil
		case "broken":
			continue
		case "taken":
			return "", fmt.Errorf("%s: %w", username, ErrUsernameTaken)
		default:
			return "", fmt.Errorf("create account %s: %s", username, msg)
		}
	}
	return "", fmt.Errorf("create account %s: the name and its variants are held by broken accounts", username)
}

// CreateAdmin makes (or finds) the admin account, promoted.
func (m *Maker) CreateAdmin(ctx context.Context, username, email, password string) error {
	kind, msg, err := m.Create(ctx, username, email, password, true)
	if err != nil {
		return err
	}
	if kind != "ok" {
		return fmt.Errorf("create the admin account %s: %s: %s", username, kind, msg)
	}
	return nil
}

func variant(username string, n int) string {
	if n == 1 {
		return username
	}
	suffix := fmt.Sprintf("_%d", n)
	if len(username)+len(suffix) > 30 {
		username = username[:30-len(suffix)]
	}
	return username + suffix
}

// stop ends the process; the next request starts a new one.
func (m *Maker) stop() {
	if m.proc == nil {
		return
	}
	m.proc.Close()
	m.proc, m.out = nil, nil
}

// Close ends the process, waiting for the current request.
func (m *Maker) Close() {
	m.mu <- struct{}{}
	m.stop()
	<-m.mu
}

// Exec starts the maker as a local process: bin CONFIG.
func Exec(bin, config string) StartFunc {
	return func(context.Context) (Proc, error) {
		// Not CommandContext: the process outlives the request that
		// started it.
		cmd := exec.Command(bin, config)
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		p := &execProc{cmd: cmd, in: in, out: out}
		cmd.Stderr = &p.stderr
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return p, nil
	}
}

type execProc struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    io.Reader
	stderr Stderr
}

// Stderr collects what a maker writes on standard error: the copying
// goroutine of exec or SSH writes while Said may read.
type Stderr struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *Stderr) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Stderr) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (p *execProc) Write(b []byte) (int, error) { return p.in.Write(b) }
func (p *execProc) Output() io.Reader           { return p.out }
func (p *execProc) Said() string                { return p.stderr.String() }
func (p *execProc) Close() error {
	p.in.Close()
	return p.cmd.Wait()
}
