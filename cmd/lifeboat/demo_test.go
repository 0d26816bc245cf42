package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/meshcheck"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// lifeboatBin builds the real binary once per test run: the crash test
// must kill a separate process with SIGKILL.
func lifeboatBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lifeboat-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "lifeboat")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = err
			t.Logf("%s", out)
		}
	})
	if binErr != nil {
		t.Fatalf("build lifeboat: %v", binErr)
	}
	return binPath
}

func demoEnv(state string) []string {
	return append(os.Environ(), "LIFEBOAT_STATE="+state)
}

// runDemo runs `lifeboat demo ARGS` to the end and returns its report.
func runDemo(t *testing.T, bin, state string, args ...string) escape.Report {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"demo", "--json"}, args...)...)
	cmd.Env = demoEnv(state)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lifeboat demo %v: %v\n%s", args, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var rep escape.Report
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
		t.Fatalf("last stdout line is not the JSON report: %v\n%s", err, out)
	}
	return rep
}

// killAt starts `lifeboat demo ARGS`, waits for a stderr line containing
// marker, waits delay more, and kills the process with SIGKILL. It
// reports whether the kill happened before the run finished by itself.
func killAt(t *testing.T, bin, state, marker string, delay time.Duration, args ...string) bool {
	t.Helper()
	return killDemo(t, bin, state, func(line string) bool {
		t.Logf("run: %s", line)
		return strings.Contains(line, marker)
	}, delay, args...)
}

// killDemo starts `lifeboat demo ARGS`, hands every stderr line to arm,
// and kills the process with SIGKILL delay after the first line arm
// answers true to. It reports whether the process died of that signal
// (and not by finishing first).
func killDemo(t *testing.T, bin, state string, arm func(line string) bool, delay time.Duration, args ...string) bool {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"demo"}, args...)...)
	cmd.Env = demoEnv(state)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		armed := false
		for sc.Scan() {
			if arm(sc.Text()) && !armed {
				armed = true
				go func() {
					time.Sleep(delay)
					killed <- cmd.Process.Signal(syscall.SIGKILL) == nil
				}()
			}
		}
	}()
	err = cmd.Wait()
	select {
	case k := <-killed:
		var ee *exec.ExitError
		return k && errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
	case <-time.After(time.Second):
		return false
	}
}

// The escape survives SIGKILL at many points — during sign-ups, while the
// follows are seeded, while lists are filled — and the end state, read
// from the server, is exact: no duplicate account, follow, list or post.
func TestDemoSurvivesKill9(t *testing.T) {
	t.Parallel()
	bin := lifeboatBin(t)
	state := t.TempDir()
	const n = 24
	args := []string{"--members", "24", "--workers", "2"}
	t.Cleanup(func() {
		cmd := exec.Command(bin, "demo", "--members", "24", "--stop")
		cmd.Env = demoEnv(state)
		cmd.Run()
	})

	points := []struct {
		marker string
		delay  time.Duration
	}{
		{"arrivals: 0 of", 0},
		{"arrivals: 0 of", 400 * time.Millisecond},
		{"arrivals: 1 of", 300 * time.Millisecond},
		{"arrivals:", 700 * time.Millisecond},
		{"Seed follows", 0},
		{"Seed follows", 200 * time.Millisecond},
		{"Seed follows", 500 * time.Millisecond},
		{"follows:", 900 * time.Millisecond},
		{"lists:", 0},
		{"lists:", 50 * time.Millisecond},
	}
	kills := 0
	for _, p := range points {
		k := killAt(t, bin, state, p.marker, p.delay, args...)
		t.Logf("kill at %q +%s: killed=%v", p.marker, p.delay, k)
		if k {
			kills++
		}
	}
	if kills < 8 {
		t.Fatalf("only %d of %d runs were killed mid-way; the test proves nothing", kills, len(points))
	}

	rep := runDemo(t, bin, state, args...)
	if rep.Members != n || rep.AccountsCreated != n || rep.FollowsSeeded != n*(n-1) || rep.ListsCreated != n || rep.Welcomes != 1 {
		t.Errorf("report after %d kills = %+v; want %d accounts, %d follows, %d lists, 1 welcome", kills, rep, n, n*(n-1), n)
	}
	verifyServer(t, state, "demo-24", "Demo group of 24", rep.Server, n)
}

// The README's first command: the example group lands in a full room.
func TestDemoExampleGroup(t *testing.T) {
	t.Parallel()
	bin := lifeboatBin(t)
	state := t.TempDir()
	t.Cleanup(func() {
		cmd := exec.Command(bin, "demo", "--stop")
		cmd.Env = demoEnv(state)
		cmd.Run()
	})
	rep := runDemo(t, bin, state)
	if rep.Members != 12 || rep.AccountsCreated != 12 || rep.FollowsSeeded != 132 || rep.ListsCreated != 12 {
		t.Errorf("report = %+v; want 12 accounts, 132 follows, 12 lists", rep)
	}
	verifyServer(t, state, "river-birders", "River Birders", rep.Server, 12)

	// A second run changes nothing and says so quickly.
	again := runDemo(t, bin, state)
	again.DurationS, rep.DurationS = 0, 0
	if again != rep {
		t.Errorf("second run reports %+v, first %+v", again, rep)
	}
	info, err := os.Stat(filepath.Join(state, "groups", "river-birders", "logins.csv"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("logins.csv: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	assertNoSecretsInStore(t, state, "river-birders", 12)
}

// assertNoSecretsInStore: the demo's members can log in with the
// passwords in logins.csv, and the store's files hold none of them, nor
// any member's token in clear.
func assertNoSecretsInStore(t *testing.T, state, group string, n int) {
	t.Helper()
	f, err := os.Open(filepath.Join(state, "groups", group, "logins.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != n+1 || strings.Join(recs[0], ",") != "email,username,password,server" {
		t.Fatalf("logins.csv: %v, %d lines, header %v", err, len(recs), recs[0])
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	accs, err := st.Accounts().List(ctx, group)
	st.Close()
	if err != nil || len(accs) != n {
		t.Fatalf("%d accounts, %v", len(accs), err)
	}
	var secrets []string
	for i, r := range recs[1:] {
		if i == 0 { // the password is the member's: the server lets them sign in
			c := fedi.New(r[3])
			app, err := c.RegisterApp(ctx, "check", fedi.OOB, []string{"read"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.SignInAndAuthorize(ctx, app, r[0], r[2]); err != nil {
				t.Fatalf("%s cannot sign in with the password in logins.csv: %v", r[0], err)
			}
		}
		secrets = append(secrets, r[2])
	}
	for _, a := range accs {
		secrets = append(secrets, a.Token)
	}
	files, _ := filepath.Glob(filepath.Join(state, store.DBFile+"*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if len(s) < 16 {
				t.Fatalf("a secret of %d characters proves nothing", len(s))
			}
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a password or token in clear", filepath.Base(file))
			}
		}
	}
}

// storedAccounts are the group's account rows in the store of state.
func storedAccounts(t *testing.T, state, group string) []store.Account {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	accs, err := st.Accounts().List(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	return accs
}

// verifyServer reads the server: the mesh is exact with no follow request
// left waiting, the lead posted once, and the server holds exactly n
// member accounts plus the admin.
func verifyServer(t *testing.T, state, group, title, url string, n int) {
	t.Helper()
	ctx := context.Background()
	accs := storedAccounts(t, state, group)
	var ms []meshcheck.Member
	for _, a := range accs {
		ms = append(ms, meshcheck.Member{Email: a.Email, ID: a.ID, Token: a.Token})
	}
	if len(ms) != n {
		t.Fatalf("%d accounts in the store, want %d", len(ms), n)
	}
	if err := meshcheck.Verify(ctx, url, title, ms); err != nil {
		t.Error(err)
	}
	for _, a := range accs {
		if reqs, err := fedi.New(url).WithToken(a.Token).FollowRequests(ctx); err != nil || len(reqs) > 0 {
			t.Errorf("%s has %d follow requests waiting (%v)", a.Email, len(reqs), err)
		}
	}
	adminToken := localAdminToken(t, filepath.Join(state, "groups", group, "local"))
	all, err := fedi.New(url).WithToken(adminToken).AdminAccounts(ctx, map[string][]string{"origin": {"local"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n+1 {
		t.Errorf("the server has %d local accounts, want %d members + the admin", len(all), n)
	}
	lead := accs[0]
	for _, a := range accs {
		if strings.HasPrefix(a.Email, "member1@") || strings.HasPrefix(a.Email, "ada@") {
			lead = a
		}
	}
	sts, err := fedi.New(url).WithToken(lead.Token).AccountStatuses(ctx, lead.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 {
		t.Errorf("the lead %s has %d posts, want 1 welcome", lead.Email, len(sts))
	}
}

// TestDemoAfterStateLost: the state database is deleted while the demo
// server keeps its accounts. The next run cannot sign the old accounts
// in; it says why, and the way out it names works.
func TestDemoAfterStateLost(t *testing.T) {
	t.Parallel()
	bin := lifeboatBin(t)
	state := t.TempDir()
	demo := func(state string, args ...string) (string, int) {
		cmd := exec.Command(bin, append([]string{"demo", "--members", "3"}, args...)...)
		cmd.Env = demoEnv(state)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	t.Cleanup(func() { demo(state, "--stop") })
	runDemo(t, bin, state, "--members", "3")
	matches, _ := filepath.Glob(filepath.Join(state, store.DBFile+"*"))
	for _, m := range matches {
		if err := os.Remove(m); err != nil {
			t.Fatal(err)
		}
	}
	out, code := demo(state)
	groupDir := filepath.Join(state, "groups", "demo-3")
	if code != 1 {
		t.Fatalf("after the state was lost: exit %d\n%s", code, out)
	}
	for _, want := range []string{"made by an earlier run whose records are gone", `"lifeboat demo --stop --members 3"`, "remove " + groupDir} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if out, code := demo(state, "--stop"); code != 0 || !strings.Contains(out, "stopped") {
		t.Fatalf("stop: exit %d: %s", code, out)
	}
	if err := os.RemoveAll(groupDir); err != nil {
		t.Fatal(err)
	}
	fresh := t.TempDir()
	t.Cleanup(func() { demo(fresh, "--stop") })
	if rep := runDemo(t, bin, fresh, "--members", "3"); rep.AccountsCreated != 3 || rep.FollowsSeeded != 6 {
		t.Fatalf("in a new state directory: %+v", rep)
	}
}

// bulkFraction maps a plain progress line ("  follows: 40 of 132") to how
// far the bulk work of a demo is, from 0 to 1: the arrivals (accounts and
// sign-ins) are the first 30%, the follows the next 60%, the lists the
// rest. ok is false for other lines.
func bulkFraction(line string) (f float64, ok bool) {
	var step string
	var done, total int
	if n, _ := fmt.Sscanf(strings.TrimSpace(line), "%s %d of %d", &step, &done, &total); n != 3 || total == 0 {
		return 0, false
	}
	x := float64(done) / float64(total)
	switch step {
	case "arrivals:":
		return 0.3 * x, true
	case "follows:":
		return 0.3 + 0.6*x, true
	case "lists:":
		return 0.9 + 0.1*x, true
	}
	return 0, false
}

func TestBulkFraction(t *testing.T) {
	for line, want := range map[string]float64{
		"  arrivals: 60 of 120":    0.15,
		"  follows: 0 of 14280":    0.3,
		"  follows: 7140 of 14280": 0.6,
		"  lists: 120 of 120":      1,
	} {
		if got, ok := bulkFraction(line); !ok || math.Abs(got-want) > 1e-9 {
			t.Errorf("%q: %v %v, want %v", line, got, ok, want)
		}
	}
	for _, line := range []string{"==> Seed follows", "  follows: done", "  invites: 3 issued", "  follows failed: x"} {
		if _, ok := bulkFraction(line); ok {
			t.Errorf("%q read as progress", line)
		}
	}
}

// killWhen starts `lifeboat demo ARGS` and kills it with SIGKILL once its
// progress lines say the bulk work has reached at (see bulkFraction), after
// a further pause of extra. It reports whether the process died of that
// signal, and the furthest progress seen.
func killWhen(t *testing.T, bin, state string, at float64, extra time.Duration, args ...string) (bool, float64) {
	t.Helper()
	var mu sync.Mutex
	seen := 0.0
	killed := killDemo(t, bin, state, func(line string) bool {
		f, ok := bulkFraction(line)
		if !ok {
			if !strings.HasPrefix(line, "  arrivals:") && !strings.HasPrefix(line, "  follows:") {
				t.Logf("run: %s", line)
			}
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		seen = max(seen, f)
		return f >= at
	}, extra, args...)
	mu.Lock()
	defer mu.Unlock()
	return killed, seen
}

// killSeed is the random-kill test's seed: printed in the log, and taken
// from LIFEBOAT_KILL_SEED to replay a failure.
func killSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("LIFEBOAT_KILL_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("LIFEBOAT_KILL_SEED: %v", err)
		}
	}
	t.Logf("kill seed %d (replay with LIFEBOAT_KILL_SEED=%d)", seed, seed)
	return seed
}

// An operator's worst run: the demo with 120 members is killed with
// SIGKILL at 10 to 15 random moments of its bulk work (account making,
// sign-ins, follows, lists), each run resuming the one before, and then
// run once more. The server is never restarted, so whatever a kill leaves
// half made in it (a follow request in GoToSocial's database but not in
// its cache) is still there for the next run. The end state, read from
// the server, is exact: 120 accounts, every follow both ways, one list
// each holding the others, one welcome, no request left waiting.
func TestDemoRandomKill9(t *testing.T) {
	t.Parallel()
	members := 120
	if s := os.Getenv("LIFEBOAT_KILL_MEMBERS"); s != "" {
		members, _ = strconv.Atoi(s)
	}
	rng := rand.New(rand.NewPCG(killSeed(t), 0))
	bin := lifeboatBin(t)
	state := t.TempDir()
	args := []string{"--members", strconv.Itoa(members)}
	t.Cleanup(func() {
		cmd := exec.Command(bin, append([]string{"demo", "--stop"}, args...)...)
		cmd.Env = demoEnv(state)
		cmd.Run()
	})
	kills := 10 + rng.IntN(6)
	at := make([]float64, kills)
	for i := range at {
		at[i] = rng.Float64()
	}
	sort.Float64s(at)
	killed := 0
	start := time.Now()
	for i, f := range at {
		extra := time.Duration(rng.IntN(400)) * time.Millisecond
		k, seen := killWhen(t, bin, state, f, extra, args...)
		t.Logf("run %d: kill at %.0f%% of the bulk work +%s: killed=%v, reached %.0f%% (%s)", i+1, 100*f, extra, k, 100*seen, time.Since(start).Round(time.Second))
		if k {
			killed++
		}
	}
	if killed < 9 {
		t.Fatalf("only %d of %d runs were killed mid-way; the test proves nothing", killed, kills)
	}
	rep := runDemo(t, bin, state, args...)
	n := members
	if rep.AccountsCreated != n || rep.FollowsSeeded != n*(n-1) || rep.ListsCreated != n || rep.ListEntries != n*(n-1) || rep.Welcomes != 1 {
		t.Errorf("report after %d kills = %+v", killed, rep)
	}
	g := generatedGroup(n)
	verifyServer(t, state, g.Name, g.Title, rep.Server, n)
	t.Logf("%d kills and the last run took %s", killed, time.Since(start).Round(time.Second))
}
