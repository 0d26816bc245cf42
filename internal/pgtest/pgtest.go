// Package pgtest gives tests a fresh, empty PostgreSQL database on a real
// server. Tests never skip for want of PostgreSQL: with
// LIFEBOAT_TEST_DATABASE_URL set they use that server; otherwise the first
// call starts a private server (installing PostgreSQL through
// internal/tools if needed) that lives until the test binary ends.
//
// A package using URL should stop the private server after its tests:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Without that, the server is still killed when the test process dies
// (Pdeathsig), but its data directory is left in the temp dir.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lifeboat-social/lifeboat/internal/tools"
)

// EnvURL names the variable holding an existing server's URL. Its user
// must be allowed to create databases.
const EnvURL = "LIFEBOAT_TEST_DATABASE_URL"

var (
	startOnce sync.Once
	srv       *server
	startErr  error
)

// URL returns the URL of a new, empty database, dropped when t ends.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		startOnce.Do(func() { srv, startErr = start(context.Background()) })
		if startErr != nil {
			t.Fatalf("pgtest: start postgres: %v", startErr)
		}
		base = srv.url
	}
	u, err := CreateDB(context.Background(), base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dropDB(ctx, base, u); err != nil {
			t.Logf("pgtest: %v", err)
		}
	})
	return u
}

// Main runs the tests and then stops the private server, if one was
// started. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if srv != nil {
		srv.stop()
	}
	os.Exit(code)
}

// Stop stops the private server now, if one runs; a later URL starts
// another. It is for a package whose TestMain is another test server's
// (gtstest.Main): a test there registers t.Cleanup(pgtest.Stop) before
// it calls URL, so its database is dropped first and the server stopped.
func Stop() {
	if srv != nil {
		srv.stop()
		srv = nil
	}
	startOnce = sync.Once{}
}

// CreateDB creates a uniquely named database on the server base points at
// and returns base with the database replaced by it.
func CreateDB(ctx context.Context, base string) (string, error) {
	b := make([]byte, 6)
	rand.Read(b)
	name := fmt.Sprintf("lifeboat_test_%d_%s", os.Getpid(), hex.EncodeToString(b))
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("connect %s: %w", redact(base), err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func dropDB(ctx context.Context, base, dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return err
	}
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		return fmt.Errorf("connect %s: %w", redact(base), err)
	}
	defer c.Close(ctx)
	// FORCE (PostgreSQL 13+) ends connections a test forgot to close.
	_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()+" WITH (FORCE)")
	if err != nil {
		return fmt.Errorf("drop database: %w", err)
	}
	return nil
}

func redact(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

// server is a private PostgreSQL server in a temporary directory.
type server struct {
	url  string
	dir  string
	cmd  *exec.Cmd
	done chan struct{} // closed when postgres exits
}

// start initialises a cluster and starts postgres on a free loopback
// port. PostgreSQL refuses to run as root, so as root it runs as the
// postgres user (created by the Debian package) in a directory that user
// owns.
func start(ctx context.Context) (*server, error) {
	bin, err := tools.New().Postgres(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lifeboat-pgtest-")
	if err != nil {
		return nil, err
	}
	cred, err := credential(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if cred != nil {
			os.Chown(d, int(cred.Uid), int(cred.Gid))
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	// The free port may be taken again before postgres binds it; try a
	// few.
	for try := 0; ; try++ {
		s, err := run(ctx, bin, dir, cred)
		if err == nil || try == 2 {
			if err != nil {
				os.RemoveAll(dir)
			}
			return s, err
		}
	}
}

// run starts postgres on the cluster in dir and waits until it answers.
func run(ctx context.Context, bin, dir string, cred *syscall.Credential) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return nil, err
	}
	// Durability is pointless for throwaway test data; turning it off
	// makes the suite several times faster.
	cmd := exec.Command(filepath.Join(bin, "postgres"),
		"-D", filepath.Join(dir, "data"), "-k", filepath.Join(dir, "sock"), "-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300")
	cmd.Stdout, cmd.Stderr = log, log
	// Pdeathsig stops the server if the test binary dies without Main's
	// cleanup (a panic, a timeout, SIGKILL).
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	s := &server{
		url:  fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port),
		dir:  dir,
		cmd:  cmd,
		done: make(chan struct{}),
	}
	go func() { cmd.Wait(); log.Close(); close(s.done) }()
	if err := s.wait(ctx, 60*time.Second); err != nil {
		s.kill()
		return nil, err
	}
	return s, nil
}

// wait polls until the server accepts connections.
func (s *server) wait(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := pgx.Connect(cctx, s.url)
		cancel()
		if err == nil {
			c.Close(ctx)
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("postgres exited: %s", s.logTail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %s: %v\n%s", limit, err, s.logTail())
		}
	}
}

func (s *server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// stop shuts the server down and removes its directory.
func (s *server) stop() {
	s.kill()
	os.RemoveAll(s.dir)
}

// kill asks for a fast shutdown and waits for it.
func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// credential returns who postgres runs as: nil (ourselves) unless we are
// root, then the postgres user, to whom dir is given.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and no postgres user to run the server as: %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres user: %w", err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
