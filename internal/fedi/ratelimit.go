package fedi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits tunes how a Client spends a server's request budget.
type Limits struct {
	// MaxInFlight caps concurrent requests per budget (token, or host when
	// SharedPerHost); GoToSocial throttles callers with too many open requests
	// (503 + Retry-After). 0 means no cap.
	MaxInFlight int
	// MaxRetries bounds retries of one request after 429 or throttling 503.
	// Default 5; negative means none.
	MaxRetries int
	// MaxWait is the longest single wait the client accepts before a request
	// (rate-limit reset, Retry-After). A longer wait fails at once with a
	// 429 *Error whose RetryAt says when to come back. Default 15 minutes.
	MaxWait time.Duration
	// SharedPerHost makes every token on a host share one budget. GoToSocial
	// limits per client IP, not per token, so many member tokens used from one
	// machine draw on the same budget.
	SharedPerHost bool
}

func (l Limits) withDefaults() Limits {
	if l.MaxRetries == 0 {
		l.MaxRetries = 5
	}
	if l.MaxRetries < 0 {
		l.MaxRetries = 0
	}
	if l.MaxWait <= 0 {
		l.MaxWait = 15 * time.Minute
	}
	return l
}

// budgetState says what the client knows of a budget.
type budgetState int

const (
	stateUnknown   budgetState = iota // nothing seen yet, or the window has reset: probe with one request
	stateLimited                      // X-RateLimit headers seen: spend remaining until reset
	stateUnlimited                    // answers carry no rate-limit headers
)

// budget is the client-side view of one server-side rate limit.
type budget struct {
	mu           sync.Mutex
	state        budgetState
	remaining    int
	reset        time.Time
	blockedUntil time.Time // after a 429/503, nobody sends before this
	inflight     int
	wake         chan struct{} // closed and replaced whenever inflight drops
}

// registry holds the budgets shared by a Client and all its WithToken copies.
type registry struct {
	mu      sync.Mutex
	budgets map[string]*budget
}

func (r *registry) get(key string) *budget {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.budgets[key]
	if b == nil {
		b = &budget{wake: make(chan struct{})}
		r.budgets[key] = b
	}
	return b
}

// transport is the RoundTripper under every request the package makes,
// go-mastodon's included. It owns rate limiting: it waits for budgets, retries
// 429 and throttling 503 itself (so go-mastodon's hour-long 429 loop never
// runs: a 429 is never handed back as a response), and parses error bodies.
type transport struct {
	base   http.RoundTripper
	ua     string
	limits Limits
	reg    *registry
	now    func() time.Time
	onWait atomic.Pointer[func(Wait)]
}

// Wait is a pause the client makes before sending a request again: the
// server answered 429, or 503 with Retry-After.
type Wait struct {
	Host   string // the server's host
	Status int    // its answer
	Until  time.Time
}

// ReportWaits tells f of every such pause of c and of its WithToken
// copies, so that long bulk work can say why it stands still. f must not
// block.
func (c *Client) ReportWaits(f func(Wait)) { c.tr.onWait.Store(&f) }

type captureKey struct{}

// capture receives the parsed *Error of a failed response, so that calls made
// through go-mastodon (whose errors drop details) can return the full error.
type capture struct{ err *Error }

func withCapture(ctx context.Context) (context.Context, *capture) {
	c := &capture{}
	return context.WithValue(ctx, captureKey{}, c), c
}

func (t *transport) key(req *http.Request) string {
	host := req.URL.Host
	if t.limits.SharedPerHost {
		return host
	}
	tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	tok = strings.TrimSpace(tok)
	if !ok || tok == "" {
		return host + " anon"
	}
	sum := sha256.Sum256([]byte(tok))
	key := host + " " + hex.EncodeToString(sum[:8])
	if req.Method == http.MethodPost && isFollow(req.URL.Path) {
		// Mastodon answers a follow with its follows limit's headers
		// (400 a day per account) whenever that limit is nearer than the
		// token's: a budget of its own, so that a day's follows spent do
		// not hold back the token's other requests until midnight.
		key += " follows"
	}
	return key
}

// isFollow reports whether path is /api/v1/accounts/:id/follow.
func isFollow(path string) bool {
	rest, ok := strings.CutPrefix(path, "/api/v1/accounts/")
	id, ok2 := strings.CutSuffix(rest, "/follow")
	return ok && ok2 && id != "" && !strings.Contains(id, "/")
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	r := req.Clone(ctx)
	if strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer")) == "" {
		r.Header.Del("Authorization") // go-mastodon sends "Bearer " without a token
	}
	if t.ua != "" {
		r.Header.Set("User-Agent", t.ua)
	}
	if r.Header.Get("Accept") == "" {
		r.Header.Set("Accept", "application/json")
	}
	b := t.reg.get(t.key(r))
	for attempt := 0; ; attempt++ {
		if attempt > 0 && req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return nil, &Error{Status: http.StatusTooManyRequests, Method: req.Method, Path: req.URL.Path,
					Message: "cannot retry: request body is not replayable"}
			}
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = body
		}
		if err := t.acquire(ctx, b, req); err != nil {
			return nil, err
		}
		resp, err := t.base.RoundTrip(r)
		t.release(b, resp)
		if err != nil {
			return nil, err
		}
		retryAt, throttled := t.throttled(b, resp, attempt)
		if throttled {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if attempt >= t.limits.MaxRetries || retryAt.Sub(t.now()) > t.limits.MaxWait {
				e := parseError(req.Method, req.URL.Path, resp.StatusCode, body)
				e.RetryAt = retryAt
				return nil, e
			}
			if f := t.onWait.Load(); f != nil {
				(*f)(Wait{Host: req.URL.Host, Status: resp.StatusCode, Until: retryAt})
			}
			continue
		}
		if resp.StatusCode >= 400 {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(body))
			if c, ok := ctx.Value(captureKey{}).(*capture); ok {
				c.err = parseError(req.Method, req.URL.Path, resp.StatusCode, body)
			}
		}
		return resp, nil
	}
}

// acquire waits until b allows one more request, then counts it in flight.
func (t *transport) acquire(ctx context.Context, b *budget, req *http.Request) error {
	for {
		b.mu.Lock()
		now := t.now()
		var until time.Time
		if now.Before(b.blockedUntil) {
			until = b.blockedUntil
		} else if b.state == stateLimited {
			if !now.Before(b.reset) {
				b.state = stateUnknown // window over: learn the new one with one request
			} else if b.remaining <= 0 {
				until = b.reset
			}
		}
		if !until.IsZero() {
			b.mu.Unlock()
			wait := until.Sub(now)
			if wait > t.limits.MaxWait {
				return &Error{Status: http.StatusTooManyRequests, Method: req.Method, Path: req.URL.Path,
					Message: fmt.Sprintf("rate limit budget spent; would wait %s", wait.Round(time.Second)), RetryAt: until}
			}
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		ok := t.limits.MaxInFlight <= 0 || b.inflight < t.limits.MaxInFlight
		if b.state == stateUnknown && b.inflight > 0 {
			ok = false
		}
		if ok {
			b.inflight++
			if b.state == stateLimited {
				b.remaining--
			}
			b.mu.Unlock()
			return nil
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release ends one in-flight request and learns from its rate-limit headers.
func (t *transport) release(b *budget, resp *http.Response) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inflight--
	close(b.wake)
	b.wake = make(chan struct{})
	if resp == nil {
		return
	}
	remaining, errR := strconv.Atoi(strings.TrimSpace(resp.Header.Get("X-RateLimit-Remaining")))
	reset, okReset := t.parseReset(resp.Header)
	if errR != nil || !okReset {
		if b.state == stateUnknown {
			b.state = stateUnlimited
		}
		return
	}
	// Requests still in flight may not be counted in this answer's remaining
	// yet: count them as spent, so concurrent callers never overshoot.
	r := remaining - b.inflight
	switch {
	case b.state != stateLimited || reset.After(b.reset):
		b.state, b.remaining, b.reset = stateLimited, r, reset
	case reset.Equal(b.reset):
		b.remaining = min(b.remaining, r)
	}
	// An answer about an older window says nothing about the current one.
}

// throttled reports whether resp is a 429, or a 503 with Retry-After, and if
// so blocks the budget until the server says to retry.
func (t *transport) throttled(b *budget, resp *http.Response, attempt int) (time.Time, bool) {
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
	case http.StatusServiceUnavailable:
		if resp.Header.Get("Retry-After") == "" {
			return time.Time{}, false
		}
	default:
		return time.Time{}, false
	}
	now := t.now()
	at, ok := t.retryAfter(resp.Header)
	if !ok && resp.StatusCode == http.StatusTooManyRequests {
		at, ok = t.parseReset(resp.Header)
	}
	if !ok || !at.After(now) {
		// No usable hint: back off exponentially from one second.
		at = now.Add(time.Second << min(attempt, 6))
	}
	b.mu.Lock()
	if at.After(b.blockedUntil) {
		b.blockedUntil = at
	}
	b.mu.Unlock()
	return at, true
}

// retryAfter parses Retry-After as seconds or an HTTP date.
func (t *transport) retryAfter(h http.Header) (time.Time, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return time.Time{}, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		return t.now().Add(time.Duration(s * float64(time.Second))), true
	}
	if d, err := http.ParseTime(v); err == nil {
		return t.local(h, d), true
	}
	return time.Time{}, false
}

// parseReset parses X-RateLimit-Reset: ISO 8601 (Mastodon, GoToSocial), or
// a Unix time, or seconds from now (some other servers).
func (t *transport) parseReset(h http.Header) (time.Time, bool) {
	v := strings.TrimSpace(h.Get("X-RateLimit-Reset"))
	if v == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700"} {
		if at, err := time.Parse(layout, v); err == nil {
			return t.local(h, at), true
		}
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n > 1e9 {
			sec := int64(n)
			return t.local(h, time.Unix(sec, int64((n-float64(sec))*1e9))), true
		}
		return t.now().Add(time.Duration(n * float64(time.Second))), true
	}
	return time.Time{}, false
}

// local converts a server time to the local clock when the server's Date
// shows a clock skew of more than two seconds (Date only has whole seconds,
// so smaller skews are noise).
func (t *transport) local(h http.Header, at time.Time) time.Time {
	d, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return at
	}
	now := t.now()
	if skew := d.Sub(now); skew > 2*time.Second || skew < -2*time.Second {
		return at.Add(-skew)
	}
	return at
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
