package fedi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// windowServer enforces a fixed-window budget per token, as Mastodon's
// rack-attack does: limit requests per window, 429 with X-RateLimit-Reset
// beyond it. Every 429 it answers is a violation by the client.
type windowServer struct {
	limit      int
	window     time.Duration
	start      time.Time
	latency    time.Duration
	mu         sync.Mutex
	counts     map[string]int // token and window index → requests
	ok         atomic.Int64
	violations atomic.Int64
}

func (s *windowServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	idx := int64(now.Sub(s.start) / s.window)
	reset := s.start.Add(time.Duration(idx+1) * s.window)
	key := r.Header.Get("Authorization") + "#" + strconv.FormatInt(idx, 10)
	s.mu.Lock()
	s.counts[key]++
	n := s.counts[key]
	s.mu.Unlock()
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.limit))
	w.Header().Set("X-RateLimit-Reset", reset.UTC().Format(time.RFC3339Nano))
	if n > s.limit {
		s.violations.Add(1)
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":"Too many requests"}`)
		return
	}
	time.Sleep(s.latency)
	s.ok.Add(1)
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.limit-n))
	io.WriteString(w, `{"id":"1","username":"alice"}`)
}

func TestRateLimitBudget(t *testing.T) {
	ws := &windowServer{limit: 10, window: 300 * time.Millisecond, start: time.Now(), latency: 5 * time.Millisecond, counts: map[string]int{}}
	srv := httptest.NewServer(ws)
	defer srv.Close()
	c := New(srv.URL).WithToken("T1")

	const total, workers = 100, 8
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	jobs := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				// Alternate go-mastodon calls and direct calls: one budget.
				var err error
				if i%2 == 0 {
					_, err = c.VerifyCredentials(ctx)
				} else {
					_, err = c.InstanceV2(ctx)
				}
				if err != nil {
					failed.Add(1)
					t.Error(err)
				}
			}
		})
	}
	began := time.Now()
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if v := ws.violations.Load(); v != 0 {
		t.Errorf("%d requests over the limit", v)
	}
	if ok := ws.ok.Load(); ok != total || failed.Load() != 0 {
		t.Errorf("%d succeeded, %d failed; want %d", ok, failed.Load(), total)
	}
	// 100 requests at 10 per window need at least 9 full windows.
	if d := time.Since(began); d < 9*ws.window-ws.window/2 {
		t.Errorf("finished in %s: budget not respected?", d)
	}
	t.Logf("%d requests in %s", total, time.Since(began))

	// Another token has its own budget on the same server, shared through
	// WithToken copies.
	c2 := c.WithToken("T2")
	if _, err := c2.VerifyCredentials(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRateLimitWaitHonoursContext(t *testing.T) {
	reset := time.Now().Add(time.Minute)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("X-RateLimit-Limit", "300")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", reset.UTC().Format(time.RFC3339Nano))
		io.WriteString(w, `{"id":"1"}`)
	}))
	defer srv.Close()
	c := New(srv.URL).WithToken("T")
	if _, err := c.VerifyCredentials(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The budget is spent until reset: the next call waits, and cancelling
	// stops the wait.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	began := time.Now()
	_, err := c.VerifyCredentials(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("cancel took %s", d)
	}
	// Goroutines queued on the same budget stop too.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := c.InstanceV2(ctx2); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("queued: %v", err)
			}
		})
	}
	wg.Wait()
	if hits.Load() != 1 {
		t.Errorf("%d requests reached the server, want 1", hits.Load())
	}

	// A wait longer than MaxWait fails at once with a 429 that says when.
	c3 := New(srv.URL, WithLimits(Limits{MaxWait: time.Second})).WithToken("T")
	c3.VerifyCredentials(context.Background())
	_, err = c3.VerifyCredentials(context.Background())
	var e *Error
	if !IsStatus(err, 429) || !errors.As(err, &e) || e.RetryAt.Sub(reset).Abs() > time.Millisecond {
		t.Fatalf("MaxWait: %v", err)
	}
}

func TestRetry429(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.ParseForm()
			if r.PostForm.Get("title") != "group" {
				t.Errorf("retried body lost: %v", r.PostForm)
			}
		}
		if hits.Add(1) <= 2 {
			w.Header().Set("X-RateLimit-Limit", "300")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", time.Now().Add(150*time.Millisecond).UTC().Format(time.RFC3339Nano))
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":"Too many requests"}`)
			return
		}
		io.WriteString(w, `{"id":"L","title":"group"}`)
	}))
	defer srv.Close()
	c := New(srv.URL).WithToken("T")
	began := time.Now()
	l, err := c.CreateList(context.Background(), "group")
	if err != nil || l.ID != "L" {
		t.Fatalf("CreateList %v %v", l, err)
	}
	if hits.Load() != 3 || time.Since(began) < 250*time.Millisecond {
		t.Fatalf("%d hits in %s", hits.Load(), time.Since(began))
	}

	// Retries are bounded, and go-mastodon's own 429 loop never runs: the
	// call fails fast with a 429 *Error.
	hits.Store(-1000)
	c2 := New(srv.URL, WithLimits(Limits{MaxRetries: 2})).WithToken("T2")
	began = time.Now()
	_, err = c2.VerifyCredentials(context.Background())
	if !IsStatus(err, 429) {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Fatalf("took %s", d)
	}
	if n := hits.Load() + 1000; n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
}

func TestRetry503(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch hits.Add(1) {
		case 1:
			// GoToSocial's throttling answer.
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":"Service Unavailable: too many open requests"}`)
		default:
			io.WriteString(w, `{"domain":"x"}`)
		}
	}))
	defer srv.Close()
	c := New(srv.URL)
	began := time.Now()
	in, err := c.InstanceV2(context.Background())
	if err != nil || in.Domain != "x" {
		t.Fatal(in, err)
	}
	if hits.Load() != 2 || time.Since(began) < 900*time.Millisecond {
		t.Fatalf("%d hits in %s", hits.Load(), time.Since(began))
	}

	// A 503 without Retry-After is an ordinary error, not retried.
	g := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer g.Close()
	hits.Store(0)
	if _, err := New(g.URL).InstanceV2(context.Background()); !IsStatus(err, 503) || hits.Load() != 1 {
		t.Fatalf("plain 503: %v after %d hits", err, hits.Load())
	}
}

func TestMaxInFlight(t *testing.T) {
	var cur, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
		cur.Add(-1)
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	c := New(srv.URL, WithLimits(Limits{MaxInFlight: 2})).WithToken("T")
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			if _, err := c.InstanceV2(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if peak.Load() > 2 {
		t.Fatalf("peak in flight %d, want ≤ 2", peak.Load())
	}
}

func TestParseReset(t *testing.T) {
	tr := &transport{now: time.Now}
	at := time.Date(2030, 1, 2, 3, 4, 5, 123e6, time.UTC)
	for _, v := range []string{"2030-01-02T03:04:05.123Z", "2030-01-02T03:04:05.123+00:00", fmt.Sprint(float64(at.UnixMilli()) / 1000)} {
		h := http.Header{"X-Ratelimit-Reset": {v}}
		got, ok := tr.parseReset(h)
		if !ok || got.Sub(at).Abs() > time.Millisecond {
			t.Errorf("%q → %v %v", v, got, ok)
		}
	}
	// GoToSocial: whole seconds.
	if got, ok := tr.parseReset(http.Header{"X-Ratelimit-Reset": {"2030-01-02T03:04:05Z"}}); !ok || !got.Equal(at.Truncate(time.Second)) {
		t.Errorf("seconds: %v", got)
	}
	// Clock skew: the server's Date is an hour ahead.
	now := time.Now()
	h := http.Header{"X-Ratelimit-Reset": {now.Add(time.Hour + time.Minute).UTC().Format(time.RFC3339)},
		"Date": {now.Add(time.Hour).UTC().Format(http.TimeFormat)}}
	if got, _ := tr.parseReset(h); got.Sub(now.Add(time.Minute)).Abs() > 2*time.Second {
		t.Errorf("skew: reset in %s", got.Sub(now))
	}
}
