package arrival

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
)

// stepClock is a driven clock: a wait moves it forward at once.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- now
	return ch
}

// losingPair is the two ends of one follow between servers, as the
// follower's server and the followed member's server show it, where the
// first lost requests the follower's server takes are kept there as
// "requested" and never delivered: what GoToSocial does with a follow it
// received while busy dereferencing its sender. Member "a" (token a, id
// A) follows "b" (token b, id B).
type losingPair struct {
	mu                   sync.Mutex
	lost                 int  // requests still to lose
	requested, following bool // on a's server
	arrived              bool // the request waits on b's server
	follows              int  // follow requests a sent
}

func (p *losingPair) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	who := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	rel := map[string]any{"id": "B", "following": p.following, "requested": p.requested}
	switch {
	case who == "a" && r.URL.Path == "/api/v1/accounts/B/follow":
		p.follows++
		p.requested, p.arrived = true, p.lost == 0
		if p.lost > 0 {
			p.lost--
		}
		rel["requested"] = true
	case who == "a" && r.URL.Path == "/api/v1/accounts/B/unfollow":
		p.requested, p.following, p.arrived = false, false, false
		rel["requested"], rel["following"] = false, false
	case who == "b" && r.URL.Path == "/api/v1/follow_requests/A/authorize":
		if !p.arrived {
			http.Error(w, `{"error":"Record not found"}`, http.StatusNotFound)
			return
		}
		p.arrived, p.requested, p.following = false, false, true
		rel = map[string]any{"id": "A", "followed_by": true}
	case who == "b" && r.URL.Path == "/api/v1/accounts/relationships":
		rel = map[string]any{"id": "A", "followed_by": p.following}
	case who == "a" && r.URL.Path == "/api/v1/accounts/relationships":
	default:
		http.Error(w, `{"error":"unexpected"}`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/api/v1/accounts/relationships" {
		json.NewEncoder(w).Encode([]any{rel})
		return
	}
	json.NewEncoder(w).Encode(rel)
}

// TestResentUntilItArrives: a follow between servers whose request, and
// whose first resend, are kept by the follower's server and never
// delivered is sent again until one arrives, within FollowWait, and is
// confirmed; it is not reported as a straggler.
func TestResentUntilItArrives(t *testing.T) {
	for _, c := range []struct {
		lost      int // resends lost after the first request
		confirmed bool
		follows   int // resends made
	}{
		{lost: 0, confirmed: true, follows: 1},
		{lost: 1, confirmed: true, follows: 2},
		{lost: 4, confirmed: true, follows: 5},
		{lost: 5, confirmed: false, follows: 5}, // FollowWait is over
	} {
		srv := &losingPair{lost: c.lost, requested: true}
		hs := httptest.NewServer(srv)
		clk := &stepClock{now: time.Unix(1e9, 0)}
		e := &Engine{cfg: Config{Workers: 2, FollowWait: 6 * time.Minute}, clock: clk, waiting: map[string]int{}}
		c0 := fedi.New(hs.URL)
		p := pair{
			a: arrived{email: "a@x", id: "A", server: hs.URL + "/a", acct: "a@a.example", c: c0.WithToken("a")},
			b: arrived{email: "b@x", id: "B", server: hs.URL + "/b", acct: "b@b.example", c: c0.WithToken("b")},
		}
		var got []string
		// Both ids are known as the mesh journals them once found.
		e.known = map[string]string{resolveKey(p.a.server, p.b.acct): "B", resolveKey(p.b.server, p.a.acct): "A"}
		stragglers, err := e.await(context.Background(), []pair{p}, func(key string) { got = append(got, key) })
		hs.Close()
		if err != nil {
			t.Fatalf("lost %d: %v", c.lost, err)
		}
		if confirmed := len(got) == 1 && len(stragglers) == 0; confirmed != c.confirmed {
			t.Errorf("lost %d: confirmed %v (%v), stragglers %+v; want confirmed %v", c.lost, got, confirmed, stragglers, c.confirmed)
		}
		if srv.follows != c.follows {
			t.Errorf("lost %d: %d follow requests sent again, want %d", c.lost, srv.follows, c.follows)
		}
	}
}
