package mastodonfake

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// throttleHit is one rack-attack throttle's state for a request.
type throttleHit struct {
	limit, count int
	period       time.Duration
}

// window counts one more request under key in the fixed window of period
// that holds now (rack-attack and RateLimiter both key their counters by
// epoch seconds / period), and returns the count so far.
func (s *Server) window(key string, period time.Duration, now time.Time) int {
	k := key + "@" + strconv.FormatInt(now.Unix()/int64(period/time.Second), 10)
	s.counters[k]++
	return s.counters[k]
}

func (s *Server) peek(key string, period time.Duration, now time.Time) int {
	return s.counters[key+"@"+strconv.FormatInt(now.Unix()/int64(period/time.Second), 10)]
}

// resetAt is the end of the window of period that holds now, as
// Mastodon computes it: now + (period - now % period).
func resetAt(now time.Time, period time.Duration) time.Time {
	p := int64(period / time.Second)
	return now.Add(time.Duration(p-now.Unix()%p) * time.Second).Truncate(time.Second)
}

// iso is Ruby's Time#iso8601(6).
func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }

func setLimitHeaders(h http.Header, limit, remaining int, reset time.Time) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(remaining, 0)))
	h.Set("X-RateLimit-Reset", iso(reset))
}

// throttle applies rack-attack's throttles to r (s.mu held). It answers
// the 429 itself and returns false when one is exceeded; otherwise it
// sets the API's rate-limit headers for the most limited throttle.
func (s *Server) throttle(w http.ResponseWriter, r *http.Request, tok *token) bool {
	ip := remote(r)
	if s.cfg.ExemptLoopback {
		if a := net.ParseIP(ip); a != nil && a.IsLoopback() {
			return true
		}
	}
	now := s.now()
	api := strings.HasPrefix(r.URL.Path, "/api")
	var hits []throttleHit
	count := func(key string, limit int, period time.Duration) bool {
		h := throttleHit{limit: limit, count: s.window(key, period, now), period: period}
		hits = append(hits, h)
		if h.count > limit {
			s.stats.Throttled++
			setLimitHeaders(w.Header(), limit, 0, resetAt(now, period))
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "Too many requests"})
			return false
		}
		return true
	}
	user := tok != nil && tok.accountID != ""
	if api && user && !count("user:"+tok.accountID, s.cfg.UserLimit, 5*time.Minute) {
		return false
	}
	if api && tok != nil && !count("token:"+tok.id, s.cfg.TokenLimit, 5*time.Minute) {
		return false
	}
	if api && !user && !count("anon:"+ip, s.cfg.AnonLimit, 5*time.Minute) {
		return false
	}
	if r.Method == http.MethodPost && r.URL.Path == "/api/v1/accounts" && !count("signup:"+ip, s.cfg.SignUpLimit, 30*time.Minute) {
		return false
	}
	if r.Method == http.MethodPost && (r.URL.Path == "/auth" || r.URL.Path == "/auth/sign_in") && !count("web:"+r.URL.Path+":"+ip, 25, 5*time.Minute) {
		return false
	}
	if api && len(hits) > 0 {
		most := hits[0]
		for _, h := range hits[1:] {
			if h.limit-h.count < most.limit-most.count {
				most = h
			}
		}
		setLimitHeaders(w.Header(), most.limit, most.limit-most.count, resetAt(now, most.period))
	}
	return true
}

// limitErr is RateLimiter's refusal (Mastodon::RateLimitExceededError):
// the family's limit and the end of its window.
type limitErr struct {
	limit int
	reset time.Time
}

// recordFollow is RateLimiter#record! for the follows family (s.mu held):
// it counts one follow made by accountID, or refuses when the window's
// limit is reached.
func (s *Server) recordFollow(accountID string) *limitErr {
	now := s.now()
	key := "follows:" + accountID
	if s.peek(key, s.cfg.FollowPeriod, now) >= s.cfg.FollowLimit {
		return &limitErr{limit: s.cfg.FollowLimit, reset: resetAt(now, s.cfg.FollowPeriod)}
	}
	s.window(key, s.cfg.FollowPeriod, now)
	return nil
}

// followHeaders is override_rate_limit_headers for the follow action:
// the follow family's headers replace the API's unless those say fewer
// requests remain.
func (s *Server) followHeaders(h http.Header, accountID string) {
	now := s.now()
	rem := s.cfg.FollowLimit - s.peek("follows:"+accountID, s.cfg.FollowPeriod, now)
	if cur, err := strconv.Atoi(h.Get("X-RateLimit-Remaining")); err == nil && rem > cur {
		return
	}
	setLimitHeaders(h, s.cfg.FollowLimit, rem, resetAt(now, s.cfg.FollowPeriod))
}

// recordStatus is RateLimiter#record! for statuses (300 per 3 h).
func (s *Server) recordStatus(accountID string) *limitErr {
	now := s.now()
	key := "statuses:" + accountID
	if s.peek(key, 3*time.Hour, now) >= s.cfg.StatusLimit {
		return &limitErr{limit: s.cfg.StatusLimit, reset: resetAt(now, 3*time.Hour)}
	}
	s.window(key, 3*time.Hour, now)
	return nil
}

// tooMany answers a RateLimiter refusal as Mastodon's API does.
func tooMany(w http.ResponseWriter, e *limitErr) {
	setLimitHeaders(w.Header(), e.limit, 0, e.reset)
	writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "Too many requests"})
}
