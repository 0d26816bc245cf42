package faultproxy

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Each fault does what it says to a client, and the faults that forward
// reach the server while the others do not.
func TestEachFault(t *testing.T) {
	var hits atomic.Int64
	body := strings.Repeat("x", 4096)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, body)
	}))
	defer srv.Close()
	for _, c := range []struct {
		f        Fault
		status   int // 0: the request fails
		forwards bool
		retry    string
	}{
		{None, 200, true, ""},
		{TooMany, 429, false, "1"},
		{TooManyBare, 429, false, ""},
		{Unavailable, 503, false, ""},
		{LostAnswer, 502, true, ""},
		{ResetMidBody, -1, true, ""},
		{ResetBefore, 0, false, ""},
		{Slow, 200, true, ""},
	} {
		t.Run(c.f.String(), func(t *testing.T) {
			p, err := Start(srv.URL, Policy{Rate: 1, Faults: []Fault{c.f}, SlowDelay: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if c.f == None {
				p.SetPolicy(Policy{})
			}
			before := hits.Load()
			start := time.Now()
			resp, err := http.Get(p.URL + "/api/v1/x")
			switch {
			case c.status == 0:
				if err == nil {
					resp.Body.Close()
					t.Fatalf("got %d, want a reset", resp.StatusCode)
				}
			case c.status == -1:
				if err != nil {
					t.Fatalf("want the headers, got %v", err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil || len(b) >= len(body) || !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "reset") {
					t.Fatalf("read %d bytes, err %v; want a body cut short", len(b), err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != c.status || resp.Header.Get("Retry-After") != c.retry {
					t.Fatalf("got %d Retry-After %q, want %d %q", resp.StatusCode, resp.Header.Get("Retry-After"), c.status, c.retry)
				}
				if c.status == 200 && string(b) != body {
					t.Fatalf("body changed (%d bytes)", len(b))
				}
			}
			if got := hits.Load() - before; got != map[bool]int64{true: 1, false: 0}[c.forwards] {
				t.Errorf("the server saw %d requests, want forwarded=%v", got, c.forwards)
			}
			if c.f == Slow && time.Since(start) < 200*time.Millisecond {
				t.Errorf("slow answered in %s", time.Since(start))
			}
			if c.f != None && p.Counts()[c.f] != 1 {
				t.Errorf("counts %v", p.Counts())
			}
		})
	}
}

// A storm answers everything with 429 while it lasts; Down resets every
// connection while it lasts; the same seed picks the same faults.
func TestStormDownAndSeed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	p, err := Start(srv.URL, Policy{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	get := func() int {
		resp, err := http.Get(p.URL)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	p.Storm(300*time.Millisecond, false)
	if s := get(); s != 429 {
		t.Errorf("in a storm: %d", s)
	}
	time.Sleep(350 * time.Millisecond)
	p.Down(300 * time.Millisecond)
	if s := get(); s != 0 {
		t.Errorf("while down: %d", s)
	}
	time.Sleep(350 * time.Millisecond)
	if s := get(); s != 200 {
		t.Errorf("after: %d", s)
	}

	seq := func(seed uint64) string {
		p.SetPolicy(Policy{Seed: seed, Rate: 0.5, Faults: []Fault{TooMany, Unavailable}})
		var b strings.Builder
		for range 30 {
			b.WriteString(p.pick(httptest.NewRequest("GET", "/", nil)).String()[:1])
		}
		return b.String()
	}
	if a, b := seq(7), seq(7); a != b {
		t.Errorf("same seed, different faults: %s %s", a, b)
	}
	if a, b := seq(7), seq(8); a == b {
		t.Errorf("different seeds, same faults: %s", a)
	}
}
