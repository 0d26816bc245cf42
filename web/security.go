package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// secureHeaders wraps every response with the security headers, and every
// unsafe request with cross-origin protection (Sec-Fetch-Site / Origin).
func (s *Server) secureHeaders(h http.Handler) http.Handler { return secureHeaders(s.secure, h) }

func secureHeaders(secure bool, h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	protected := cop.Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer") // personal tokens are in our URLs
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if secure {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		protected.ServeHTTP(w, r)
	})
}

// --- CSRF: a random cookie and a form field that is its MAC. ---

func (s *Server) csrfCookieName() string {
	if s.secure {
		return "__Host-lb_csrf"
	}
	return "lb_csrf"
}

// csrfToken returns the form token for this browser, setting the cookie
// when it has none.
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(s.csrfCookieName())
	v := ""
	if err == nil && len(c.Value) == 43 {
		v = c.Value
	} else {
		var b [32]byte
		rand.Read(b[:])
		v = base64.RawURLEncoding.EncodeToString(b[:])
		http.SetCookie(w, &http.Cookie{Name: s.csrfCookieName(), Value: v, Path: "/", HttpOnly: true,
			Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: 12 * 3600})
	}
	return s.mac("csrf", v)
}

// checkCSRF reports whether the posted form token matches the cookie.
func (s *Server) checkCSRF(r *http.Request) bool {
	return s.checkCSRFValue(r, r.PostFormValue("csrf"))
}

// checkCSRFValue reports whether got, a form token read by the caller (a
// multipart form's field, read as a stream), matches the cookie.
func (s *Server) checkCSRFValue(r *http.Request, got string) bool {
	c, err := r.Cookie(s.csrfCookieName())
	if err != nil || c.Value == "" {
		return false
	}
	want := s.mac("csrf", c.Value)
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (s *Server) mac(purpose, v string) string {
	m := hmac.New(sha256.New, s.macKey)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// --- The arrival cookie binds a browser to the redemption it started. ---

const arriveCookie = "lb_arrive"

// arrivalCookie is what the arrival cookie holds.
type arrivalCookie struct {
	Member  string // invite.MemberID
	Nonce   string // OAuth state
	Expires time.Time
}

func (s *Server) setArrival(w http.ResponseWriter, a arrivalCookie) {
	var b []byte
	b = binary.BigEndian.AppendUint64(b, uint64(a.Expires.Unix()))
	b = append(b, a.Member+"|"+a.Nonce...)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: arriveCookie, Value: v + "." + s.mac("arrive", v), Path: s.path("/"),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, Expires: a.Expires})
}

func (s *Server) getArrival(r *http.Request) (arrivalCookie, bool) {
	c, err := r.Cookie(arriveCookie)
	if err != nil || len(c.Value) > 512 {
		return arrivalCookie{}, false
	}
	v, sig, ok := strings.Cut(c.Value, ".")
	if !ok || subtle.ConstantTimeCompare([]byte(sig), []byte(s.mac("arrive", v))) != 1 {
		return arrivalCookie{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) < 9 {
		return arrivalCookie{}, false
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	member, nonce, ok := strings.Cut(string(b[8:]), "|")
	if !ok || !s.now().Before(exp) {
		return arrivalCookie{}, false
	}
	return arrivalCookie{Member: member, Nonce: nonce, Expires: exp}, true
}

// oauthReturn reads the code a server sent the browser back with from
// an OAuth authorisation, once the state proves that this browser's
// member started it; again tells the member where to start over when it
// does not (then it has answered, and ok is false). An empty code: the
// member, or the server, did not allow Lifeboat.
func (s *Server) oauthReturn(w http.ResponseWriter, r *http.Request, a arrivalCookie, again string) (code string, ok bool) {
	q := r.URL.Query()
	state, code := q.Get("state"), q.Get("code")
	if len(state) > 256 || subtle.ConstantTimeCompare([]byte(state), []byte(a.Nonce)) != 1 {
		s.errorPage(w, r, http.StatusBadRequest, "This sign-in did not start here", again)
		return "", false
	}
	if q.Get("error") != "" || len(code) > 1024 {
		return "", true
	}
	return code, true
}

func randomString() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// --- Per-IP rate limits: a token bucket per address. ---

type limiter struct {
	perMin  int
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(perMin int) *limiter {
	return &limiter{perMin: perMin, buckets: map[string]*bucket{}}
}

// allow takes a token for ip; the burst is the per-minute rate.
func (l *limiter) allow(ip string, now time.Time) bool {
	if l.perMin < 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.last) > 2*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[ip]
	if b == nil {
		b = &bucket{tokens: float64(l.perMin), last: now}
		l.buckets[ip] = b
	}
	b.tokens = min(float64(l.perMin), b.tokens+now.Sub(b.last).Minutes()*float64(l.perMin))
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// clientIP is the request's address: the connection's, or behind a
// trusted proxy the right-most hop of X-Forwarded-For that is not a proxy
// itself. Every X-Forwarded-For line counts, in order: a proxy may append
// its own line instead of extending the client's, and the client writes
// whatever it likes on the left, so only the right end can be believed.
func (s *Server) clientIP(r *http.Request) string { return clientIP(r, s.cfg.TrustProxy) }

func clientIP(r *http.Request, trustProxy bool) string {
	peer, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		peer = r.RemoteAddr
	}
	if !trustProxy {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		ip := net.ParseIP(strings.TrimSpace(hops[i]))
		if ip == nil {
			// A hop we cannot read ends what can be trusted.
			break
		}
		if ip.IsLoopback() || ip.String() == peer {
			continue // the proxy (or a chain of them on this host)
		}
		return ip.String()
	}
	return peer
}

func (s *Server) limited(l *limiter, w http.ResponseWriter, r *http.Request) bool {
	if l.allow(s.clientIP(r), s.now()) {
		return false
	}
	w.Header().Set("Retry-After", "60")
	s.errorPage(w, r, http.StatusTooManyRequests, "Too many requests",
		"Too many requests came from your network in the last minute. Please wait a minute and try again.")
	return true
}

// parseForm reads a small urlencoded form (at most 8 KiB) and checks its
// CSRF token; on failure it has answered.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusRequestEntityTooLarge, "Form too large or malformed", "Please go back and try again.")
		return false
	}
	if !s.checkCSRF(r) {
		s.errorPage(w, r, http.StatusForbidden, "This form has expired",
			"The page was open too long, or cookies are blocked. Go back, reload the page and submit again.")
		return false
	}
	return true
}
