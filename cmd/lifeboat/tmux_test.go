package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/tools"
)

// The built binary in a real terminal: tmux runs lifeboat, the test sends
// keys and reads the screen. tmux is installed (internal/tools) when
// missing.

// ensureTmux returns tmux's path, installing the Debian package if
// needed (as root; otherwise the failure says what to run).
func ensureTmux(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p, err := tools.New().Command(ctx, "tmux", "tmux")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// buildLifeboat builds the command into a temporary directory.
func buildLifeboat(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lifeboat")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// tmuxSession is one detached tmux session on its own server socket.
type tmuxSession struct {
	t      *testing.T
	tmux   string
	socket string
	name   string
}

// startTmux runs shell command line in a w×h terminal. The command's exit
// status is printed as EXIT=n and the pane kept, so the test can read it.
func startTmux(t *testing.T, w, h int, env []string, line string) *tmuxSession {
	t.Helper()
	s := &tmuxSession{t: t, tmux: ensureTmux(t), socket: filepath.Join(t.TempDir(), "tmux.sock"), name: "lifeboat"}
	script := line + `; echo "EXIT=$?"; sleep 600`
	args := []string{"-S", s.socket, "-f", "/dev/null", "new-session", "-d", "-s", s.name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h)}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	args = append(args, "sh", "-c", script)
	cmd := exec.Command(s.tmux, args...)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(s.tmux, "-S", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) screen() string {
	out, err := exec.Command(s.tmux, "-S", s.socket, "capture-pane", "-p", "-t", s.name).Output()
	if err != nil {
		s.t.Fatalf("tmux capture-pane: %v", err)
	}
	return string(out)
}

func (s *tmuxSession) send(keys ...string) {
	args := append([]string{"-S", s.socket, "send-keys", "-t", s.name}, keys...)
	if out, err := exec.Command(s.tmux, args...).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux send-keys: %v\n%s", err, out)
	}
}

// waitFor waits until the screen matches re and returns the screen.
func (s *tmuxSession) waitFor(re string, timeout time.Duration) string {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	var scr string
	for time.Now().Before(deadline) {
		scr = s.screen()
		if rx.MatchString(scr) {
			return scr
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("screen never matched %q in %s; last screen:\n%s", re, timeout, scr)
	return ""
}

func repoDir(t *testing.T) string {
	d, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestTmuxTUI opens the example group, sees its title and member count,
// moves between screens and quits with q.
func TestTmuxTUI(t *testing.T) {
	bin := buildLifeboat(t)
	state := t.TempDir()
	file := filepath.Join(repoDir(t), "examples", "river-birders.yaml")
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			s := startTmux(t, size[0], size[1], []string{"LIFEBOAT_STATE=" + state, "NO_COLOR=1"}, bin+" "+file)
			s.waitFor(`Lifeboat · River Birders`, 30*time.Second)
			s.waitFor(`members\s+12 \(viable mass 8\)`, 10*time.Second)
			s.send("2")
			s.waitFor(`\[2 Pledges\][\s\S]*Pledges for River Birders[\s\S]*would go now`, 10*time.Second)
			s.send("3")
			s.waitFor(`\[3 Destination\][\s\S]*> \* Local`, 10*time.Second)
			s.send("Tab")
			s.waitFor(`\[4 Provision\]`, 10*time.Second)
			s.send("5")
			s.waitFor(`Arrivals: River Birders`, 10*time.Second)
			s.send("Escape")
			s.waitFor(`\[Home\][\s\S]*River Birders\s+gathering`, 10*time.Second)
			s.send("q")
			s.waitFor(`EXIT=0`, 10*time.Second)
		})
	}
	// the home screen lists the group it opened before
	s := startTmux(t, 80, 24, []string{"LIFEBOAT_STATE=" + state}, bin)
	s.waitFor(`Groups and recent files[\s\S]*> River Birders`, 30*time.Second)
	s.send("Enter")
	s.waitFor(`members\s+12`, 10*time.Second)
	s.send("q")
	s.waitFor(`EXIT=0`, 10*time.Second)
}

// TestTmuxDemo runs lifeboat demo with a terminal: the arrivals screen
// fills up as the real local GoToSocial admits the group, and the summary
// follows when it is done.
func TestTmuxDemo(t *testing.T) {
	bin := buildLifeboat(t)
	repo := repoDir(t)
	tools := os.Getenv("LIFEBOAT_TOOLS")
	if tools == "" {
		tools = filepath.Join(repo, ".tools")
	}
	state := t.TempDir()
	env := []string{"LIFEBOAT_TOOLS=" + tools, "LIFEBOAT_STATE=" + state, "NO_COLOR=1"}
	t.Cleanup(func() {
		cmd := exec.Command(bin, "demo", "--stop")
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("lifeboat demo --stop: %v\n%s", err, out)
		}
	})
	s := startTmux(t, 80, 24, env, "cd "+repo+" && "+bin+" demo")
	// building GoToSocial the first time takes minutes
	s.waitFor(`Arrivals: River Birders\s+running`, 2*time.Minute)
	first := s.waitFor(`accounts created\s+#*\.*\s+([1-9]|1[0-2])/12`, 20*time.Minute)
	s.waitFor(`follows seeded\s+#+\.*\s+\d+/132`, 10*time.Minute)
	final := s.waitFor(`EXIT=\d+`, 10*time.Minute)
	if !strings.Contains(final, "EXIT=0") {
		t.Fatalf("demo failed:\n%s", final)
	}
	for _, want := range []string{"River Birders has arrived on", "12 members, 12 accounts, 132 follows seeded, 12 lists"} {
		if !strings.Contains(final, want) {
			t.Errorf("final screen lacks %q:\n%s", want, final)
		}
	}
	if !bytes.Contains([]byte(first), []byte("Member")) {
		t.Errorf("the arrivals screen has no member table:\n%s", first)
	}
}
