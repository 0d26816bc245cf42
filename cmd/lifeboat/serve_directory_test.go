package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/web"
)

// lockedBuffer is a buffer a running command writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func writeGroup(t *testing.T, path, name, title, tags string) {
	t.Helper()
	data := fmt.Sprintf("version: 1\nname: %s\ntitle: %s\ntags: %s\nviable_mass: 2\nlead: {name: Ada, email: ada@example.org}\n"+
		"destination: {type: local}\nmembers:\n  - {name: Ada, email: ada@example.org}\n  - {name: Bo, email: bo@example.org}\n", name, title, tags)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runServe runs lifeboat serve with args on a free port, with a stand-in
// arrival engine, until the test ends; get fetches a path once serve
// answers.
func runServe(t *testing.T, args ...string) (base string, out *lockedBuffer, get func(path string) (int, string)) {
	t.Helper()
	old := serveArrivals
	serveArrivals = func(context.Context, *App, *groups.Group, web.HomesConfig) (web.Arrivals, func(), error) {
		return &recordingArrivals{}, func() {}, nil
	}
	t.Cleanup(func() { serveArrivals = old })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	out = &lockedBuffer{}
	var errs lockedBuffer
	app := &App{Stdout: out, Stderr: &errs, StateDir: filepath.Join(t.TempDir(), "state")}
	done := make(chan int)
	go func() { done <- runApp(ctx, app, append([]string{"serve", "--addr", addr}, args...)); app.Close() }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, errs.String())
		}
	})
	base = "http://" + addr
	get = func(path string) (int, string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := http.Get(base + path)
			if err == nil {
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %v (stderr: %s)", path, err, errs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return base, out, get
}

// TestServeFolderAsDirectory: serve given a folder hosts each group file
// in it under /g/NAME/ and lists them at "/" by topic.
func TestServeFolderAsDirectory(t *testing.T) {
	folder := t.TempDir()
	writeGroup(t, filepath.Join(folder, "birds.yaml"), "river-birders", "River Birders", "[birds, nature]")
	writeGroup(t, filepath.Join(folder, "moths.yml"), "moth-watchers", "Moth Watchers", "[insects]")
	os.WriteFile(filepath.Join(folder, "notes.txt"), []byte("not a group"), 0o644)
	base, out, get := runServe(t, folder)
	code, page := get("/")
	if code != 200 {
		t.Fatalf("directory %d", code)
	}
	for _, want := range []string{`id="topic-birds"`, `id="topic-insects"`, `href="` + base + `/g/river-birders/">River Birders</a>`,
		`href="` + base + `/g/moth-watchers/">Moth Watchers</a>`} {
		if !strings.Contains(page, want) {
			t.Errorf("directory lacks %q:\n%s", want, page)
		}
	}
	if code, page := get("/g/moth-watchers/"); code != 200 || !strings.Contains(page, "<h1>Moth Watchers</h1>") {
		t.Errorf("Moth Watchers' page %d:\n%s", code, page)
	}
	if !strings.Contains(out.String(), "Serving 2 groups at "+base) || !strings.Contains(out.String(), "River Birders: "+base+"/g/river-birders/") {
		t.Errorf("stdout: %s", out.String())
	}
}

// TestServeOneGroupAtTheRoot: one group file is served as before, at the
// root, with no directory.
func TestServeOneGroupAtTheRoot(t *testing.T) {
	file := filepath.Join(t.TempDir(), "birds.yaml")
	writeGroup(t, file, "river-birders", "River Birders", "[birds]")
	base, out, get := runServe(t, file)
	if code, page := get("/"); code != 200 || !strings.Contains(page, "<h1>River Birders</h1>") || !strings.Contains(page, `href="/static/style.css"`) {
		t.Errorf("landing page %d:\n%s", code, page)
	}
	if code, _ := get("/g/river-birders/"); code != 404 {
		t.Errorf("/g/river-birders/ with one group: %d, want 404", code)
	}
	if !strings.Contains(out.String(), "Serving River Birders at "+base) {
		t.Errorf("stdout: %s", out.String())
	}
}

// TestServeBadGroupSets: every problem of every file, two files of one
// group, a folder with no group files: bad input, exit 2, nothing served.
func TestServeBadGroupSets(t *testing.T) {
	dir := t.TempDir()
	writeGroup(t, filepath.Join(dir, "a.yaml"), "river-birders", "A", "[birds]")
	writeGroup(t, filepath.Join(dir, "b.yaml"), "river-birders", "B", "[birds]")
	writeGroup(t, filepath.Join(dir, "c.yaml"), "moths", "C", "[Bad Tag]")
	writeGroup(t, filepath.Join(dir, "d.yaml"), "x", "D", "[]")
	os.Mkdir(filepath.Join(dir, "empty"), 0o755)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")}, []string{"a.yaml and ", "b.yaml are both the group \"river-birders\""}},
		{[]string{filepath.Join(dir, "c.yaml"), filepath.Join(dir, "d.yaml")}, []string{"c.yaml:4:8: tag \"Bad Tag\" is not allowed", "d.yaml:2:7: name \"x\" is not a slug"}},
		{[]string{filepath.Join(dir, "empty")}, []string{"holds no group files"}},
		{[]string{filepath.Join(dir, "missing.yaml")}, []string{"missing.yaml"}},
	} {
		_, errs, code := lb(t, filepath.Join(dir, "state"), append([]string{"serve", "--addr", "127.0.0.1:0"}, c.args...)...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		for _, w := range c.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", c.args, w, errs)
			}
		}
	}
}
