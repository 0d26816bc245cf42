package arrival_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/faultproxy"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/meshcheck"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
)

// fedRoom is a group on two federating servers: its first members have
// their accounts on room, the destination (rows without an address, as
// the destination's rows made before addresses were kept), the others on
// home, where they kept their own (remote members).
type fedRoom struct {
	room, home *gtstest.Fed
	g          *groups.Group
	dir        string            // the store's state directory
	addr       map[string]string // address by email
}

func newFedRoom(t *testing.T, name string, onRoom, onHome int) *fedRoom {
	t.Helper()
	room, home := gtstest.Federation(t)
	// The servers outlive a test (and -count runs): names of their own.
	name = fmt.Sprintf("%s%d", name, time.Now().UnixNano()%1e7)
	fr := &fedRoom{room: room, home: home, g: group(name, onRoom+onHome), dir: t.TempDir(), addr: map[string]string{}}
	st := fr.open(t)
	defer st.Close()
	ctx := context.Background()
	if err := escape.SaveGroup(ctx, st, fr.g); err != nil {
		t.Fatal(err)
	}
	for i, m := range fr.g.Members {
		on := room
		if i >= onRoom {
			on = home
		}
		user := fmt.Sprintf("%s_%d", name, i)
		id, tok := on.Account(t, user)
		a := store.Account{Group: name, Email: m.Email, Server: on.Server.URL, ID: id, Username: user, Token: tok,
			CreatedAt: time.Now().Add(time.Duration(i) * time.Millisecond)}
		if on == home {
			a.Acct = user + "@" + home.Domain
		}
		if err := st.Accounts().Put(ctx, a); err != nil {
			t.Fatal(err)
		}
		fr.addr[strings.ToLower(m.Email)] = user + "@" + on.Domain
	}
	return fr
}

func (fr *fedRoom) open(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Dir: fr.dir})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// direct reaches both servers through the federation's HTTP client, with
// base under the rate-limiting client (nil: the federation's transport).
func direct(base http.RoundTripper) func(string) *fedi.Client {
	hc := gtstest.FederationHTTPClient()
	if base != nil {
		hc = &http.Client{Transport: base}
	}
	return func(u string) *fedi.Client { return fedi.New(u, fedi.WithHTTPClient(hc)) }
}

func (fr *fedRoom) engine(st store.Store, client func(string) *fedi.Client, emit progress.Func) *arrival.Engine {
	return arrival.New(arrival.Config{Store: st, Group: fr.g, Server: fr.room.Server, Workers: 4, Client: client, Emit: emit})
}

// check reads the mesh back from both servers, each member's from their
// own server with their own token (meshcheck): everyone follows and is
// followed by exactly everyone else and has one list of the group
// holding exactly everyone else; and no follow request waits, and the
// lead posted one welcome.
func (fr *fedRoom) check(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	accs, err := st.Accounts().List(ctx, fr.g.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(accs) != len(fr.g.Members) {
		t.Fatalf("%d accounts in the store, want %d", len(accs), len(fr.g.Members))
	}
	n := len(accs)
	got, err := meshcheck.Check(ctx, fr.room.Server.URL, fr.g.Title, meshcheck.Accounts(accs), fedi.WithHTTPClient(gtstest.FederationHTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	if want := (meshcheck.Counts{Follows: n * (n - 1), Lists: n, Listed: n * (n - 1)}); got != want {
		t.Errorf("read back %+v, want %+v", got, want)
	}
	for _, a := range accs {
		c := direct(nil)(a.Server).WithToken(a.Token)
		if reqs, err := c.FollowRequests(ctx); err != nil || len(reqs) != 0 {
			t.Errorf("%s: %d follow requests waiting (%v)", fr.addr[a.Email], len(reqs), err)
		}
		if strings.EqualFold(a.Email, fr.g.Lead.Email) {
			if sts, err := c.AccountStatuses(ctx, a.ID); err != nil || len(sts) != 1 {
				t.Errorf("the lead has %d posts (%v), want 1 welcome", len(sts), err)
			}
		}
	}
}

// follows is what a run asked of the servers: every POST of a follow,
// by the follower's token and the followed account's id there.
type follows struct {
	base     http.RoundTripper
	mu       sync.Mutex
	sent     map[string]int
	searches int // addresses resolved
}

func countFollows() *follows {
	return &follows{base: gtstest.FederationHTTPClient().Transport, sent: map[string]int{}}
}

func (f *follows) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/v1/accounts/") && strings.HasSuffix(r.URL.Path, "/follow") {
		f.mu.Lock()
		f.sent[r.Header.Get("Authorization")+" "+r.URL.Host+r.URL.Path]++
		f.mu.Unlock()
	}
	if r.URL.Path == "/api/v2/search" {
		f.mu.Lock()
		f.searches++
		f.mu.Unlock()
	}
	return f.base.RoundTrip(r)
}

// notArrived answers every acceptance of a follow request as the server
// does while the request has not reached it (404), without asking it.
type notArrived struct{}

func (notArrived) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/v1/follow_requests/") && strings.HasSuffix(r.URL.Path, "/authorize") {
		body := `{"error":"Not Found: follow request not found"}`
		return &http.Response{StatusCode: http.StatusNotFound, Status: "404 Not Found", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)), Request: r}, nil
	}
	return gtstest.FederationHTTPClient().Transport.RoundTrip(r)
}

func (f *follows) count(a store.Account, id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	host := strings.TrimPrefix(a.Server, "https://")
	return f.sent["Bearer "+a.Token+" "+host+"/api/v1/accounts/"+id+"/follow"]
}

func (f *follows) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.sent {
		n += c
	}
	return n
}

// idOn is b's account id on a's server, as a reads it.
func (fr *fedRoom) idOn(t *testing.T, a, b store.Account) string {
	t.Helper()
	if a.Server == b.Server {
		return b.ID
	}
	acc, err := direct(nil)(a.Server).WithToken(a.Token).ResolveAccount(context.Background(), fr.addr[b.Email])
	if err != nil {
		t.Fatalf("%s finds %s: %v", a.Email, fr.addr[b.Email], err)
	}
	return acc.ID
}

// events collects a run's progress events.
type events struct {
	mu  sync.Mutex
	all []progress.Event
}

func (ev *events) emit() progress.Func {
	return func(e progress.Event) {
		ev.mu.Lock()
		ev.all = append(ev.all, e)
		ev.mu.Unlock()
	}
}

func (ev *events) logged(substr string) bool {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, e := range ev.all {
		if e.Kind == progress.Log && strings.Contains(e.Message, substr) {
			return true
		}
	}
	return false
}

func wantStats(t *testing.T, e *arrival.Engine, n, remote int) {
	t.Helper()
	s, err := e.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Arrived != n || s.Follows != n*(n-1) || s.Lists != n || s.Listed != n*(n-1) || s.Remote != remote || s.Welcomes != 1 {
		t.Errorf("stats = %+v, want %d arrived, %d follows, %d lists and entries, %d remote, 1 welcome", s, n, n*(n-1), n, remote)
	}
}

// Two members with accounts on home join a group of three on room: the
// mesh is complete both ways, read back from both servers, and every
// list holds everyone. Run again by a new engine, nothing is sent and no
// address is resolved again.
func TestRemoteMembersMeshBothWays(t *testing.T) {
	fr := newFedRoom(t, "both", 3, 2)
	st := fr.open(t)
	defer st.Close()
	ctx := context.Background()
	var ev events
	e := fr.engine(st, direct(nil), ev.emit())
	start := time.Now()
	if err := e.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded in %s", time.Since(start).Round(time.Millisecond))
	for _, e := range ev.all {
		if e.Kind == progress.Log {
			t.Logf("%s %s", e.Time.Format("15:04:05.000"), e.Message)
		}
	}
	fr.check(t, st)
	wantStats(t, e, 5, 2)
	if !ev.logged("follows between servers are on their way") {
		t.Error("no follow between servers waited for federation: the test crossed no servers")
	}
	// The arrivals screen reads the destination's journal, whichever
	// server the last account lives on.
	if r, err := arrival.ReadRoom(ctx, st, fr.g, fr.room.Server.URL); err != nil || r.Follows != 20 || r.Lists != 5 || r.Arrived != 5 || r.Remote != 2 {
		t.Errorf("room %+v, %v; want 20 follows, 5 lists, 5 arrived, 2 remote", r, err)
	}
	// A remote member's place, read on their own server.
	remote := fr.g.Members[4].Email
	if c, err := e.MemberCounts(ctx, remote); err != nil || c != (arrival.Counts{Following: 4, Followers: 4, Remote: 1}) {
		t.Errorf("%s: %+v, %v; want 4 and 4, 1 of the others remote", remote, c, err)
	}
	again := countFollows()
	if err := fr.engine(st, direct(again), nil).Seed(ctx); err != nil {
		t.Fatal(err)
	}
	if n := again.total(); n != 0 {
		t.Errorf("the second run sent %d follows, want none", n)
	}
	if again.searches != 0 {
		t.Errorf("the second run resolved %d addresses again, want none: they are journaled", again.searches)
	}
	fr.check(t, st)
}

// Follows between servers that have not arrived in the set time are
// reported by name, stay requested, and the next run confirms them
// without sending them again.
func TestStragglersReportedThenConfirmed(t *testing.T) {
	fr := newFedRoom(t, "late", 2, 1)
	st := fr.open(t)
	defer st.Close()
	ctx := context.Background()
	// With no time to wait, a follow can still arrive, be accepted and
	// show within the one look Seed takes. Here the followed members'
	// servers do not show the requests yet, as a busy federation would
	// not: the look finds every follow in flight.
	e := arrival.New(arrival.Config{Store: st, Group: fr.g, Server: fr.room.Server, Client: direct(notArrived{}), FollowWait: time.Nanosecond})
	err := e.Seed(ctx)
	var se *arrival.StragglersError
	if !errors.As(err, &se) || !errors.Is(err, arrival.ErrNotArrived) {
		t.Fatalf("seed with no time to wait: %v, want a StragglersError", err)
	}
	remote := strings.ToLower(fr.g.Members[2].Email)
	if len(se.Stragglers) == 0 || !strings.Contains(se.Error(), "have not arrived after") || !strings.Contains(se.Error(), fr.addr[remote]) {
		t.Errorf("report %q names no straggler or not the remote member", se.Error())
	}
	if ms := se.Members(); len(ms) == 0 {
		t.Error("no member named as waiting")
	}
	accs, _ := st.Accounts().List(ctx, fr.g.Name)
	again := countFollows()
	if err := fr.engine(st, direct(again), nil).Seed(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range se.Stragglers {
		var a, b store.Account
		for _, x := range accs {
			switch x.Email {
			case s.From:
				a = x
			case s.To:
				b = x
			}
		}
		if n := again.count(a, fr.idOn(t, a, b)); n != 0 {
			t.Errorf("%s follows %s: sent again %d times after it was reported in flight", s.From, s.To, n)
		}
	}
	fr.check(t, st)
	wantStats(t, e, 3, 1)
}

// A remote server that answers 429 for a while, and then does not answer
// at all for a while: the run waits, says so, and finishes when it comes
// back, with the mesh exact on both servers.
func TestRemoteServerLimitedThenDown(t *testing.T) {
	fr := newFedRoom(t, "down", 2, 2)
	p, err := faultproxy.StartVia(fr.home.Server.URL, gtstest.FederationHTTPClient().Transport, faultproxy.Policy{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	viaProxy := func(u string) *fedi.Client {
		if u == fr.home.Server.URL {
			return fedi.New(p.URL)
		}
		return direct(nil)(u)
	}
	go func() {
		for p.Requests() < 4 {
			time.Sleep(10 * time.Millisecond)
		}
		p.Storm(2500*time.Millisecond, true)
		for p.Requests() < 30 {
			time.Sleep(10 * time.Millisecond)
		}
		p.Down(8 * time.Second)
	}()
	st := fr.open(t)
	defer st.Close()
	var ev events
	e := fr.engine(st, viaProxy, ev.emit())
	start := time.Now()
	if err := e.Seed(context.Background()); err != nil {
		t.Fatalf("seed through 429 and a server down: %v", err)
	}
	t.Logf("seeded in %s through %s", time.Since(start).Round(time.Millisecond), p.Summary())
	if p.Counts()[faultproxy.TooMany] == 0 || p.Counts()[faultproxy.ResetBefore] == 0 {
		t.Fatalf("the remote server was never limited or down (%s): the test proves nothing", p.Summary())
	}
	for _, want := range []string{"answers 429: waiting until", "does not answer; waiting", "answers again"} {
		if !ev.logged(want) {
			t.Errorf("no report %q among the run's events", want)
		}
	}
	fr.check(t, st)
	wantStats(t, e, 4, 2)
}

// childEnv names the file that makes this test binary a seeding child.
const childEnv = "LIFEBOAT_MESH_CHILD"

// child is what a seeding child process needs: the store, the group,
// and plain-HTTP proxies standing for the two HTTPS servers (a child has
// no handle on the test's CA).
type child struct {
	Dir, Group string
	Members    int
	Room       string
	Via        map[string]string // proxy URL by server URL
}

// runChild seeds as a separate process would, writing its progress
// events to stdout as JSON lines until it is killed.
func runChild(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var c child
	if err := json.Unmarshal(b, &c); err != nil {
		return err
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Dir: c.Dir})
	if err != nil {
		return err
	}
	g := group(c.Group, c.Members)
	var mu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	e := arrival.New(arrival.Config{Store: st, Group: g, Server: &provision.Server{URL: c.Room}, Workers: 1,
		Client: func(u string) *fedi.Client { return fedi.New(c.Via[u]) },
		Emit: func(ev progress.Event) {
			mu.Lock()
			defer mu.Unlock()
			ev.Err = nil
			enc.Encode(ev)
		}})
	return e.Seed(ctx)
}

// Cross-server seeding killed with SIGKILL twice — while the follows are
// being sent, and once they are sent and waiting for federation — then
// run again: nothing is duplicated on either server, and the follows that
// were in flight are confirmed, never sent again.
func TestCrossServerSeedingKill9(t *testing.T) {
	if path := os.Getenv(childEnv); path != "" {
		if err := runChild(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	fr := newFedRoom(t, "kill", 3, 2)
	via := map[string]string{}
	// The proxies break nothing; they count the follows the children send
	// (a policy's Match sees every request).
	var sentFollows atomic.Int64
	count := func(r *http.Request) bool {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/follow") {
			sentFollows.Add(1)
		}
		return false
	}
	for _, f := range []*gtstest.Fed{fr.room, fr.home} {
		p, err := faultproxy.StartVia(f.Server.URL, gtstest.FederationHTTPClient().Transport, faultproxy.Policy{Seed: 1, Match: count})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		via[f.Server.URL] = p.URL
	}
	b, _ := json.Marshal(child{Dir: fr.dir, Group: fr.g.Name, Members: len(fr.g.Members), Room: fr.room.Server.URL, Via: via})
	cfg := filepath.Join(t.TempDir(), "child.json")
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// Killed at the first follow journaled; then three follows later,
	// while follows are being sent; then once every follow is sent and the
	// run waits for federation.
	never := func(progress.Event) bool { return false }
	killChildWhen(t, cfg, func(e progress.Event) bool { return e.Step == arrival.StepFollows && e.Kind == progress.Advanced }, nil)
	from := sentFollows.Load()
	killChildWhen(t, cfg, never, func() bool { return sentFollows.Load() >= from+3 })
	killChildWhen(t, cfg, func(e progress.Event) bool { return strings.Contains(e.Message, "on their way") }, nil)

	st := fr.open(t)
	defer st.Close()
	ctx := context.Background()
	accs, err := st.Accounts().List(ctx, fr.g.Name)
	if err != nil {
		t.Fatal(err)
	}
	// What stands on the servers after the kills.
	type sent struct {
		a, b    store.Account
		id      string // b's id on a's server
		waiting bool   // a's request waits on b's server for b to accept it
	}
	var inFlight []sent
	for _, a := range accs {
		for _, b := range accs {
			if a.Email == b.Email || a.Server == b.Server {
				continue
			}
			id := fr.idOn(t, a, b)
			rel, err := direct(nil)(a.Server).WithToken(a.Token).Relationship(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !rel.Requested && !rel.Following {
				continue
			}
			// On b's server: does the request wait there?
			ay := fr.idOn(t, b, a)
			reqs, err := direct(nil)(b.Server).WithToken(b.Token).FollowRequests(ctx)
			if err != nil {
				t.Fatal(err)
			}
			waiting := rel.Requested && slices.ContainsFunc(reqs, func(x fedi.Account) bool { return x.ID == ay })
			inFlight = append(inFlight, sent{a, b, id, waiting})
		}
	}
	if len(inFlight) == 0 {
		t.Fatal("no follow between servers was sent before the kills: the test proves nothing")
	}
	again := countFollows()
	if err := fr.engine(st, direct(again), nil).Seed(ctx); err != nil {
		t.Fatal(err)
	}
	// A request waiting on the other server is accepted and confirmed,
	// never sent again. One its server kept without delivering, or whose
	// acceptance was kept without being delivered back (the kill cut a
	// server's handling short), is sent once more.
	lost := 0
	for _, s := range inFlight {
		n := again.count(s.a, s.id)
		switch {
		case s.waiting && n != 0:
			t.Errorf("%s follows %s: its request waited on the other server, and was sent %d times more", s.a.Email, s.b.Email, n)
		case n > 1:
			t.Errorf("%s follows %s: sent %d times more, want at most once", s.a.Email, s.b.Email, n)
		}
		lost += btoi(!s.waiting)
	}
	t.Logf("%d follows between servers stood after the kills (%d made or lost, not waiting on the other server); the last run sent %d follows",
		len(inFlight), lost, again.total())
	fr.check(t, st)
	wantStats(t, fr.engine(st, direct(nil), nil), 5, 2)
}

// killChildWhen runs a seeding child and kills it with SIGKILL at the
// first event for which at is true, or as soon as ready (if not nil) is.
func killChildWhen(t *testing.T, cfg string, at func(progress.Event) bool, ready func() bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrossServerSeedingKill9$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+cfg)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var killed atomic.Bool
	kill := func() {
		if !killed.Swap(true) {
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	stop := make(chan struct{})
	defer close(stop)
	if ready != nil {
		go func() {
			for !ready() {
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
			}
			kill()
		}()
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var e progress.Event
		if json.Unmarshal(sc.Bytes(), &e) == nil && at(e) {
			kill()
			break
		}
	}
	io.Copy(io.Discard, out) // until the child is gone
	err = cmd.Wait()
	var ee *exec.ExitError
	if !killed.Load() || !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed at its point (%v):\n%s", err, stderr.String())
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
