package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
)

// killGroupWhen starts cmd in its own process group and, once ready
// answers true (polled every 20 ms), kills the whole group with SIGKILL:
// the command and every child it started (Terraform and its provider),
// as a machine that loses power does. It reports whether the kill came
// before the command finished by itself.
func killGroupWhen(t *testing.T, cmd *exec.Cmd, ready func() bool) bool {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return killOnce(t, cmd, ready, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
}

// killAloneWhen is killGroupWhen for the command's process alone
// (kill -9 PID): its children are left to the system.
func killAloneWhen(t *testing.T, cmd *exec.Cmd, ready func() bool) bool {
	t.Helper()
	return killOnce(t, cmd, ready, func() { cmd.Process.Kill() })
}

// killOnce starts cmd, calls kill once ready answers true (polled every
// 20 ms), and reports whether cmd then died of SIGKILL rather than
// finishing by itself first.
func killOnce(t *testing.T, cmd *exec.Cmd, ready func() bool, kill func()) bool {
	t.Helper()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			t.Logf("the run ended before the kill point (%v):\n%s", err, out.String())
			return false
		case <-tick.C:
			if !ready() {
				continue
			}
			kill()
			err := <-done
			var ee *exec.ExitError
			return errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
		}
	}
}

// upRig runs the built lifeboat's up and down for the example group's
// new server against a fake Hetzner API, with real Terraform and the real
// provider.
type upRig struct {
	ctx                    context.Context
	bin, tf, mirror, group string
}

func newUpRig(ctx context.Context, t *testing.T) upRig {
	t.Helper()
	tf, mirror := terraformTools(ctx, t)
	group, _ := filepath.Abs("../../examples/new-hetzner.yaml")
	return upRig{ctx: ctx, bin: lifeboatBin(t), tf: tf, mirror: mirror, group: group}
}

// command is lifeboat with args for state against f, running terraform.
func (r upRig) command(f *hcloudfake.Fake, state, terraform string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(r.ctx, r.bin, args...)
	cmd.Env = append(demoEnv(state), "HCLOUD_TOKEN="+f.Token, "HCLOUD_ENDPOINT="+f.URL(),
		"LIFEBOAT_TERRAFORM="+terraform, "LIFEBOAT_HCLOUD_MIRROR="+r.mirror)
	return cmd
}

// up is lifeboat up for the group.
func (r upRig) up(f *hcloudfake.Fake, state, terraform string) *exec.Cmd {
	return r.command(f, state, terraform, "up", r.group, "--ssh-from", "203.0.113.7", "--poll-interval", "50ms")
}

// clean is what one clean up makes: exactly one server's worth of
// resources.
func (r upRig) clean(t *testing.T) map[string]int {
	t.Helper()
	f := hcloudfake.New().Start()
	defer f.Close()
	r.run(t, r.up(f, t.TempDir(), r.tf))
	return f.Counts()
}

// run runs cmd and returns its output, failing t if it fails.
func (r upRig) run(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("lifeboat %s: %v\n%s", strings.Join(cmd.Args[1:], " "), err, out)
	}
	return string(out)
}

// thirdAndDown checks that one more up changes nothing (the fake's
// counts stay want) and that down then leaves the fake empty.
func (r upRig) thirdAndDown(t *testing.T, f *hcloudfake.Fake, state, want string) {
	t.Helper()
	r.run(t, r.up(f, state, r.tf))
	if got := fmt.Sprint(f.Counts()); got != want {
		t.Fatalf("a third up left %v; one clean run makes %v", got, want)
	}
	out, err := r.command(f, state, r.tf, "down", r.group, "--confirm", "valley-cyclists").CombinedOutput()
	if err != nil || !f.Empty() {
		t.Fatalf("down: %v, left %v\n%s", err, f.Counts(), out)
	}
}

// `lifeboat up` killed with SIGKILL mid-apply, Terraform and its provider
// with it, at four points of the apply (after the SSH key, the primary
// IP, the server's creation call, the firewall's attachment), then run
// again: the fake Hetzner API ends with exactly the resources of one
// clean run (one server, its primary IPs, one SSH key, one firewall), no
// orphan left by the killed run, and down leaves it empty.
func TestUpSurvivesKill9(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	r := newUpRig(ctx, t)
	want := r.clean(t)
	if want["servers"] != 1 || want["primary_ips"] == 0 {
		t.Fatalf("a clean up made %v", want)
	}

	called := func(f *hcloudfake.Fake, call string) func() bool {
		return func() bool {
			for _, c := range f.Calls() {
				if strings.HasPrefix(c, call) {
					return true
				}
			}
			return false
		}
	}
	for _, point := range []string{"POST /ssh_keys", "POST /primary_ips", "POST /servers", "POST /firewalls"} {
		t.Run(strings.ReplaceAll(point, "/", "_"), func(t *testing.T) {
			f := hcloudfake.New().Start()
			defer f.Close()
			state := t.TempDir()
			// A provider Terraform was starting as the group was killed
			// can escape the kill: none is left behind.
			leaveNoneIn(t, filepath.Join(state, "groups", "valley-cyclists", "hetzner", "module"))
			if !killGroupWhen(t, r.up(f, state, r.tf), called(f, point)) {
				t.Fatalf("up was not killed at %s; calls: %v", point, f.Calls())
			}
			before := f.Counts()
			t.Logf("killed at %s: the cloud holds %v", point, before)
			r.run(t, r.up(f, state, r.tf))
			if got := f.Counts(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("killed at %s (the fake then held %v), up again left %v; one clean run makes %v", point, before, got, want)
			}
			r.thirdAndDown(t, f, state, fmt.Sprint(want))
		})
	}
}

// leaveNoneIn kills, when the test ends, every process still working in
// dir.
func leaveNoneIn(t *testing.T, dir string) {
	t.Cleanup(func() {
		for _, pid := range workingIn(dir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// workingIn lists the processes whose working directory is dir: a
// Terraform run in the module there, and its provider.
func workingIn(dir string) []int {
	var pids []int
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join("/proc", p.Name(), "cwd")); err == nil && cwd == dir {
			pids = append(pids, pid)
		}
	}
	return pids
}

// outliving is a Terraform launcher for the case where Terraform lives
// on when the lifeboat that started it is killed: tfexec has Linux kill
// Terraform with its parent, which this launcher (a shell, the parent
// that dies) keeps from reaching Terraform, whose output it keeps open
// (tee -p goes on without a reader), as on a system where children are
// left running.
func outliving(t *testing.T, terraform string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "terraform")
	script := "#!/bin/bash\n" + shellQuote(terraform) + ` "$@" > >(tee -p /dev/null) 2> >(tee -p /dev/null >&2)` + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestUpSurvivesKillOfLifeboatAlone: `lifeboat up` killed with SIGKILL
// mid-apply, the lifeboat process alone (kill -9 PID, not its process
// group), while the server's creation is slow, then run again at once.
// On Linux Terraform dies with it (tfexec asks for that); where it lives
// on (a launcher stands for that), it goes on to the end of its apply
// holding the state's lock, and the second up says it waits for that
// earlier run and then finishes, rather than failing on the lock. Either
// way the fake Hetzner API ends with exactly one clean run's resources,
// a third up changes nothing, and down leaves it empty.
func TestUpSurvivesKillOfLifeboatAlone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	r := newUpRig(ctx, t)
	want := fmt.Sprint(r.clean(t))

	for _, outlives := range []bool{false, true} {
		t.Run(map[bool]string{false: "terraform_dies_with_it", true: "terraform_outlives_it"}[outlives], func(t *testing.T) {
			f := hcloudfake.New().Start()
			defer f.Close()
			// A busy API: the server's creation takes seconds.
			f.Inject(hcloudfake.Fault{Method: "POST", Path: "/servers", Delay: 6 * time.Second})
			state := t.TempDir()
			module := filepath.Join(state, "groups", "valley-cyclists", "hetzner", "module")
			terraform := r.tf
			if outlives {
				terraform = outliving(t, r.tf)
			}
			// A failed run leaves no Terraform of this test behind.
			leaveNoneIn(t, module)
			creating := func() bool {
				return slices.ContainsFunc(f.Calls(), func(c string) bool { return strings.HasPrefix(c, "POST /servers") })
			}
			if !killAloneWhen(t, r.up(f, state, terraform), creating) {
				t.Fatalf("up was not killed while the server was being created; calls: %v", f.Calls())
			}
			// Let the system act on the death (or not).
			deadline := time.Now().Add(3 * time.Second)
			for len(workingIn(module)) > 0 && !outlives && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if left := workingIn(module); (len(left) > 0) != outlives {
				t.Fatalf("after the kill, processes still working in the module: %v (Terraform outliving lifeboat expected: %v)", left, outlives)
			}
			out := r.run(t, r.up(f, state, r.tf))
			if waited := strings.Contains(out, "waiting for an earlier Terraform run (process "); waited != outlives {
				t.Errorf("the second up waited for an earlier run: %v, want %v\n%s", waited, outlives, out)
			}
			if len(workingIn(module)) > 0 {
				t.Errorf("the earlier Terraform run is still going after the second up: %v", workingIn(module))
			}
			if got := fmt.Sprint(f.Counts()); got != want {
				t.Fatalf("after the kill, up again left %v; one clean run makes %v\n%s", got, want, out)
			}
			r.thirdAndDown(t, f, state, want)
		})
	}
}
