package arrival_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/mastodonfake"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
)

// simClock is a driven clock: waiting moves it forward at once, so a day
// of rate limit passes in a statement. onWait, if set, sees each wait
// before the clock moves.
type simClock struct {
	mu     sync.Mutex
	t      time.Time
	onWait func(d time.Duration)
}

func (c *simClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *simClock) After(d time.Duration) <-chan time.Time {
	if c.onWait != nil {
		c.onWait(d)
	}
	c.mu.Lock()
	c.t = c.t.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.t
	c.mu.Unlock()
	return ch
}

// mastodonRoom is a group of n members with accounts and tokens on a
// Mastodon stand-in whose daily follow limit is limit, arrived in the
// order of the group file, one minute apart.
func mastodonRoom(t *testing.T, n, limit int, clk *simClock) (*mastodonfake.Server, *groups.Group, store.Store, []string) {
	t.Helper()
	f := mastodonfake.Start(mastodonfake.Config{Now: clk.Now, Mode: mastodonfake.Open, FollowLimit: limit})
	t.Cleanup(f.Close)
	g := group(fmt.Sprintf("masto%d", time.Now().UnixNano()%1e6), n)
	st := openStore(t, g)
	t0 := clk.Now().Add(-time.Hour)
	var ids []string
	for i, m := range g.Members {
		id, err := f.CreateAccount(mastodonfake.AccountOptions{Username: m.Username, Email: m.Email, Confirmed: true})
		if err != nil {
			t.Fatal(err)
		}
		tok := f.MintToken(id, arrival.MemberScopes...)
		acc := store.Account{Group: g.Name, Email: m.Email, Server: f.URL, ID: id, Username: m.Username, Token: tok,
			CreatedAt: t0.Add(time.Duration(i) * time.Minute)}
		if err := st.Accounts().Put(context.Background(), acc); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return f, g, st, ids
}

func mastodonEngine(st store.Store, g *groups.Group, f *mastodonfake.Server, clk *simClock, workers int) *arrival.Engine {
	return arrival.New(arrival.Config{Store: st, Group: g, Workers: workers, Clock: clk,
		Server: &provision.Server{URL: f.URL, Software: groups.SoftwareMastodon},
		Client: func(u string) *fedi.Client {
			return fedi.New(u, fedi.WithClock(clk.Now), fedi.WithLimits(fedi.Limits{MaxWait: time.Millisecond}))
		}})
}

// TestMastodonMeshAcrossDays: 25 members on a Mastodon whose accounts may
// make 15 follows a day (400 on a real one) need two days. The first day
// each member makes their most important follows (everyone who arrived
// before them, oldest first); the engine waits for the window to reopen
// at 00:00 UTC and finishes: exactly N(N-1) follows, none sent twice,
// every list whole, the room's progress said right on the way.
func TestMastodonMeshAcrossDays(t *testing.T) {
	const n, limit = 25, 15
	start := time.Date(2026, 12, 3, 14, 5, 0, 0, time.UTC)
	clk := &simClock{t: start}
	f, g, st, ids := mastodonRoom(t, n, limit, clk)
	ctx := context.Background()
	e := mastodonEngine(st, g, f, clk, 1) // one worker: the order is exact

	err := e.Seed(ctx)
	var le *arrival.LimitedError
	midnight := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	if !errors.As(err, &le) || !errors.Is(err, arrival.ErrLimited) || !le.Until.Equal(midnight) {
		t.Fatalf("first day: %v, want limited until %s", err, midnight)
	}
	if got := f.FollowCount(); got != n*limit {
		t.Fatalf("first day made %d follows, want %d", got, n*limit)
	}
	room, err := arrival.ReadRoom(ctx, st, g, f.URL)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d of %d follows made; the rest after 00:00 UTC tomorrow", n*limit, n*(n-1))
	if p := room.Progress(clk.Now()); room.Follows != n*limit || room.FollowsTotal != n*(n-1) || !room.ResumeAt.Equal(midnight) || !strings.Contains(p, want) {
		t.Fatalf("room %+v: %q, want %q", room, p, want)
	}
	// Each member's first day: everyone who arrived before them, oldest
	// first, then the later arrivals in order.
	for j := range n {
		var order []int
		for i := range n {
			if i < j {
				order = append(order, i)
			}
		}
		for i := j + 1; i < n; i++ {
			order = append(order, i)
		}
		for k, i := range order {
			_, ok := f.FollowedAt(ids[j], ids[i])
			if ok != (k < limit) {
				t.Fatalf("member %d follows %d on the first day: %v; want the first %d of %v", j, i, ok, limit, order)
			}
		}
	}

	if err := e.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if !clk.Now().After(midnight) {
		t.Fatalf("finished at %s, before the window reopened", clk.Now())
	}
	checkWholeMesh(t, f, st, g, ids, e)
}

// TestMastodonMeshResumesAfterKill: the process is killed while it waits
// for the window (its context ends there); a new engine over the same
// store picks up, waits, and finishes with no follow sent twice.
func TestMastodonMeshResumesAfterKill(t *testing.T) {
	const n, limit = 12, 7
	clk := &simClock{t: time.Date(2026, 12, 3, 23, 10, 0, 0, time.UTC)}
	f, g, st, ids := mastodonRoom(t, n, limit, clk)
	ctx, kill := context.WithCancel(context.Background())
	waits := 0
	clk.onWait = func(d time.Duration) {
		if d > time.Hour/2 {
			waits++
			kill()
		}
	}
	if err := mastodonEngine(st, g, f, clk, 8).Resume(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("killed while waiting: %v", err)
	}
	// Several workers share a member's budget: the client counts requests
	// in flight as spent, so a member may stop a follow or two short of
	// the limit; never beyond it.
	if made := f.FollowCount(); waits != 1 || made > n*limit || made < n*(limit-2) {
		t.Fatalf("before the kill: %d waits, %d follows", waits, made)
	}
	clk.onWait = nil
	e := mastodonEngine(st, g, f, clk, 8) // the process started again
	if err := e.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkWholeMesh(t, f, st, g, ids, e)
}

func checkWholeMesh(t *testing.T, f *mastodonfake.Server, st store.Store, g *groups.Group, ids []string, e *arrival.Engine) {
	t.Helper()
	n := len(ids)
	st0 := f.Stats()
	if f.FollowCount() != n*(n-1) || st0.FollowsMade != n*(n-1) || st0.FollowRepeats != 0 {
		t.Fatalf("follows %d, stats %+v; want %d, none repeated", f.FollowCount(), st0, n*(n-1))
	}
	s, err := e.Stats(context.Background())
	if err != nil || s.Follows != n*(n-1) || s.Lists != n || s.Listed != n*(n-1) || s.Welcomes != 1 {
		t.Fatalf("journal %+v %v", s, err)
	}
	room, err := arrival.ReadRoom(context.Background(), st, g, f.URL)
	if err != nil || !room.ResumeAt.IsZero() || !strings.Contains(room.Progress(time.Now()), fmt.Sprintf("All %d follows", n*(n-1))) {
		t.Fatalf("room %+v %v", room, err)
	}
	for _, id := range ids {
		c := fedi.New(f.URL).WithToken(f.MintToken(id, "read"))
		ls, err := c.Lists(context.Background())
		if err != nil || len(ls) != 1 {
			t.Fatalf("lists of %s: %v %v", id, ls, err)
		}
		as, err := c.ListAccounts(context.Background(), ls[0].ID)
		if err != nil || len(as) != n-1 {
			t.Fatalf("list of %s holds %d: %v", id, len(as), err)
		}
	}
}
