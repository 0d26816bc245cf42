// Command pledges is the pledge benchmark: it starts the group's web
// server on loopback (SQLite, or PostgreSQL with -database), has a load
// generator post N pledges from C concurrent clients the way browsers do
// (pledge page for the CSRF cookie, then the form), and prints pledges
// accepted per second, p50 and p99 latency, and whether the store holds
// exactly one pledge per successful response. Every pledge also sends a
// real confirmation mail to an SMTP server on loopback; the run waits for
// them and checks there is exactly one per pledge.
//
//	go run ./bench/pledges -n 5000 -c 64
//	go run ./bench/pledges -n 5000 -c 64 -database postgres://…
//
// The tests in this folder run it at a small size on SQLite and on a
// private PostgreSQL (go test ./bench/pledges -args -n 5000 for more).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/mailer"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/web"
)

// Options are the benchmark's knobs.
type Options struct {
	N           int    // pledges (one per member)
	Concurrency int    // concurrent clients
	DatabaseURL string // PostgreSQL; empty means SQLite in a temp dir
	MailWait    time.Duration
}

// Result is what a run measured.
type Result struct {
	Store         string  `json:"store"`
	Pledges       int     `json:"pledges"`
	Concurrency   int     `json:"concurrency"`
	Succeeded     int     `json:"succeeded"`
	Failed        int     `json:"failed"`
	Stored        int     `json:"stored"`
	Seconds       float64 `json:"seconds"`
	PerSecond     float64 `json:"pledges_per_second"`
	P50ms         float64 `json:"p50_ms"`
	P99ms         float64 `json:"p99_ms"`
	Mails         int     `json:"confirmation_mails"`
	DuplicateMail int     `json:"duplicate_mails"`
}

// OK reports whether the store holds exactly the successful pledges and
// every pledge got exactly one confirmation mail.
func (r Result) OK() bool {
	return r.Failed == 0 && r.Stored == r.Succeeded && r.Mails == r.Succeeded && r.DuplicateMail == 0
}

func (r Result) String() string {
	return fmt.Sprintf("store=%s pledges=%d concurrency=%d ok=%d failed=%d stored=%d  %.0f pledges/s  p50=%.1fms p99=%.1fms  mails=%d duplicates=%d  %s",
		r.Store, r.Pledges, r.Concurrency, r.Succeeded, r.Failed, r.Stored, r.PerSecond, r.P50ms, r.P99ms, r.Mails, r.DuplicateMail,
		map[bool]string{true: "CONSISTENT", false: "MISMATCH"}[r.OK()])
}

func main() {
	var o Options
	var asJSON bool
	flag.IntVar(&o.N, "n", 2000, "pledges to post (one per generated member)")
	flag.IntVar(&o.Concurrency, "c", 32, "concurrent clients")
	flag.StringVar(&o.DatabaseURL, "database", os.Getenv("LIFEBOAT_DATABASE_URL"), "PostgreSQL URL (default SQLite in a temp dir)")
	flag.BoolVar(&asJSON, "json", false, "print the result as JSON")
	flag.Parse()
	r, err := Run(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if asJSON {
		json.NewEncoder(os.Stdout).Encode(r)
	} else {
		fmt.Println(r)
	}
	if !r.OK() {
		os.Exit(1)
	}
}

func benchGroup(n int) *groups.Group {
	g := &groups.Group{Version: 1, Name: "bench-group", Title: "Bench group", ViableMass: n,
		Lead:        groups.Person{Name: "Lead", Email: "lead@example.org"},
		Destination: groups.Destination{Type: groups.DestLocal, Software: "gotosocial"}}
	for i := 0; i < n; i++ {
		g.Members = append(g.Members, groups.Member{Name: fmt.Sprintf("Member %d", i), Email: fmt.Sprintf("m%d@example.org", i)})
	}
	return g
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// Run starts the server and drives it.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.N < 2 {
		o.N = 2
	}
	if o.Concurrency < 1 {
		o.Concurrency = 1
	}
	if o.MailWait == 0 {
		o.MailWait = 2 * time.Minute
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := Result{Store: "sqlite", Pledges: o.N, Concurrency: o.Concurrency}
	cfg := store.Config{URL: o.DatabaseURL, MaxConns: o.Concurrency + 4}
	if o.DatabaseURL == "" {
		dir, err := os.MkdirTemp("", "lifeboat-bench-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	} else {
		res.Store = "postgres"
	}
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer st.Close()

	mb, err := mailbox.Start("127.0.0.1:0", nil)
	if err != nil {
		return res, err
	}
	defer mb.Close()
	sender, err := mailer.New(mailer.Config{Addr: mb.Addr, Security: mailer.None, From: "bench@example.org"})
	if err != nil {
		return res, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	g := benchGroup(o.N)
	srv, err := web.New(ctx, web.Config{Group: g, Store: st, Mail: sender, BaseURL: "http://" + ln.Addr().String(),
		PledgeRate: -1, RedeemRate: -1, PageRate: -1, TickEvery: time.Hour})
	if err != nil {
		return res, err
	}
	served := make(chan error, 1)
	go func() { served <- web.Serve(ctx, ln, srv.Handler()) }()
	go srv.Run(ctx)

	links := make([]string, o.N)
	for i, m := range g.Members {
		if links[i], err = srv.PledgeLink(m.Email); err != nil {
			return res, err
		}
	}
	tr := &http.Transport{MaxIdleConnsPerHost: o.Concurrency, MaxConnsPerHost: o.Concurrency}
	defer tr.CloseIdleConnections()

	var (
		next      atomic.Int64
		ok, fail  atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, o.N)
		wg        sync.WaitGroup
		firstErr  atomic.Value
	)
	start := time.Now()
	for w := 0; w < o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			csrf := ""
			var mine []time.Duration
			for {
				i := int(next.Add(1) - 1)
				if i >= o.N {
					break
				}
				if csrf == "" { // like a browser: open the page once for the form token
					resp, err := c.Get(links[i])
					if err != nil {
						firstErr.CompareAndSwap(nil, err)
						fail.Add(1)
						continue
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if m := csrfRE.FindSubmatch(body); m != nil {
						csrf = string(m[1])
					}
				}
				form := url.Values{"csrf": {csrf}, "action": {"pledge"}, "mode": {"any"}, "show_name": {"1"}}
				if i%3 == 1 {
					form.Set("mode", "min")
					form.Set("threshold", fmt.Sprint(1+i%(o.N-1)))
				}
				t0 := time.Now()
				resp, err := c.Post(links[i], "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
				d := time.Since(t0)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					fail.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusSeeOther {
					firstErr.CompareAndSwap(nil, fmt.Errorf("pledge %d: status %d", i, resp.StatusCode))
					fail.Add(1)
					continue
				}
				ok.Add(1)
				mine = append(mine, d)
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	res.Succeeded, res.Failed = int(ok.Load()), int(fail.Load())
	res.Seconds = elapsed.Seconds()
	res.PerSecond = float64(res.Succeeded) / elapsed.Seconds()
	slices.Sort(latencies)
	res.P50ms = pct(latencies, 50)
	res.P99ms = pct(latencies, 99)

	ps, err := st.Pledges().List(ctx, g.Name)
	if err != nil {
		return res, err
	}
	res.Stored = len(ps)

	// Wait for the confirmation mails (sent in the background), then
	// count them per recipient.
	deadline := time.Now().Add(o.MailWait)
	for len(mb.Messages()) < res.Succeeded && time.Now().Before(deadline) {
		srv.Tick(ctx) // resumes any the queue dropped
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	per := map[string]int{}
	for _, m := range mb.Messages() {
		for _, to := range m.To {
			per[strings.ToLower(to)]++
		}
	}
	res.Mails = len(per)
	for _, n := range per {
		res.DuplicateMail += n - 1
	}
	if e, _ := firstErr.Load().(error); e != nil && res.Failed > 0 {
		return res, fmt.Errorf("%d pledges failed, first: %w", res.Failed, e)
	}
	cancel()
	<-served
	return res, nil
}

func pct(sorted []time.Duration, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	i = min(max(i-1, 0), len(sorted)-1)
	return float64(sorted[i]) / float64(time.Millisecond)
}
