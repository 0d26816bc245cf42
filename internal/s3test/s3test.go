// Package s3test gives tests a real S3-compatible server on loopback:
// Versity's gateway (versitygw, built by the tools installer) serving a
// directory, with a root access key made for the test. It is stopped and
// its directory removed when the test ends.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/tools"
)

// Server is a running S3 server.
type Server struct {
	Endpoint      string // http://127.0.0.1:PORT
	KeyID, Secret string // its root access key
}

// Start starts a server for the test. It fails the test (never skips)
// when the server cannot be built or started.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := tools.New().S3Server(context.Background())
	if err != nil {
		t.Fatalf("build the S3 server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &Server{Endpoint: "http://" + addr, KeyID: "lifeboat" + rand.Text()[:8], Secret: rand.Text()}
	dir := filepath.Join(t.TempDir(), "s3")
	var out bytes.Buffer
	cmd := exec.Command(bin, "--port", addr, "posix", dir)
	// The key goes in the environment, as versitygw reads it, never argv.
	cmd.Env = []string{"ROOT_ACCESS_KEY_ID=" + s.KeyID, "ROOT_SECRET_ACCESS_KEY=" + s.Secret}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the S3 server: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return s
		}
		select {
		case <-exited:
			t.Fatalf("the S3 server stopped: %s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the S3 server did not listen on %s in 30 s: %s", addr, out.String())
		}
	}
}
