package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/progress"
)

// Repo is a restic repository and what opens it. Its password and the
// bucket's keys are secrets: they reach restic through its environment
// and a 0600 file, never its command line.
type Repo struct {
	// Location is an absolute path, or s3:https://HOST/BUCKET[/PREFIX]
	// for an S3-compatible bucket (s3:http:// only on loopback).
	Location string
	// PasswordFile holds the repository's password (0600). When it does
	// not exist and neither does the repository, the first backup makes
	// both.
	PasswordFile string
	S3           S3Keys
	// CacheDir is restic's cache (it speeds up a bucket).
	CacheDir string
}

// S3Keys are a bucket's access key (sensitive).
type S3Keys struct{ KeyID, Secret string }

// Restic runs the restic binary on one repository.
type Restic struct {
	Bin  string
	Repo Repo
	// Emit receives what restic says on stderr as it says it (such as
	// retrying a bucket that does not answer), as log lines.
	Emit progress.Func
}

// ParseLocation checks a repository location and makes a path absolute.
func ParseLocation(s string) (string, error) {
	s = strings.TrimSpace(s)
	bad := func(why string) (string, error) {
		return "", inputErr(ErrLocation, "%q: %s; want an absolute path or s3:https://HOST/BUCKET[/PREFIX]", s, why)
	}
	switch {
	case s == "":
		return bad("empty")
	case len(s) > 1024:
		return bad("longer than 1024 characters")
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return bad("it holds control characters")
	case strings.HasPrefix(s, "s3:"):
		u, err := url.Parse(strings.TrimPrefix(s, "s3:"))
		if err != nil || u.Host == "" || strings.Trim(u.Path, "/") == "" || u.User != nil || u.RawQuery != "" {
			return bad("not a bucket address")
		}
		ip := net.ParseIP(u.Hostname())
		if u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "localhost" || ip != nil && ip.IsLoopback())) {
			return bad("a bucket is reached over https (plain http only on this machine)")
		}
		return s, nil
	case strings.Contains(s, ":") && !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "."):
		return bad("only local paths and S3-compatible buckets are supported")
	}
	abs, err := filepath.Abs(s)
	if err != nil {
		return bad(err.Error())
	}
	return abs, nil
}

// IsBucket reports whether a location is a bucket.
func IsBucket(location string) bool { return strings.HasPrefix(location, "s3:") }

// env is restic's whole environment: the inherited one without any
// restic or AWS setting (a RESTIC_PASSWORD there would win over the
// file), then the repository's.
func (r *Restic) env(passwordFile string) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "RESTIC_") || strings.HasPrefix(kv, "AWS_")
	})
	env = append(env, "RESTIC_REPOSITORY="+r.Repo.Location, "RESTIC_PASSWORD_FILE="+passwordFile)
	if r.Repo.CacheDir != "" {
		env = append(env, "RESTIC_CACHE_DIR="+r.Repo.CacheDir)
	} else {
		env = append(env, "RESTIC_CACHE_DIR="+filepath.Join(os.TempDir(), "lifeboat-restic-cache"))
	}
	if IsBucket(r.Repo.Location) {
		env = append(env, "AWS_ACCESS_KEY_ID="+r.Repo.S3.KeyID, "AWS_SECRET_ACCESS_KEY="+r.Repo.S3.Secret)
	}
	return env
}

// Exit codes restic documents (0.17 and later).
const (
	exitNoRepo        = 10
	exitLocked        = 11
	exitWrongPassword = 12
)

// command is a restic command on the repository, its stderr kept
// (bounded) for errors.
func (r *Restic) command(ctx context.Context, passwordFile string, args ...string) (*exec.Cmd, *limited) {
	cmd := exec.CommandContext(ctx, r.Bin, args...)
	cmd.Env = r.env(passwordFile)
	stderr := &limited{max: maxStderr, emit: r.Emit}
	cmd.Stderr = stderr
	return cmd, stderr
}

// run runs a restic command and returns its output (bounded).
func (r *Restic) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd, stderr := r.command(ctx, r.Repo.PasswordFile, args...)
	out := &limited{max: 64 << 20}
	cmd.Stdout = out
	err := r.explain(args[0], cmd.Run(), stderr)
	return out.Bytes(), err
}

// explain turns restic's exit codes into typed errors.
func (r *Restic) explain(what string, err error, stderr *limited) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		switch ee.ExitCode() {
		case exitWrongPassword:
			return inputErr(ErrWrongPassword, "the password in %s does not open the repository %s", r.Repo.PasswordFile, r.Repo.Location)
		case exitLocked:
			return fmt.Errorf("restic %s: %w (the repository is locked by another restic)", what, ErrBusy)
		}
	}
	if said := strings.TrimSpace(stderr.String()); said != "" {
		return fmt.Errorf("restic %s: %w\n%s", what, err, said)
	}
	return fmt.Errorf("restic %s: %w", what, err)
}

// ensure opens the repository, making it (and its password, when there
// is none yet) if it does not exist. It tries init first: init makes a
// missing bucket and refuses a repository that exists without writing,
// whereas asking a missing bucket for the repository's config is retried
// by restic for fifteen minutes.
func (r *Restic) ensure(ctx context.Context) error {
	if err := r.checkKeys(); err != nil {
		return err
	}
	pw := r.Repo.PasswordFile
	_, err := os.Stat(pw)
	made := errors.Is(err, fs.ErrNotExist)
	if err != nil && !made {
		return err
	}
	if made {
		// A new password, kept only if it makes the repository.
		if err := os.MkdirAll(filepath.Dir(pw), 0o700); err != nil {
			return err
		}
		tmp, err := os.CreateTemp(filepath.Dir(pw), ".password-")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		b := make([]byte, 32)
		rand.Read(b)
		_, err = tmp.WriteString(base64.RawURLEncoding.EncodeToString(b) + "\n")
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		pw = tmp.Name()
	}
	cmd, stderr := r.command(ctx, pw, "init")
	cmd.Stdout = io.Discard
	initErr := cmd.Run()
	if initErr == nil {
		if made {
			return os.Rename(pw, r.Repo.PasswordFile)
		}
		return nil
	}
	// It exists (or init failed): does the password open it?
	probe, _ := r.command(ctx, pw, "cat", "config")
	probe.Stdout = io.Discard
	err = probe.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && ee.ExitCode() == exitWrongPassword && made:
		return inputErr(ErrNoPassword, "the repository %s exists and %s does not: set LIFEBOAT_BACKUP_PASSWORD_FILE to the file you keep its password in", r.Repo.Location, r.Repo.PasswordFile)
	case errors.As(err, &ee) && ee.ExitCode() == exitWrongPassword:
		return r.explain("cat config", err, stderr)
	}
	return r.explain("init", initErr, stderr)
}

// unlock removes locks left by restic processes that no longer run.
func (r *Restic) unlock(ctx context.Context) error {
	_, err := r.run(ctx, "unlock")
	return err
}

// The tags a backup carries: what restore checks before it touches a
// server.
const (
	tagLifeboat = "lifeboat"
	tagGroup    = "group:"
	tagDomain   = "domain:"
	// archiveName is the backup's one file in the snapshot.
	archiveName = "gotosocial.tar"
)

// running is a restic process fed or read by the caller.
type running struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.Reader
	out    *limited
	stderr *limited
	r      *Restic
	what   string
}

// kill stops restic at once: the signal is delivered before the process
// runs again, so a backup killed before its input is closed saves
// nothing.
func (p *running) kill() {
	p.cmd.Process.Kill()
	if p.stdin != nil {
		p.stdin.Close()
	}
	p.cmd.Wait()
}

// wait waits for restic to exit.
func (p *running) wait() error { return p.r.explain(p.what, p.cmd.Wait(), p.stderr) }

// start starts a restic command whose input (backup) or output (dump)
// the caller streams.
func (r *Restic) start(ctx context.Context, feed bool, args ...string) (*running, error) {
	cmd, stderr := r.command(ctx, r.Repo.PasswordFile, args...)
	p := &running{cmd: cmd, stderr: stderr, r: r, what: args[0]}
	var err error
	if feed {
		p.out = &limited{max: 1 << 20}
		cmd.Stdout = p.out
		p.stdin, err = cmd.StdinPipe()
	} else {
		p.stdout, err = cmd.StdoutPipe()
	}
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start restic: %w", err)
	}
	return p, nil
}

// startBackup starts restic reading one archive from its standard input.
func (r *Restic) startBackup(ctx context.Context, tags []string, host string) (*running, error) {
	return r.start(ctx, true, "backup", "--stdin", "--stdin-filename", archiveName,
		"--tag", strings.Join(tags, ","), "--host", host, "--json", "--quiet")
}

// finish closes the archive and returns the snapshot restic saved.
func (p *running) finish() (Snapshot, error) {
	p.stdin.Close()
	if err := p.wait(); err != nil {
		return Snapshot{}, err
	}
	var sum struct {
		MessageType string `json:"message_type"`
		SnapshotID  string `json:"snapshot_id"`
		Bytes       int64  `json:"total_bytes_processed"`
	}
	for _, line := range bytes.Split(p.out.Bytes(), []byte("\n")) {
		if json.Unmarshal(line, &sum) == nil && sum.MessageType == "summary" && sum.SnapshotID != "" {
			return Snapshot{ID: sum.SnapshotID, Short: sum.SnapshotID[:min(8, len(sum.SnapshotID))], Bytes: sum.Bytes}, nil
		}
	}
	return Snapshot{}, errors.New("restic backup: no snapshot in its summary")
}

// startDump starts restic writing a snapshot's archive to its output.
func (r *Restic) startDump(ctx context.Context, id string) (*running, error) {
	return r.start(ctx, false, "dump", id, "/"+archiveName)
}

// List returns the group's backups in the repository, oldest first.
func (r *Restic) List(ctx context.Context, group string) ([]Snapshot, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	out, err := r.run(ctx, "snapshots", "--json", "--tag", tagLifeboat+","+tagGroup+group)
	if err != nil {
		return nil, err
	}
	var raw []struct {
		ID      string   `json:"id"`
		ShortID string   `json:"short_id"`
		Time    string   `json:"time"`
		Tags    []string `json:"tags"`
		Summary struct {
			Bytes int64 `json:"total_bytes_processed"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("restic snapshots: %w", err)
	}
	var snaps []Snapshot
	for _, s := range raw {
		snap := Snapshot{ID: s.ID, Short: s.ShortID, Bytes: s.Summary.Bytes}
		snap.Time, _ = time.Parse(time.RFC3339Nano, s.Time)
		for _, t := range s.Tags {
			if g, ok := strings.CutPrefix(t, tagGroup); ok {
				snap.Group = g
			}
			if d, ok := strings.CutPrefix(t, tagDomain); ok {
				snap.Domain = d
			}
		}
		snaps = append(snaps, snap)
	}
	slices.SortStableFunc(snaps, func(a, b Snapshot) int { return a.Time.Compare(b.Time) })
	return snaps, nil
}

// checkKeys refuses to ask a bucket without its keys.
func (r *Restic) checkKeys() error {
	if IsBucket(r.Repo.Location) && (r.Repo.S3.KeyID == "" || r.Repo.S3.Secret == "") {
		return inputErr(ErrNoCredentials, "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to the bucket's access key")
	}
	return nil
}

// check refuses to open a repository without its password or keys.
func (r *Restic) check() error {
	if err := r.checkKeys(); err != nil {
		return err
	}
	if _, err := os.Stat(r.Repo.PasswordFile); err != nil {
		return inputErr(ErrNoPassword, "%s: set LIFEBOAT_BACKUP_PASSWORD_FILE to the file you keep the repository's password in", r.Repo.PasswordFile)
	}
	return nil
}

// find returns the backup with id (full or short), or the group's
// latest when id is empty.
func (b *Backups) find(ctx context.Context, group, id string) (Snapshot, error) {
	snaps, err := b.Restic.List(ctx, group)
	if err != nil {
		return Snapshot{}, err
	}
	if id == "" {
		if len(snaps) == 0 {
			return Snapshot{}, inputErr(ErrNoSnapshot, "the repository %s holds no backup of %s", b.Restic.Repo.Location, group)
		}
		return snaps[len(snaps)-1], nil
	}
	for _, s := range snaps {
		if s.ID == id || s.Short == id {
			return s, nil
		}
	}
	return Snapshot{}, inputErr(ErrNoSnapshot, "the repository %s holds no backup %q of %s (lifeboat backup --list shows them)", b.Restic.Repo.Location, id, group)
}

// limited keeps at most max bytes written to it, and drops the rest;
// with emit, each line is also sent on as a log line.
type limited struct {
	bytes.Buffer
	max  int
	emit progress.Func
	line []byte
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.max - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(room, len(p))])
	}
	if l.emit != nil {
		l.line = append(l.line, p...)
		for {
			i := bytes.IndexByte(l.line, '\n')
			if i < 0 {
				break
			}
			l.emit.Emit(progress.Event{Kind: progress.Log, Step: "restic", Message: "restic: " + string(l.line[:i])})
			l.line = l.line[i+1:]
		}
		if len(l.line) > maxStderr {
			l.line = l.line[:0]
		}
	}
	return len(p), nil
}
