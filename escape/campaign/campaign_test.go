package campaign

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

func setup(t *testing.T) (store.Store, *groups.Group, ed25519.PrivateKey) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	g := &groups.Group{Version: 1, Name: "river-birders", Title: "River Birders", ViableMass: 3,
		Lead: groups.Person{Name: "Ada", Email: "ada@example.org"}}
	for _, n := range []string{"ada", "ben", "cleo", "dev"} {
		g.Members = append(g.Members, groups.Member{Name: n, Email: n + "@example.org"})
	}
	if err := st.Groups().Put(ctx, store.Group{Name: g.Name, Title: g.Title, State: pledge.StateGathering}); err != nil {
		t.Fatal(err)
	}
	sg, err := st.Groups().Get(ctx, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	return st, g, ed25519.PrivateKey(sg.SigningKey)
}

func pledgeAs(t *testing.T, st store.Store, email string, threshold int, confirmed, withdrawn bool) {
	t.Helper()
	p := store.Pledge{Group: "river-birders", Email: email, Threshold: threshold, Confirmed: confirmed, Withdrawn: withdrawn}
	if err := st.Pledges().Put(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func TestReadCounts(t *testing.T) {
	st, g, _ := setup(t)
	ctx := context.Background()
	pledgeAs(t, st, "ada@example.org", 0, true, false)
	pledgeAs(t, st, "ben@example.org", 3, true, false) // needs 3 others: not yet
	pledgeAs(t, st, "cleo@example.org", 0, false, false)
	pledgeAs(t, st, "dev@example.org", 0, true, true)
	pledgeAs(t, st, "stranger@example.org", 0, true, false) // not in the group file
	s, err := Read(ctx, st, g)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Going["ada@example.org"] || len(s.Going) != 1 || len(s.Pledges) != 2 || s.Unconfirmed != 1 || s.Outlook.Viable {
		t.Fatalf("status: going %v, pledges %d, unconfirmed %d, outlook %+v", s.Going, len(s.Pledges), s.Unconfirmed, s.Outlook)
	}
	if _, err := Launch(ctx, st, g, false, time.Now(), nil); err == nil || !strings.Contains(err.Error(), "not viable yet: 1 would go, 3 needed") {
		t.Fatalf("launch below viable mass: %v", err)
	}
	if _, err := Invites(ctx, st, g, nil, time.Hour, time.Now()); !errors.Is(err, ErrNotLaunched) {
		t.Fatalf("invites before launch: %v", err)
	}
}

// TestLaunchOnce: of many launches at once, exactly one succeeds; the
// invites are the same links every time they are asked for.
func TestLaunchOnce(t *testing.T) {
	st, g, key := setup(t)
	ctx := context.Background()
	for _, m := range g.Members[:3] {
		pledgeAs(t, st, m.Email, 0, true, false)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, refused := 0, 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Launch(ctx, st, g, false, time.Now(), nil)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ErrNotGathering):
				refused++
				if s.State != pledge.StateLaunched {
					t.Errorf("a refused launch reports state %q, want launched", s.State)
				}
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || refused != 7 {
		t.Fatalf("%d launches succeeded, %d refused", wins, refused)
	}
	a, err := Invites(ctx, st, g, key, 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Invites(ctx, st, g, key, 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 3 || a[0].Email != "ada@example.org" || a[2].Email != "cleo@example.org" {
		t.Fatalf("invites: %+v", a)
	}
	for i := range a {
		if a[i].Token != b[i].Token || a[i].Expires != b[i].Expires {
			t.Fatalf("invite %d changed between calls", i)
		}
	}
	stored, _ := st.Invites().List(ctx, g.Name)
	if len(stored) != 3 {
		t.Fatalf("%d invites stored, want 3", len(stored))
	}
	s, _ := Read(ctx, st, g)
	if want := s.LaunchedAt.Add(24 * time.Hour).Truncate(time.Second); !a[0].Expires.Equal(want) {
		t.Fatalf("expires %v, want launch + ttl %v", a[0].Expires, want)
	}
}

func TestLaunchByHand(t *testing.T) {
	st, g, _ := setup(t)
	ctx := context.Background()
	if _, err := Launch(ctx, st, g, true, time.Now(), nil); err == nil || !strings.Contains(err.Error(), "nobody would go yet") {
		t.Fatalf("by hand with nobody: %v", err)
	}
	pledgeAs(t, st, "ada@example.org", 0, true, false)
	s, err := Launch(ctx, st, g, true, time.Now(), nil)
	if err != nil || s.State != pledge.StateLaunched {
		t.Fatalf("by hand: %+v, %v", s.State, err)
	}
}
