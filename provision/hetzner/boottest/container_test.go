package boottest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// run runs a command that must succeed, returning its output.
func run(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// link is a network namespace for the container and a veth pair joining
// it to the host: Host on this side, Guest (eth0) inside. The addresses
// are a /30 of 10.254.0.0/16 no interface here uses; nothing routes
// beyond the pair, so the container reaches only the host's end.
type link struct {
	NS          string // name under /run/netns
	Host, Guest net.IP
	hostIf      string
}

func newLink(t *testing.T) *link {
	t.Helper()
	ctx := context.Background()
	suffix := make([]byte, 4)
	rand.Read(suffix)
	id := hex.EncodeToString(suffix)
	l := &link{NS: "lifeboat-boot-" + id, hostIf: "lbboot" + id}
	used, err := run(ctx, "ip", "-o", "addr")
	if err != nil {
		t.Fatal(err)
	}
	for {
		n := make([]byte, 2)
		rand.Read(n)
		n[1] &^= 3
		l.Host, l.Guest = net.IPv4(10, 254, n[0], n[1]+1), net.IPv4(10, 254, n[0], n[1]+2)
		if !strings.Contains(used, fmt.Sprintf(" 10.254.%d.", n[0])) {
			break
		}
	}
	t.Cleanup(func() {
		// Deleting one end deletes the pair at once; the kernel would free
		// it with the namespace only some time later.
		if _, err := net.InterfaceByName(l.hostIf); err == nil {
			if out, err := run(ctx, "ip", "link", "del", l.hostIf); err != nil {
				t.Errorf("remove the veth pair: %v %s", err, out)
			}
		}
		if out, err := run(ctx, "ip", "netns", "del", l.NS); err != nil {
			t.Errorf("remove the network namespace: %v %s", err, out)
		}
	})
	peer := "lbguest" + id
	for _, args := range [][]string{
		{"netns", "add", l.NS},
		{"link", "add", l.hostIf, "type", "veth", "peer", "name", peer},
		{"link", "set", peer, "netns", l.NS},
		{"-n", l.NS, "link", "set", peer, "name", "eth0"},
		{"-n", l.NS, "addr", "add", l.Guest.String() + "/30", "dev", "eth0"},
		{"-n", l.NS, "link", "set", "eth0", "up"},
		{"-n", l.NS, "link", "set", "lo", "up"},
		{"addr", "add", l.Host.String() + "/30", "dev", l.hostIf},
		{"link", "set", l.hostIf, "up"},
	} {
		if _, err := run(ctx, "ip", args...); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// container is a booted Debian root: an overlay on the cached root (which
// stays untouched), booted by systemd-nspawn inside the link's namespace.
type container struct {
	Dir     string // the root as the container sees it
	Console string // the boot's console output
	cmd     *exec.Cmd
	exited  chan struct{}
	link    *link
}

// newRoot mounts a writable overlay of the cached root.
func newRoot(t *testing.T, cached string) string {
	t.Helper()
	base := t.TempDir()
	upper, work, merged := filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "root")
	for _, d := range []string{upper, work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := "lowerdir=" + cached + ",upperdir=" + upper + ",workdir=" + work
	if err := syscall.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Fatalf("mount the root's overlay: %v", err)
	}
	// Registered after TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		// EINVAL: destroyed (unmounted) by the test already.
		if err := syscall.Unmount(merged, syscall.MNT_DETACH); err != nil && err != syscall.EINVAL {
			t.Errorf("unmount the root's overlay: %v", err)
		}
	})
	return merged
}

// destroy powers the container off and throws its root away (the
// overlay's upper layer: everything the server wrote), as deleting a
// server does.
func (c *container) destroy(t *testing.T) {
	c.stop(t)
	if err := syscall.Unmount(c.Dir, syscall.MNT_DETACH); err != nil {
		t.Fatalf("unmount the root's overlay: %v", err)
	}
	if err := os.RemoveAll(filepath.Join(filepath.Dir(c.Dir), "upper")); err != nil {
		t.Fatal(err)
	}
}

// boot starts systemd in root, in l's namespace. The container is stopped
// (powered off, killed when it does not stop) when the test ends.
// The machine's name (its hostname until cloud-init sets the server's) is
// the namespace's. extra are more systemd-nspawn options (a volume's
// device bound in).
func boot(t *testing.T, root string, l *link, extra ...string) *container {
	t.Helper()
	c := &container{Dir: root, Console: filepath.Join(t.TempDir(), "console.log"), exited: make(chan struct{}), link: l}
	console, err := os.Create(c.Console)
	if err != nil {
		t.Fatal(err)
	}
	// --register=no and --keep-unit: this host runs neither systemd nor
	// D-Bus, so there is no machined to register with and no unit to make.
	args := append([]string{"--quiet", "--register=no", "--keep-unit", "--boot",
		"--directory=" + root, "--machine=" + l.NS,
		"--network-namespace-path=/run/netns/" + l.NS, "--console=read-only"}, extra...)
	c.cmd = exec.Command("systemd-nspawn", args...)
	c.cmd.Stdout, c.cmd.Stderr = console, console
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("systemd-nspawn: %v", err)
	}
	go func() { c.cmd.Wait(); console.Close(); close(c.exited) }()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// stop powers the container off: SIGTERM makes systemd-nspawn ask the
// container's systemd for an orderly shutdown. A container that does not
// stop is killed: nspawn by its id, then every process left in the
// network namespace (the container's, started by this test) by theirs.
func (c *container) stop(t *testing.T) {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		return
	case <-time.After(90 * time.Second):
	}
	t.Errorf("the container did not power off in 90 s; killing it")
	c.cmd.Process.Kill()
	<-c.exited
	out, _ := run(context.Background(), "ip", "netns", "pids", c.link.NS)
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// tail is the end of the console, for failure messages.
func (c *container) tail() string {
	b, _ := os.ReadFile(c.Console)
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}
