// Command mesh measures how fast Lifeboat seeds a group's follow mesh on a
// real GoToSocial, against two references in the same run: a naive
// sequential go-mastodon loop, and the server's own ceiling (a plain
// concurrent client with no bookkeeping, at the best worker count). It
// runs on plain loopback and through a proxy that adds latency each way,
// as a real server far away would.
//
//	go run ./bench/mesh -sizes 50,100,200 -latency 50ms
//
// Every mode gets its own fresh group on one server, so each measures the
// same work: N(N-1) follows, each accepted by its (locked) target. A mode
// stops after -budget and reports the rate it reached.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-mastodon"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/meshcheck"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/local"
)

func main() {
	sizes := flag.String("sizes", "50,100,200", "group sizes")
	latency := flag.Duration("latency", 50*time.Millisecond, "added delay each way for the far-server run (0: skip it)")
	farSizes := flag.String("far-sizes", "50", "group sizes for the far-server run")
	budget := flag.Duration("budget", 60*time.Second, "time limit per reference mode; its rate is taken over what it did")
	workers := flag.Int("workers", 0, "Lifeboat's concurrent requests (0: the destination's hint)")
	flag.Parse()
	if err := run(*sizes, *farSizes, *latency, *budget, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(sizes, farSizes string, latency, budget time.Duration, workers int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "lifeboat-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dest := local.New(local.Config{Dir: filepath.Join(dir, "gts"), Title: "bench"})
	srv, err := dest.Start(ctx, progress.Discard)
	if err != nil {
		return err
	}
	defer dest.Stop(ctx)
	st, err := store.Open(ctx, store.Config{Dir: filepath.Join(dir, "state")})
	if err != nil {
		return err
	}
	defer st.Close()

	fmt.Printf("%-6s %-9s %5s %10s %10s %10s %8s %8s\n", "where", "size", "n", "naive/s", "ceiling/s", "lifeboat/s", "vs ceil", "vs naive")
	logins, err := arrival.OpenLogins(filepath.Join(dir, "logins.csv"))
	if err != nil {
		return err
	}
	b := &bench{st: st, srv: srv, logins: logins, budget: budget, settle: 3 * time.Second, workers: workers}
	for _, n := range parseSizes(sizes) {
		if err := b.compare(ctx, "near", srv.URL, n); err != nil {
			return err
		}
	}
	if latency > 0 {
		proxy := delayProxy(srv.URL, latency)
		defer proxy.Close()
		for _, n := range parseSizes(farSizes) {
			if err := b.compare(ctx, "far", proxy.URL, n); err != nil {
				return err
			}
		}
	}
	return nil
}

type bench struct {
	st      store.Store
	srv     *provision.Server
	logins  arrival.Logins
	budget  time.Duration
	settle  time.Duration
	workers int
	groups  int
}

// member is one signed-in account of a bench group.
type member struct{ id, token string }

// group makes a fresh group of n signed-in members reached through base.
func (b *bench) group(ctx context.Context, base string, n int) (*arrival.Engine, *groups.Group, []member, error) {
	b.groups++
	name := fmt.Sprintf("b%d", b.groups)
	g := &groups.Group{Version: 1, Name: name, Title: "Bench " + name, ViableMass: 2,
		Lead:        groups.Person{Name: "L", Email: name + "x@example.org"},
		Destination: groups.Destination{Type: groups.DestLocal}}
	for i := 0; i < n; i++ {
		g.Members = append(g.Members, groups.Member{Name: "M", Email: fmt.Sprintf("%s_%d@example.org", name, i), Username: fmt.Sprintf("%s_%d", name, i)})
	}
	if err := escape.SaveGroup(ctx, b.st, g); err != nil {
		return nil, nil, nil, err
	}
	srv := &provision.Server{URL: base, Software: b.srv.Software, AdminToken: b.srv.AdminToken, Accounts: b.srv.Accounts, Concurrency: b.srv.Concurrency}
	e := arrival.New(arrival.Config{Store: b.st, Group: g, Server: srv, Workers: b.workers, Logins: b.logins})
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, m := range g.Members {
		wg.Add(1)
		sem <- struct{}{}
		go func(email string) {
			defer wg.Done()
			defer func() { <-sem }()
			err := e.Join(ctx, email, "", "")
			if err == nil {
				err = e.SignIn(ctx, email)
			}
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
		}(m.Email)
	}
	wg.Wait()
	if firstErr != nil {
		return nil, nil, nil, firstErr
	}
	accs, err := b.st.Accounts().List(ctx, name)
	if err != nil {
		return nil, nil, nil, err
	}
	ms := make([]member, len(accs))
	for i, a := range accs {
		ms[i] = member{a.ID, a.Token}
	}
	return e, g, ms, nil
}

func (b *bench) compare(ctx context.Context, where, base string, n int) error {
	follows := n * (n - 1)
	// Every group is made first, so that the timed runs do nothing else;
	// each run starts after a pause in which the server finishes the side
	// effects of the one before. Lifeboat runs between the ceiling's runs,
	// so the server's growing tables favour neither.
	type grp struct {
		e  *arrival.Engine
		g  *groups.Group
		ms []member
	}
	gs := make([]grp, 5)
	for i := range gs {
		e, g, ms, err := b.group(ctx, base, n)
		if err != nil {
			return err
		}
		gs[i] = grp{e, g, ms}
	}
	settle := func() { time.Sleep(b.settle) }

	settle()
	naive := b.naive(ctx, base, gs[0].ms)
	settle()
	best := b.ceiling(ctx, base, gs[1].ms, 16)

	settle()
	g, ms := gs[2].g, gs[2].ms
	var started, done time.Time
	e := arrival.New(arrival.Config{Store: b.st, Group: g, Workers: b.workers,
		Server: &provision.Server{URL: base, Accounts: b.srv.Accounts, Concurrency: b.srv.Concurrency},
		Emit: func(ev progress.Event) {
			if ev.Step == arrival.StepFollows && ev.Kind == progress.StepStarted {
				started = time.Now()
			}
			if ev.Step == arrival.StepFollows && ev.Kind == progress.StepDone {
				done = time.Now()
			}
		}})
	if err := e.Seed(ctx); err != nil {
		return err
	}
	for i, w := range []int{32, 64} {
		settle()
		if r := b.ceiling(ctx, base, gs[3+i].ms, w); r > best {
			best = r
		}
	}
	lb := float64(follows) / done.Sub(started).Seconds()
	// The measured run must have made the room exact.
	var cm []meshcheck.Member
	for i, m := range ms {
		cm = append(cm, meshcheck.Member{Email: strconv.Itoa(i), ID: m.id, Token: m.token})
	}
	if err := meshcheck.Verify(ctx, base, e.ListTitle(), cm); err != nil {
		return fmt.Errorf("after the Lifeboat run: %w", err)
	}
	fmt.Printf("%-6s %-9s %5d %10.0f %10.0f %10.0f %7.2fx %7.1fx\n", where, fmt.Sprintf("N=%d", n), follows, naive, best, lb, lb/best, lb/naive)
	return nil
}

// naive follows one pair at a time with go-mastodon, accepting each
// request with the target's token, until done or out of time.
func (b *bench) naive(ctx context.Context, base string, ms []member) float64 {
	clients := make([]*mastodon.Client, len(ms))
	for i, m := range ms {
		clients[i] = mastodon.NewClient(&mastodon.Config{Server: base, AccessToken: m.token})
	}
	start := time.Now()
	n := 0
	for i := range ms {
		for j := range ms {
			if i == j {
				continue
			}
			if time.Since(start) > b.budget {
				return float64(n) / time.Since(start).Seconds()
			}
			r, err := clients[i].AccountFollow(ctx, mastodon.ID(ms[j].id))
			if err == nil && !r.Following {
				err = clients[j].FollowRequestAuthorize(ctx, mastodon.ID(ms[i].id))
			}
			if err == nil {
				n++
			}
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// ceiling is a plain concurrent client: w workers, raw HTTP, no journal,
// no rate-limit bookkeeping.
func (b *bench) ceiling(ctx context.Context, base string, ms []member, w int) float64 {
	type pair struct{ a, b int }
	work := make(chan pair)
	var n atomic.Int64
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: w}}
	post := func(path, token string) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s: %s", path, resp.Status)
		}
		var sb strings.Builder
		buf := make([]byte, 4096)
		for {
			k, err := resp.Body.Read(buf)
			sb.Write(buf[:k])
			if err != nil {
				break
			}
		}
		return sb.String(), nil
	}
	start := time.Now()
	deadline := start.Add(b.budget)
	var wg sync.WaitGroup
	for i := 0; i < w; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				body, err := post("/api/v1/accounts/"+ms[p.b].id+"/follow", ms[p.a].token)
				if err == nil && strings.Contains(body, `"requested":true`) {
					_, err = post("/api/v1/follow_requests/"+ms[p.a].id+"/authorize", ms[p.b].token)
				}
				if err == nil {
					n.Add(1) // only follows that were made count
				}
			}
		}()
	}
feed:
	for k := 1; k < len(ms); k++ {
		for i := range ms {
			if time.Now().After(deadline) {
				break feed
			}
			work <- pair{i, (i + k) % len(ms)}
		}
	}
	close(work)
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

// delayProxy forwards to target, sleeping d before each request and
// before each response: a server d away each way.
func delayProxy(target string, d time.Duration) *httptest.Server {
	u, _ := url.Parse(target)
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u) // also sets the Host header to the target's
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 256},
	}
	rp.ModifyResponse = func(*http.Response) error { time.Sleep(d); return nil }
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(d)
		rp.ServeHTTP(w, r)
	}))
}

func parseSizes(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n >= 2 {
			out = append(out, n)
		}
	}
	return out
}
