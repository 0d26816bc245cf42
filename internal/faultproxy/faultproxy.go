// Package faultproxy is an HTTP proxy that stands between Lifeboat and a
// real server and breaks some of the traffic the way real networks and
// busy servers do: 429 storms with and without Retry-After, server
// errors, connections reset in the middle of an answer, slow answers, and
// a server that does not answer at all for a while. Tests put it in front
// of a real GoToSocial and then read the end state from the server itself.
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Fault is one way of breaking one request.
type Fault int

const (
	None Fault = iota
	// TooMany answers 429 with Retry-After: 1, without forwarding.
	TooMany
	// TooManyBare answers 429 with no hint, without forwarding.
	TooManyBare
	// Unavailable answers 503 without Retry-After, without forwarding.
	Unavailable
	// LostAnswer forwards the request, so the server acts on it, and
	// answers 502 instead of the server's answer: the effect happened but
	// the caller cannot know.
	LostAnswer
	// ResetMidBody forwards the request, sends the server's status and
	// headers and half its body, then resets the connection.
	ResetMidBody
	// ResetBefore resets the connection without forwarding.
	ResetBefore
	// Slow forwards the request after a delay (Policy.SlowDelay).
	Slow
	numFaults
)

var names = [...]string{"none", "429 with Retry-After", "429 without Retry-After", "503", "answer lost after the server acted (502)",
	"reset mid-body", "reset before forwarding", "slow"}

func (f Fault) String() string {
	if f < 0 || f >= numFaults {
		return fmt.Sprintf("fault(%d)", int(f))
	}
	return names[f]
}

// Policy says which requests break and how.
type Policy struct {
	// Seed makes the choice of faults repeatable (logged by tests).
	Seed uint64
	// Rate is the share of matching requests that get a fault (0..1).
	Rate float64
	// Faults are chosen among with equal weight; empty means all.
	Faults []Fault
	// Match limits faults to some requests (nil: all).
	Match func(*http.Request) bool
	// SlowDelay is Slow's delay (default 300ms).
	SlowDelay time.Duration
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	URL string // the proxy's base URL: give it to the client instead of the server's

	target *url.URL
	rp     *httputil.ReverseProxy
	srv    *http.Server
	ln     net.Listener

	mu       sync.Mutex
	pol      Policy
	rng      *rand.Rand
	storm    stormState
	downTill time.Time
	counts   map[Fault]int
	requests int
}

type stormState struct {
	until      time.Time
	retryAfter bool
}

// Start starts a proxy on loopback in front of target.
func Start(target string, pol Policy) (*Proxy, error) { return StartVia(target, nil, pol) }

// StartVia is Start for a target reached through tr (nil: the default
// transport), such as an HTTPS server whose certificate a test's own CA
// signed.
func StartVia(target string, tr http.RoundTripper, pol Policy) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), target: u, ln: ln, counts: map[Fault]int{}}
	p.SetPolicy(pol)
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = u.Host // the server's own name, as a client going direct would send
		},
		// The server's answers pass through unbuffered, so a reset
		// mid-body really cuts a body that has started.
		FlushInterval: -1,
		Transport:     tr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

// SetPolicy replaces the policy (and restarts its random sequence).
func (p *Proxy) SetPolicy(pol Policy) {
	if pol.SlowDelay == 0 {
		pol.SlowDelay = 300 * time.Millisecond
	}
	if len(pol.Faults) == 0 {
		for f := TooMany; f < numFaults; f++ {
			pol.Faults = append(pol.Faults, f)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pol = pol
	p.rng = rand.New(rand.NewPCG(pol.Seed, 0x6c696665626f6174))
}

// Storm answers every request with 429 for d: with Retry-After: 1 when
// retryAfter is set, else with no hint at all.
func (p *Proxy) Storm(d time.Duration, retryAfter bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.storm = stormState{until: time.Now().Add(d), retryAfter: retryAfter}
}

// Down resets every connection for d, as a server that is restarting
// refuses them.
func (p *Proxy) Down(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.downTill = time.Now().Add(d)
}

// Counts returns how many requests got each fault so far.
func (p *Proxy) Counts() map[Fault]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Fault]int, len(p.counts))
	for f, n := range p.counts {
		out[f] = n
	}
	return out
}

// Requests is how many requests reached the proxy.
func (p *Proxy) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// Summary words Counts for a test log.
func (p *Proxy) Summary() string {
	c := p.Counts()
	var parts []string
	for f := TooMany; f < numFaults; f++ {
		if c[f] > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", f, c[f]))
		}
	}
	return fmt.Sprintf("%d requests; %s", p.Requests(), strings.Join(parts, ", "))
}

// Close stops the proxy.
func (p *Proxy) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return p.srv.Close()
	}
	return err
}

// pick chooses the fault for r.
func (p *Proxy) pick(r *http.Request) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	now := time.Now()
	f := None
	switch {
	case now.Before(p.downTill):
		f = ResetBefore
	case now.Before(p.storm.until) && p.storm.retryAfter:
		f = TooMany
	case now.Before(p.storm.until):
		f = TooManyBare
	case (p.pol.Match == nil || p.pol.Match(r)) && p.rng.Float64() < p.pol.Rate:
		f = p.pol.Faults[p.rng.IntN(len(p.pol.Faults))]
	}
	if f != None {
		p.counts[f]++
	}
	return f
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch f := p.pick(r); f {
	case TooMany:
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"error":"Too Many Requests"}`, http.StatusTooManyRequests)
	case TooManyBare:
		http.Error(w, `{"error":"Too Many Requests"}`, http.StatusTooManyRequests)
	case Unavailable:
		http.Error(w, `{"error":"Service Unavailable"}`, http.StatusServiceUnavailable)
	case ResetBefore:
		reset(w)
	case LostAnswer:
		rec := &discard{h: http.Header{}}
		p.rp.ServeHTTP(rec, r)
		http.Error(w, `{"error":"Bad Gateway"}`, http.StatusBadGateway)
	case ResetMidBody:
		p.rp.ServeHTTP(&halfBody{ResponseWriter: w}, r)
	case Slow:
		select {
		case <-time.After(p.pol.SlowDelay):
		case <-r.Context().Done():
			return
		}
		p.rp.ServeHTTP(w, r)
	default:
		p.rp.ServeHTTP(w, r)
	}
}

// reset closes the client's connection with a TCP reset.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // RST, not FIN
	}
	conn.Close()
}

// discard takes the server's answer and drops it.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// halfBody passes the status, the headers and half of the body's first
// write through (with the full Content-Length still announced), then
// resets the connection.
type halfBody struct {
	http.ResponseWriter
	cut bool
}

func (h *halfBody) Write(b []byte) (int, error) {
	if h.cut {
		return len(b), nil
	}
	h.cut = true
	n := len(b) / 2
	h.ResponseWriter.Write(b[:n])
	if fl, ok := h.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
	reset(h.ResponseWriter)
	return len(b), nil
}

// Flush is a no-op before the cut, so the status and headers go out
// with the first half of the body.
func (h *halfBody) Flush() {}

var _ io.Writer = (*halfBody)(nil)
