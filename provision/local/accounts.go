package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// ErrUsernameTaken means the username belongs to someone else.
var ErrUsernameTaken = errors.New("username is taken")

// CreateAccount makes a confirmed, approved account on the server, as
// GoToSocial's own `admin account create` does: the server's API sign-up
// is capped at 10 approved sign-ups a day (hard-coded in v0.17.3), which
// no group of any size fits in. It is idempotent: an account that already
// exists for this username and email is returned as it is.
//
// A sign-up cut off half-way can leave a username held by an account
// without its user, which nobody can ever use; the member then gets the
// next variant (name_2, name_3, …), tried in the same order every run so
// that a retry finds the account it made before.
func (l *Local) CreateAccount(ctx context.Context, username, email, password string) (string, error) {
	for n := 1; n <= 5; n++ {
		kind, msg, err := l.accounts.create(ctx, variant(username, n), email, password, false)
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

// accountMaker talks to one long-lived lifeboat-gts-accounts process (see
// internal/tools): requests on its stdin, one answer line each. Opening
// GoToSocial's database takes seconds, so the process is kept for the
// destination's lifetime. Passwords travel over the pipe, never in argv.
type accountMaker struct {
	bin, config string

	mu     chan struct{} // a one-slot semaphore that honours contexts
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr *strings.Builder // what the process said, for the error if it dies
}

func newAccountMaker(bin, config string) *accountMaker {
	m := &accountMaker{bin: bin, config: config, mu: make(chan struct{}, 1)}
	return m
}

func (m *accountMaker) create(ctx context.Context, username, email, password string, admin bool) (kind, msg string, err error) {
	if strings.ContainsAny(username+email+password, "\t\n") {
		return "error", "tabs and newlines are not allowed in usernames, emails or passwords", nil
	}
	select {
	case m.mu <- struct{}{}:
	case <-ctx.Done():
		return "", "", ctx.Err()
	}
	defer func() { <-m.mu }()
	if m.cmd == nil {
		if err := m.start(); err != nil {
			return "", "", err
		}
	}
	flag := "0"
	if admin {
		flag = "1"
	}
	if _, err := fmt.Fprintf(m.in, "%s\t%s\t%s\t%s\n", username, email, password, flag); err != nil {
		m.stop()
		return "", "", fmt.Errorf("account maker: %w", err)
	}
	if !m.out.Scan() {
		err, said := m.out.Err(), m.stderr.String()
		m.stop()
		return "", "", fmt.Errorf("account maker ended without answering (%v): %s", err, tail(said, 10))
	}
	kind, msg, _ = strings.Cut(m.out.Text(), "\t")
	return kind, msg, nil
}

func (m *accountMaker) start() error {
	cmd := exec.Command(m.bin, m.config)
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr := new(strings.Builder)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the account maker: %w", err)
	}
	m.cmd, m.in, m.out, m.stderr = cmd, in, bufio.NewScanner(out), stderr
	return nil
}

// stop ends the process; the next request starts a new one.
func (m *accountMaker) stop() {
	if m.cmd == nil {
		return
	}
	m.in.Close()
	m.cmd.Wait()
	m.cmd = nil
}

// close ends the process, waiting for the current request.
func (m *accountMaker) close() {
	m.mu <- struct{}{}
	m.stop()
	<-m.mu
}
