package hetzner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/provision"
)

// MastodonAccounts makes members' accounts on a Mastodon server Lifeboat
// runs, over SSH, in the compose project the cloud-init template lays
// out. Mastodon has no API to make a ready account (its sign-up waits
// for a confirmed email and the admin), so it is made the way the
// server's admin would: `tootctl accounts create USER --email E
// --confirmed --approve` (lib/mastodon/cli/accounts.rb), which gives the
// account a random password of its own and prints it; that output is
// read by nobody. The member's chosen password is then set by a Rails
// script that reads it from standard input: it is never in a command
// line, a file or a log on either machine.
//
// CreateAccount is idempotent: a retry after a crash finds the account
// (same username, same email) and finishes it.
type MastodonAccounts struct {
	t   sshRunner
	dir string // the compose project
}

// sshRunner runs commands on the server; SSHTarget is one.
type sshRunner interface {
	RunInput(ctx context.Context, cmd string, stdin io.Reader) ([]byte, error)
}

var _ provision.AccountMaker = (*MastodonAccounts)(nil)

// mastodonDir is where the cloud-init template puts Mastodon's compose
// project.
const mastodonDir = "/opt/mastodon"

// NewMastodonAccounts returns the account maker for the server t reaches.
func NewMastodonAccounts(t SSHTarget) *MastodonAccounts {
	return &MastodonAccounts{t: t, dir: mastodonDir}
}

// Markers the password script prints after Rails' own output.
const (
	markAccount = "LIFEBOAT_ACCOUNT="
	markTaken   = "LIFEBOAT_TAKEN="
	markMissing = "LIFEBOAT_MISSING"
)

// tootctlCreateCmd is the tootctl command that makes the account. The
// username is checked against usernameRE and the email shell-quoted.
func (m *MastodonAccounts) tootctlCreateCmd(username, email string) string {
	return "cd " + shellQuote(m.dir) + " && docker-compose exec -T web bin/tootctl accounts create " + shellQuote(username) +
		" --email " + shellQuote(email) + " --confirmed --approve"
}

// passwordRuby finds the local account ARGV[0], checks that its email is
// ARGV[1], sets the password read from standard input, confirms and
// approves it (a crash may have come between tootctl's steps), and
// prints its id; or says which of the two belongs to someone else. No
// single quote inside: the shell gets it as one quoted word.
var passwordRuby = strings.Join([]string{
	`username, email = ARGV[0], ARGV[1].to_s.downcase`,
	`password = $stdin.read.to_s.chomp`,
	`account = Account.find_local(username)`,
	`if account.nil? || account.user.nil?`,
	`  puts(User.find_by(email: email) ? "` + markTaken + `email" : "` + markMissing + `")`,
	`elsif account.user.email.downcase != email`,
	`  puts "` + markTaken + `username"`,
	`else`,
	`  user = account.user`,
	`  user.password = password`,
	`  user.password_confirmation = password`,
	`  user.save!`,
	`  user.confirm unless user.confirmed?`,
	`  user.approve! unless user.approved?`,
	`  puts "` + markAccount + `#{account.id}"`,
	`end`,
}, "\n")

// passwordCmd runs passwordRuby in the web container; the password
// comes on standard input.
func (m *MastodonAccounts) passwordCmd(username, email string) string {
	return "cd " + shellQuote(m.dir) + " && docker-compose exec -T web bin/rails runner " + shellQuote(passwordRuby) +
		" " + shellQuote(username) + " " + shellQuote(email)
}

// ErrEmailElsewhere: the server has an account with the member's email
// under another username.
var ErrEmailElsewhere = errors.New("the email has an account on the server under another username")

// CreateAccount makes (or finishes) the member's account and returns its
// id. A username that belongs to another email fails with
// provision.ErrUsernameTaken.
func (m *MastodonAccounts) CreateAccount(ctx context.Context, username, email, password string) (string, error) {
	if !usernameRE.MatchString(username) {
		return "", fmt.Errorf("make the account: %q is not a Mastodon username", username)
	}
	if strings.ContainsAny(email, "\r\n\x00") || !strings.Contains(email, "@") {
		return "", fmt.Errorf("make the account %s: %q is not an email address", username, email)
	}
	if password == "" {
		return "", fmt.Errorf("make the account %s: no password", username)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute) // Rails boots slowly, twice
	defer cancel()
	// tootctl fails when the account exists (a retry, or someone else's
	// name); the script below tells which, so its failure only counts
	// when the script finds nothing.
	_, createErr := m.t.RunInput(ctx, m.tootctlCreateCmd(username, email), strings.NewReader(""))
	out, err := m.t.RunInput(ctx, m.passwordCmd(username, email), strings.NewReader(password+"\n"))
	if err != nil {
		return "", fmt.Errorf("set the password of %s over SSH: %w", username, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, markAccount) && len(line) > len(markAccount):
			return strings.TrimPrefix(line, markAccount), nil
		case line == markTaken+"username":
			return "", fmt.Errorf("make the account %s: %w", username, provision.ErrUsernameTaken)
		case line == markTaken+"email":
			return "", fmt.Errorf("make the account %s: %w", username, ErrEmailElsewhere)
		case line == markMissing:
			if createErr != nil {
				return "", fmt.Errorf("make the account %s with tootctl: %w", username, createErr)
			}
			return "", fmt.Errorf("make the account %s: tootctl made no account", username)
		}
	}
	return "", fmt.Errorf("make the account %s: the server printed no answer", username)
}
