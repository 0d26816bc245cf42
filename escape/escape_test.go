package escape

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
)

func testEscape(t *testing.T, n, viable int) (*Escape, store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Dir: filepath.Join(t.TempDir(), "s")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	g := &groups.Group{Version: 1, Name: "kites", Title: "Kites", ViableMass: viable,
		Lead: groups.Person{Name: "A", Email: "a0@example.org"}, Destination: groups.Destination{Type: groups.DestLocal}}
	for i := 0; i < n; i++ {
		g.Members = append(g.Members, groups.Member{Name: "M", Email: "A" + string(rune('0'+i)) + "@Example.org"})
	}
	if err := SaveGroup(context.Background(), st, g); err != nil {
		t.Fatal(err)
	}
	return New(Config{Store: st, Group: g}), st
}

// Launch waits for the cascade to reach viable mass: conditional pledges
// whose conditions fail do not count.
func TestLaunchNeedsViableMass(t *testing.T) {
	x, st := testEscape(t, 4, 3)
	ctx := context.Background()
	now := time.Now()
	put := func(email string, threshold int) {
		if err := st.Pledges().Put(ctx, store.Pledge{Group: "kites", Email: email, Threshold: threshold, Confirmed: true, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	put("a0@example.org", 0)
	put("a1@example.org", 0)
	put("a2@example.org", 3) // goes only if 3 others go: they won't
	err := x.launch(ctx)
	if err == nil || !strings.Contains(err.Error(), "2 would go, 3 needed") {
		t.Fatalf("launch below viable mass: %v", err)
	}
	put("a3@example.org", 0) // now a2's condition holds too
	if err := x.launch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := x.launch(ctx); err != nil {
		t.Errorf("launching twice must be a no-op: %v", err)
	}
	g, _ := st.Groups().Get(ctx, "kites")
	if g.State != pledge.StateLaunched {
		t.Errorf("state %q, want launched", g.State)
	}
}

// Invites are real signed invite tokens, one per going member, made once;
// redeeming them in the demo uses each exactly once.
func TestInvitesIssuedOnce(t *testing.T) {
	x, st := testEscape(t, 3, 2)
	ctx := context.Background()
	if err := x.pledgeAll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := x.issueInvites(ctx); !errors.Is(err, campaign.ErrNotLaunched) {
		t.Fatalf("invites before launch: %v", err)
	}
	if err := x.launch(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := x.issueInvites(ctx); err != nil {
			t.Fatal(err)
		}
	}
	invs, err := st.Invites().List(ctx, "kites")
	if err != nil || len(invs) != 3 {
		t.Fatalf("%d invites (%v), want 3", len(invs), err)
	}
	for _, inv := range invs {
		if inv.Email != strings.ToLower(inv.Email) || len(inv.TokenHash) < 32 {
			t.Errorf("invite %+v", inv)
		}
	}
	if err := st.Invites().Redeem(ctx, invs[0].TokenHash, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.Invites().Redeem(ctx, invs[0].TokenHash, time.Now()); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second redeem: %v, want ErrConflict", err)
	}
}

// The playbook's launch waits for launch_at on the clock it is given, and
// for a ready destination: refused naming the missing step, then done.
func TestLaunchAtAndReadiness(t *testing.T) {
	x, st := testEscape(t, 3, 2)
	ctx := context.Background()
	t0 := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	at := t0.Add(2 * time.Hour)
	x.cfg.Group.LaunchAt = &at
	var slept []time.Duration
	x.cfg.Now = func() time.Time { return now }
	x.cfg.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); now = now.Add(d); return nil }
	ready := false
	x.cfg.Ready = provision.ReadyFunc(func(context.Context) (bool, string, error) {
		if ready {
			return true, "", nil
		}
		return false, "the local server is not running", nil
	})
	for _, e := range []string{"a0@example.org", "a1@example.org"} {
		if err := st.Pledges().Put(ctx, store.Pledge{Group: "kites", Email: e, Confirmed: true, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	err := x.launch(ctx)
	var nr *campaign.NotReadyError
	if !errors.As(err, &nr) || nr.Missing != "the local server is not running" {
		t.Fatalf("launch onto a destination that is not ready: %v", err)
	}
	if len(slept) != 1 || slept[0] != 2*time.Hour {
		t.Fatalf("slept %v, want once until launch_at", slept)
	}
	ready = true
	if err := x.launch(ctx); err != nil {
		t.Fatal(err)
	}
	g, _ := st.Groups().Get(ctx, "kites")
	if g.State != pledge.StateLaunched || !g.LaunchedAt.Equal(at) || len(slept) != 1 {
		t.Fatalf("launched %s at %v after sleeping %v; want at %v", g.State, g.LaunchedAt, slept, at)
	}
}

// upNow is a destination that is up at once and makes no accounts.
type upNow struct{}

func (upNow) Start(context.Context, progress.Func) (*provision.Server, error) {
	return &provision.Server{URL: "http://127.0.0.1:1", Software: "gotosocial"}, nil
}
func (upNow) Stop(context.Context) error { return nil }

// The local playbook's stand-ins for members are the demo's alone: run
// for a real group (Demo unset), it stops at "everyone pledges" with
// ErrDemoOnly and no pledge is made up; the group stays gathering.
func TestDemoStepsRefuseARealGroup(t *testing.T) {
	x, st := testEscape(t, 3, 2)
	x.cfg.Dest = upNow{}
	ctx := context.Background()
	if _, err := x.Run(ctx, "local"); !errors.Is(err, ErrDemoOnly) {
		t.Fatalf("the local playbook for a real group: %v, want ErrDemoOnly", err)
	}
	if err := x.demoOnly(x.arriveAll)(ctx); !errors.Is(err, ErrDemoOnly) {
		t.Errorf("demo.arrive for a real group: %v, want ErrDemoOnly", err)
	}
	ps, err := st.Pledges().List(ctx, "kites")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 0 {
		t.Errorf("%d pledges made up for a real group", len(ps))
	}
	if g, _ := st.Groups().Get(ctx, "kites"); g.State != pledge.StateGathering {
		t.Errorf("state %q, want gathering", g.State)
	}
	// the demo's escape does pledge for everyone
	x.cfg.Demo = true
	if err := x.demoOnly(x.pledgeAll)(ctx); err != nil {
		t.Fatal(err)
	}
	if ps, _ := st.Pledges().List(ctx, "kites"); len(ps) != 3 {
		t.Errorf("the demo made %d pledges, want 3", len(ps))
	}
}
