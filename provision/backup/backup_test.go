package backup_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/internal/tools"
	"github.com/lifeboat-social/lifeboat/provision/backup"
)

func TestMain(m *testing.M) { gtstest.Main(m) }

// localShell runs the server's commands on this machine, as sshd runs
// them (sh -c).
type localShell struct{}

func (localShell) Stream(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	c.Stdin, c.Stdout, c.Stderr = stdin, stdout, stderr
	return c.Run()
}

// countingService records stops and starts; failStop makes the next
// stop fail, as a crash in the middle of a restore would end it.
type countingService struct {
	mu            sync.Mutex
	stops, starts int
	failStop      bool
}

var errCrash = errors.New("the lead's machine went down")

func (s *countingService) Stop(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failStop {
		s.failStop = false
		return errCrash
	}
	s.stops++
	return nil
}

func (s *countingService) Start(context.Context, progress.Func) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts++
	return nil
}

// events records progress.
type events struct {
	mu  sync.Mutex
	all []progress.Event
}

func (e *events) emit(ev progress.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

// started counts the steps of that name begun.
func (e *events) started(step string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.all {
		if ev.Kind == progress.StepStarted && ev.Step == step {
			n++
		}
	}
	return n
}

func (e *events) text() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, ev := range e.all {
		b.WriteString(ev.Step + " " + ev.Message + "\n")
	}
	return b.String()
}

func restic(t *testing.T) string {
	t.Helper()
	bin, err := tools.New().Restic(context.Background())
	if err != nil {
		t.Fatalf("build restic: %v", err)
	}
	return bin
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Dir: filepath.Join(t.TempDir(), "state")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// sqliteServer is a server's data without GoToSocial: an SQLite
// database with a table of follows and one media file, laid out as on a
// server, under the test's directory.
func sqliteServer(t *testing.T, svc backup.Service) (backup.Server, []byte) {
	t.Helper()
	dir := t.TempDir()
	l := backup.Layout{DB: filepath.Join(dir, "lib", "sqlite.db"), Storage: filepath.Join(dir, "lib", "storage"), Work: filepath.Join(dir, "work")}
	media := []byte(rand.Text() + rand.Text())
	mustRun(t, "mkdir", "-p", filepath.Join(l.Storage, "01ACCOUNT", "attachment", "original"))
	if err := os.WriteFile(filepath.Join(l.Storage, "01ACCOUNT", "attachment", "original", "01MEDIA.png"), media, 0o600); err != nil {
		t.Fatal(err)
	}
	sql(t, l.DB, "PRAGMA journal_mode=WAL; CREATE TABLE follows(a, b); INSERT INTO follows VALUES ('ann','bob'),('bob','ann');")
	return backup.Server{ID: "1001", Group: "test-group", Domain: "social.example.org", Shell: localShell{}, Layout: l, Service: svc}, media
}

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func sql(t *testing.T, db, q string) string {
	t.Helper()
	return strings.TrimSpace(mustRun(t, "sqlite3", db, q))
}

func newBackups(t *testing.T, st store.Store, repo backup.Repo) (*backup.Backups, *events) {
	t.Helper()
	ev := &events{}
	return &backup.Backups{Restic: &backup.Restic{Bin: restic(t), Repo: repo, Emit: ev.emit}, Journal: st.Journal(), Emit: ev.emit}, ev
}

func localRepo(t *testing.T) backup.Repo {
	dir := t.TempDir()
	return backup.Repo{Location: filepath.Join(dir, "repo"), PasswordFile: filepath.Join(dir, "keys", "password"), CacheDir: filepath.Join(dir, "cache")}
}

// TestBackupRestoreSQLite: a backup of a database and its media, taken
// while the data stay in place, restored after both were lost and the
// database changed; the repository and its password are made on first
// use; a restore cut off after unpacking resumes without unpacking again.
func TestBackupRestoreSQLite(t *testing.T) {
	ctx := context.Background()
	svc := &countingService{}
	srv, media := sqliteServer(t, svc)
	st := openStore(t)
	repo := localRepo(t)
	b, ev := newBackups(t, st, repo)

	snap, err := b.Backup(ctx, srv)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(repo.PasswordFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", fi, err)
	}
	if snap.ID == "" || snap.Group != "test-group" || snap.Domain != "social.example.org" || snap.Bytes < int64(len(media)) {
		t.Fatalf("snapshot %+v", snap)
	}
	if _, err := os.Stat(filepath.Join(srv.Layout.Work)); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(srv.Layout.Work, "snapshot.*")); len(left) > 0 {
		t.Fatalf("the server keeps the database copy: %v", left)
	}
	list, err := b.Restic.List(ctx, "test-group")
	if err != nil || len(list) != 1 || list[0].ID != snap.ID || list[0].Domain != "social.example.org" {
		t.Fatalf("list: %+v %v", list, err)
	}

	// Lost after the backup: a follow, the media; the database moved on.
	sql(t, srv.Layout.DB, "DELETE FROM follows WHERE a='ann'; INSERT INTO follows VALUES ('cat','dan');")
	os.RemoveAll(filepath.Join(srv.Layout.Storage, "01ACCOUNT"))

	// The first attempt dies as GoToSocial is being stopped.
	svc.failStop = true
	if _, err := b.Restore(ctx, srv, "", false); !errors.Is(err, errCrash) {
		t.Fatalf("restore with a crash: %v", err)
	}
	if got := sql(t, srv.Layout.DB, "SELECT count(*) FROM follows"); got != "2" {
		t.Fatalf("the crashed restore changed the live data: %s follows", got)
	}
	unpacked := ev.started(backup.StepDownload)
	if _, err := b.Restore(ctx, srv, snap.Short, false); err != nil {
		t.Fatalf("resumed restore: %v\n%s", err, ev.text())
	}
	if ev.started(backup.StepDownload) != unpacked {
		t.Fatalf("the resumed restore unpacked again")
	}
	if svc.stops != 1 || svc.starts != 1 {
		t.Fatalf("stops %d starts %d, want 1 and 1", svc.stops, svc.starts)
	}
	if got := sql(t, srv.Layout.DB, "SELECT group_concat(a||'>'||b, ' ') FROM (SELECT * FROM follows ORDER BY a)"); got != "ann>bob bob>ann" {
		t.Fatalf("follows after restore: %q", got)
	}
	got, err := os.ReadFile(filepath.Join(srv.Layout.Storage, "01ACCOUNT", "attachment", "original", "01MEDIA.png"))
	if err != nil || !bytes.Equal(got, media) {
		t.Fatalf("media after restore: %v", err)
	}
	// What the restore replaced is kept beside, never mixed in.
	kept, _ := filepath.Glob(filepath.Join(srv.Layout.Storage, ".lifeboat-restore-*", "replaced", "sqlite.db"))
	if len(kept) != 1 || sql(t, kept[0], "SELECT count(*) FROM follows") != "2" {
		t.Fatalf("replaced database: %v", kept)
	}

	// Done is done: the same backup onto the same server needs --again.
	if _, err := b.Restore(ctx, srv, "", false); !errors.Is(err, backup.ErrRestored) || !errors.Is(err, backup.ErrInput) {
		t.Fatalf("second restore: %v", err)
	}
	sql(t, srv.Layout.DB, "INSERT INTO follows VALUES ('eve','ann');")
	if _, err := b.Restore(ctx, srv, "", true); err != nil {
		t.Fatal(err)
	}
	if got := sql(t, srv.Layout.DB, "SELECT count(*) FROM follows"); got != "2" {
		t.Fatalf("follows after restoring again: %s", got)
	}
	if kept, _ := filepath.Glob(filepath.Join(srv.Layout.Storage, ".lifeboat-restore-*", "replaced")); len(kept) != 2 {
		t.Fatalf("each restore keeps what it replaced apart: %v", kept)
	}
}

// cutShell streams part of the server's archive and then fails, as a
// dropped connection would.
type cutShell struct{ localShell }

func (s cutShell) Stream(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	var all bytes.Buffer
	if err := s.localShell.Stream(ctx, cmd, stdin, &all, stderr); err != nil {
		return err
	}
	stdout.Write(all.Bytes()[:all.Len()/2])
	return errors.New("connection reset")
}

// TestBackupCutOff: a backup whose stream breaks saves nothing, and a
// backup a killed run left started is noted as interrupted by the next.
func TestBackupCutOff(t *testing.T) {
	ctx := context.Background()
	srv, _ := sqliteServer(t, &countingService{})
	st := openStore(t)
	b, ev := newBackups(t, st, localRepo(t))
	cut := srv
	cut.Shell = cutShell{}
	if _, err := b.Backup(ctx, cut); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("cut backup: %v", err)
	}
	if list, err := b.Restic.List(ctx, srv.Group); err != nil || len(list) != 0 {
		t.Fatalf("a cut backup was saved: %+v %v", list, err)
	}
	// A run killed in the middle leaves its entry started.
	if _, err := st.Journal().Start(ctx, "backup/"+srv.Group, "2026-12-03T10:00:00Z"); err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := b.Backup(ctx, srv); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ev.text(), "2026-12-03T10:00:00Z was interrupted") {
		t.Fatalf("the interrupted backup was not noted:\n%s", ev.text())
	}
	steps, err := st.Journal().List(ctx, "backup/"+srv.Group, "")
	if err != nil {
		t.Fatal(err)
	}
	var done, failed int
	for _, s := range steps {
		switch s.Status {
		case store.StepDone:
			done++
		case store.StepFailed:
			failed++
		default:
			t.Errorf("entry %s left %s", s.Key, s.Status)
		}
	}
	if done != 1 || failed != 2 {
		t.Fatalf("journal: %d done, %d failed; want 1 and 2", done, failed)
	}
}

// TestBackupRefusals: what the lead must fix is bad input, named, and
// nothing on the server changes.
func TestBackupRefusals(t *testing.T) {
	ctx := context.Background()
	svc := &countingService{}
	srv, _ := sqliteServer(t, svc)
	st := openStore(t)
	repo := localRepo(t)
	b, _ := newBackups(t, st, repo)
	snap, err := b.Backup(ctx, srv)
	if err != nil {
		t.Fatal(err)
	}
	other := srv
	other.Domain = "other.example.org"
	wrongPW := repo
	wrongPW.PasswordFile = filepath.Join(t.TempDir(), "wrong")
	os.WriteFile(wrongPW.PasswordFile, []byte("not the password\n"), 0o600)
	noPW := repo
	noPW.PasswordFile = filepath.Join(t.TempDir(), "missing")
	bucket := repo
	bucket.Location = "s3:https://fsn1.your-objectstorage.com/lifeboat/test"
	for _, c := range []struct {
		name string
		repo backup.Repo
		do   func(*backup.Backups) error
		want error
	}{
		{"other domain", repo, func(b *backup.Backups) error { _, err := b.Restore(ctx, other, "", false); return err }, backup.ErrOtherDomain},
		{"unknown backup", repo, func(b *backup.Backups) error { _, err := b.Restore(ctx, srv, "0123abcd", false); return err }, backup.ErrNoSnapshot},
		{"wrong password", wrongPW, func(b *backup.Backups) error { _, err := b.Backup(ctx, srv); return err }, backup.ErrWrongPassword},
		{"no password", noPW, func(b *backup.Backups) error { _, err := b.Backup(ctx, srv); return err }, backup.ErrNoPassword},
		{"no password to restore", noPW, func(b *backup.Backups) error { _, err := b.Restore(ctx, srv, "", false); return err }, backup.ErrNoPassword},
		{"bucket without keys", bucket, func(b *backup.Backups) error { _, err := b.Backup(ctx, srv); return err }, backup.ErrNoCredentials},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, _ := newBackups(t, st, c.repo)
			err := c.do(b)
			if !errors.Is(err, c.want) || !errors.Is(err, backup.ErrInput) {
				t.Fatalf("got %v, want %v (bad input)", err, c.want)
			}
			if _, err := os.Stat(noPW.PasswordFile); err == nil {
				t.Fatalf("a password was made for a repository that has one")
			}
		})
	}
	if svc.stops != 0 {
		t.Fatalf("a refused restore stopped GoToSocial")
	}
	if list, _ := b.Restic.List(ctx, srv.Group); len(list) != 1 || list[0].ID != snap.ID {
		t.Fatalf("backups: %+v", list)
	}
}

func TestParseLocation(t *testing.T) {
	wd, _ := os.Getwd()
	for in, want := range map[string]string{
		"/srv/backups/lifeboat": "/srv/backups/lifeboat",
		"backups":               filepath.Join(wd, "backups"),
		"./b":                   filepath.Join(wd, "b"),
		"s3:https://fsn1.your-objectstorage.com/bucket":  "s3:https://fsn1.your-objectstorage.com/bucket",
		"s3:https://fsn1.your-objectstorage.com/b/x/y":   "s3:https://fsn1.your-objectstorage.com/b/x/y",
		"s3:http://127.0.0.1:9000/bucket":                "s3:http://127.0.0.1:9000/bucket",
		"  /with/space/around  ":                         "/with/space/around",
		"s3:https://fsn1.your-objectstorage.com/bucket/": "s3:https://fsn1.your-objectstorage.com/bucket/",
	} {
		got, err := backup.ParseLocation(in)
		if err != nil || got != want {
			t.Errorf("ParseLocation(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "s3:http://fsn1.your-objectstorage.com/bucket", "s3:https://fsn1.your-objectstorage.com",
		"s3:https://key:secret@host/bucket", "sftp:u@host:/srv", "b2:bucket", "rest:http://x/",
		"/a\x1b[31m", strings.Repeat("/a", 600), "s3:https:///bucket",
	} {
		if _, err := backup.ParseLocation(in); !errors.Is(err, backup.ErrLocation) || !errors.Is(err, backup.ErrInput) {
			t.Errorf("ParseLocation(%q): %v, want ErrLocation", in, err)
		}
	}
}
