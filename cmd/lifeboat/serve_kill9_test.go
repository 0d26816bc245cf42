package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/internal/webmember"
)

// freeAddr is a loopback address nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serveProc is one `lifeboat serve` process.
type serveProc struct {
	cmd  *exec.Cmd
	done chan error
}

// startServe starts `lifeboat serve FILE` on addr and waits until its
// pages answer.
func startServe(t *testing.T, bin, state, file, addr string) *serveProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", file, "--addr", addr, "--base-url", "http://"+addr,
		"--redeem-rate", "-1", "--page-rate", "-1", "--pledge-rate", "-1")
	cmd.Env = demoEnv(state)
	log, err := os.OpenFile(filepath.Join(state, "serve.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-p.done:
			b, _ := os.ReadFile(filepath.Join(state, "serve.log"))
			t.Fatalf("serve exited: %v\n%s", err, b)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not answer within 5 minutes")
		}
	}
}

// kill ends the process with SIGKILL and reports whether that signal
// ended it.
func (p *serveProc) kill() bool {
	p.cmd.Process.Signal(syscall.SIGKILL)
	err := <-p.done
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
}

// A redemption storm: every member of a launched group on the local
// server redeems their invite through the web pages at once, and `lifeboat
// serve` is killed with SIGKILL as the first account appears on the
// server and again when half of them have; each time serve is started
// again and the members who saw an error retry from their invite link.
// In the end every member has exactly one account on the server (read
// with the admin API), connected to Lifeboat (their token signs in as
// them), and the store holds one account each.
func TestServeRedemptionStormKill9(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bin, state := lifeboatBin(t), t.TempDir()
	const n = 6
	const name = "storm-6"
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nname: %s\ntitle: Storm of six\nviable_mass: 2\nlead: {name: Member One, email: member1@example.org}\n"+
		"destination: {type: local, software: gotosocial}\nmembers:\n", name)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  - {name: Member %d, email: member%d@example.org, username: member%d}\n", i, i, i)
	}
	file := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// serve leaves the local server running, as the demo does.
		cmd := exec.Command(bin, "demo", "--stop", "--group", file)
		cmd.Env = demoEnv(state)
		cmd.Run()
	})
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("member%d@example.org", i+1)
	}
	// "pledges status" records the group in the store; then everyone pledges.
	if _, errs, code := lb(t, state, "pledges", "status", file); code != 0 {
		t.Fatalf("pledges status: exit %d: %s", code, errs)
	}
	pledge(t, state, name, emails...)
	// serve starts the local server and launches the viable group by
	// itself (no mail relay: the invites are handed out as links).
	addr := freeAddr(t)
	base := "http://" + addr
	srv := startServe(t, bin, state, file, addr)
	defer func() { srv.kill() }()
	var rows [][]string
	for deadline := time.Now().Add(40 * time.Second); len(rows) != n+1; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(state, "serve.log"))
			t.Fatalf("no invites for everyone after 2 minutes: %v\nserve's log:\n%s", rows, log)
		}
		if out, _, code := lb(t, state, "invites", "export", file, "--base-url", base); code == 0 {
			rows, _ = csv.NewReader(strings.NewReader(out)).ReadAll()
		}
	}
	links := map[string]string{}
	for _, r := range rows[1:] {
		links[r[1]] = r[2]
	}
	serverURL := localURL(t, state, name)
	adminToken := localAdminToken(t, filepath.Join(state, "groups", name, "local"))
	admin := fedi.New(serverURL).WithToken(adminToken)
	members := func() int {
		as, err := admin.AdminAccounts(ctx, url.Values{"origin": {"local"}})
		if err != nil {
			return -1
		}
		c := 0
		for _, a := range as {
			if strings.HasPrefix(a.Username, "member") {
				c++
			}
		}
		return c
	}

	start := time.Now()
	// The storm: every member at once, each retrying from the invite
	// link after an error (serve gone, or a page that did not finish).
	var arrived atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	failures := make([]string, n)
	for i, email := range emails {
		wg.Add(1)
		go func() {
			defer wg.Done()
			password := fmt.Sprintf("Storm-Password-%d-Long", i+1)
			for try := 0; ; try++ {
				select {
				case <-stop:
					failures[i] = "gave up"
					return
				default:
				}
				err := redeem(ctx, links[email], email, fmt.Sprintf("member%d", i+1), password)
				if err == nil {
					arrived.Add(1)
					return
				}
				failures[i] = err.Error()
				time.Sleep(200 * time.Millisecond)
			}
		}()
	}

	// Kill serve as the first account appears, and again at half.
	kills := 0
	for _, at := range []int{1, n / 2} {
		deadline := time.Now().Add(3 * time.Minute)
		for members() < at && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := members(); got < at || int(arrived.Load()) == n {
			t.Logf("kill point %d accounts: %d accounts, %d arrived", at, got, arrived.Load())
			continue
		}
		if srv.kill() {
			kills++
		}
		t.Logf("killed serve at %d accounts on the server, %d members through (%s)", members(), arrived.Load(), time.Since(start).Round(time.Millisecond))
		srv = startServe(t, bin, state, file, addr)
		t.Logf("serve is back (%s)", time.Since(start).Round(time.Millisecond))
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(5 * time.Minute):
		close(stop)
		<-finished
		t.Fatalf("members did not all arrive: %q", failures)
	}
	t.Logf("all %d members arrived (%s); last errors seen: %q", n, time.Since(start).Round(time.Millisecond), failures)
	if kills < 2 {
		t.Fatalf("serve was killed %d times mid-storm, want 2: the test proves nothing", kills)
	}

	// Exactly one account each, on the server and in the store.
	as, err := admin.AdminAccounts(ctx, url.Values{"origin": {"local"}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, a := range as {
		seen[strings.ToLower(a.Email)]++
	}
	for _, e := range emails {
		if seen[e] != 1 {
			t.Errorf("%s has %d accounts on the server", e, seen[e])
		}
	}
	if len(as) != n+1 {
		t.Errorf("the server has %d local accounts, want %d members and the admin", len(as), n)
	}
	st, err := store.Open(ctx, store.Config{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	accs, err := st.Accounts().List(ctx, name)
	if err != nil || len(accs) != n {
		t.Fatalf("%d accounts in the store (%v), want %d", len(accs), err, n)
	}
	for _, a := range accs {
		me, err := fedi.New(serverURL).WithToken(a.Token).VerifyCredentials(ctx)
		if err != nil || !strings.EqualFold(me.Username, strings.Split(a.Email, "@")[0]) {
			t.Errorf("%s's token: %+v, %v", a.Email, me, err)
		}
	}
}

// redeem plays one member from their invite link to Lifeboat's result
// page: the account form (skipped when the account exists), then the
// server's sign-in and authorization.
func redeem(ctx context.Context, link, email, username, password string) error {
	m := webmember.New()
	p, err := m.Get(ctx, link)
	if err != nil {
		return err
	}
	if p.Has(`id="result"`) {
		return nil
	}
	if p.Has(`name="password"`) {
		if p, err = m.CreateAccount(ctx, p, username, password); err != nil {
			return err
		}
	}
	if !p.Has(`id="authorize"`) {
		return fmt.Errorf("after the account form (%d): no connect link", p.Status)
	}
	if p, err = m.Connect(ctx, p, email, password); err != nil {
		return err
	}
	if !p.Has(`id="result"`) {
		return fmt.Errorf("after connecting (%d): no result", p.Status)
	}
	return nil
}

// localURL is the URL of the group's local server, from its sealed
// server.json.
func localURL(t *testing.T, state, group string) string {
	t.Helper()
	dir := filepath.Join(state, "groups", group, "local")
	keys, err := store.LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.ReadSealedFile(keys, filepath.Join(dir, "server.json"))
	if err != nil {
		t.Fatal(err)
	}
	var port int
	if i := strings.Index(string(b), `"port":`); i >= 0 {
		fmt.Sscanf(string(b[i+len(`"port":`):]), "%d", &port)
	}
	if port == 0 {
		t.Fatalf("no port in server.json")
	}
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}
