package arrival_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/faultproxy"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
)

// faultSeed is the seed of a fault test's random choices: printed in the
// log, and taken from LIFEBOAT_FAULT_SEED to replay a failure.
func faultSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("LIFEBOAT_FAULT_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("LIFEBOAT_FAULT_SEED: %v", err)
		}
	}
	t.Logf("fault seed %d (replay with LIFEBOAT_FAULT_SEED=%d)", seed, seed)
	return seed
}

// serverExact reads the server itself, not the store: the mesh is exact,
// every member has exactly one account, the lead posted exactly one
// welcome, and no follow request is left waiting.
func serverExact(t *testing.T, st store.Store, e *arrival.Engine, g *groups.Group, srv *provision.Server) {
	t.Helper()
	ctx := context.Background()
	verifyMesh(t, st, e, g, srv.URL, len(g.Members))
	admin := fedi.New(srv.URL).WithToken(srv.AdminToken)
	for _, m := range g.Members {
		accs, err := admin.AdminAccounts(ctx, url.Values{"origin": {"local"}, "username": {m.Username}})
		if err != nil {
			t.Fatal(err)
		}
		if len(accs) != 1 {
			t.Errorf("%d accounts named %s on the server, want 1", len(accs), m.Username)
		}
	}
	accs, _ := st.Accounts().List(ctx, g.Name)
	for _, a := range accs {
		c := fedi.New(srv.URL).WithToken(a.Token)
		if reqs, err := c.FollowRequests(ctx); err != nil || len(reqs) != 0 {
			t.Errorf("%s has %d follow requests waiting (%v)", a.Email, len(reqs), err)
		}
		if a.Email == g.Lead.Email {
			sts, err := c.AccountStatuses(ctx, a.ID)
			if err != nil || len(sts) != 1 {
				t.Errorf("the lead has %d posts (%v), want 1 welcome", len(sts), err)
			}
		}
	}
}

// The bulk paths — members signing in, the follows both ways, the lists
// and the welcome — go through a proxy that breaks 15% of the requests
// (429 with and without Retry-After, 503, answers lost after the server
// acted, connections reset before forwarding and mid-body, slow answers),
// through two 429 storms, and through a restart of the server in the
// middle of the mesh. The end state, read from the server, is exact.
func TestBulkPathsSurviveFaults(t *testing.T) {
	defer arrival.QuickRetries()()
	dest, srv := gtstest.Server(t)
	p, err := faultproxy.Start(srv.URL, faultproxy.Policy{Seed: faultSeed(t), Rate: 0.15})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	via := *srv
	via.URL = p.URL
	g := group("fault", 12)
	st := openStore(t, g)
	e := arrival.New(arrival.Config{Store: st, Group: g, Server: &via, Workers: 8, Logins: logins(t)})
	ctx := context.Background()

	// Storms and a restart at set points of the traffic.
	restarted := make(chan error, 1)
	start := p.Requests()
	go func() {
		at := func(n int) {
			for p.Requests()-start < n {
				time.Sleep(20 * time.Millisecond)
			}
		}
		at(40)
		p.Storm(1500*time.Millisecond, true)
		at(120)
		p.Storm(1500*time.Millisecond, false)
		at(250)
		t0 := time.Now()
		err := dest.Restart(ctx)
		t.Logf("server restarted mid-run in %s (%v)", time.Since(t0).Round(time.Millisecond), err)
		restarted <- err
	}()

	arrive(t, e, g, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
	err = e.Seed(ctx)
	if errors.Is(err, arrival.ErrStuck) {
		t.Logf("first seed left pieces stuck; running again as an operator would: %v", err)
		err = e.Seed(ctx)
	}
	if err != nil {
		t.Fatalf("seed through faults: %v", err)
	}
	t.Logf("faults: %s", p.Summary())
	select {
	case err := <-restarted:
		if err != nil {
			t.Fatalf("restart: %v", err)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("the mesh finished before the restart point: the test restarted nothing")
	}
	for _, f := range []faultproxy.Fault{faultproxy.TooMany, faultproxy.TooManyBare, faultproxy.Unavailable, faultproxy.LostAnswer,
		faultproxy.ResetMidBody, faultproxy.ResetBefore, faultproxy.Slow} {
		if p.Counts()[f] == 0 {
			t.Errorf("no request got %q: the test did not try it", f)
		}
	}
	serverExact(t, st, e, g, srv)
}
