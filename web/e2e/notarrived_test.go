package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/web"
)

// TestArriveBeforeFollowsArrive: a member whose account lives on another
// server (home) arrives in a room on room, two real GoToSocial servers
// that federate. Their follows cross the servers by federation, which
// takes longer than the engine waits here (FollowWait, 30 s in serve, a
// millisecond here), so the seed ends with follows still on their way
// (arrival.ErrNotArrived). The member's page still answers: no error,
// the counts made so far, and the follows stay requested in the journal.
// Later arrivals confirm them until the member follows and is followed
// by everyone.
func TestArriveBeforeFollowsArrive(t *testing.T) {
	room, home := gtstest.Federation(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hc := gtstest.FederationHTTPClient()
	client := func(u string) *fedi.Client { return fedi.New(u, fedi.WithHTTPClient(hc)) }

	// The servers outlive a test (and -count runs): names of their own.
	name := fmt.Sprintf("late%d", time.Now().UnixNano()%1e7)
	g := &groups.Group{Version: 1, Name: name, Title: "Late " + name, ViableMass: 2,
		Lead: groups.Person{Name: "Lead", Email: name + "0@example.org"}, Destination: groups.Destination{Type: groups.DestLocal}}
	st, err := store.Open(ctx, store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 3 {
		g.Members = append(g.Members, groups.Member{Name: fmt.Sprint("M", i), Email: fmt.Sprintf("%s%d@example.org", name, i),
			Username: fmt.Sprintf("%s_%d", name, i)})
	}
	if err := escape.SaveGroup(ctx, st, g); err != nil {
		t.Fatal(err)
	}
	// Two members on room, the third on home, where they kept their account.
	var remote store.Account
	for i, m := range g.Members {
		on := room
		if i == 2 {
			on = home
		}
		id, tok := on.Account(t, m.Username)
		a := store.Account{Group: name, Email: m.Email, Server: on.Server.URL, ID: id, Username: m.Username, Token: tok,
			Acct: m.Username + "@" + on.Domain, CreatedAt: time.Now().Add(time.Duration(i) * time.Millisecond)}
		if err := st.Accounts().Put(ctx, a); err != nil {
			t.Fatal(err)
		}
		if on == home {
			remote = a
		}
	}
	eng := arrival.New(arrival.Config{Store: st, Group: g, Server: room.Server, Client: client, FollowWait: time.Millisecond})
	arrive := web.EngineArrivals(eng, st, room.Server.URL).(web.HomeArrivals)

	res, err := arrive.Arrive(ctx, name, remote.Email)
	if err != nil {
		t.Fatalf("an arrival whose follows between servers are on their way: %v", err)
	}
	if res.Server != home.Server.URL || res.Acct != remote.Acct || res.Following > 2 || res.Followers > 2 {
		t.Fatalf("the arrival's answer %+v: want the member on home, with the counts so far", res)
	}
	// The seed did end with follows on their way: requested, not yet seen
	// following on the follower's server.
	if late := unconfirmed(ctx, t, st, name, room.Server.URL); len(late) == 0 {
		t.Fatal("no follow between servers was left on its way: the arrival did not meet the case under test")
	}

	// Later arrivals (the next member's, or the page again) confirm them.
	gtstest.WaitFor(ctx, t, "the remote member's follows to arrive", func() bool {
		res, err = arrive.Arrive(ctx, name, remote.Email)
		if err != nil {
			t.Fatal(err)
		}
		return res.Following == 2 && res.Followers == 2 && len(unconfirmed(ctx, t, st, name, room.Server.URL)) == 0
	})
}

// unconfirmed are the follows the engine journaled as requested and has
// not yet seen arrive (no follow: entry), in its journal run for the
// group on server.
func unconfirmed(ctx context.Context, t *testing.T, st store.Store, group, server string) []string {
	t.Helper()
	steps, err := st.Journal().List(ctx, "arrive:"+group+"@"+server, "")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, s := range steps {
		keys[s.Key] = true
	}
	var late []string
	for k := range keys {
		if pair, ok := strings.CutPrefix(k, "requested:"); ok && !keys["follow:"+pair] {
			late = append(late, pair)
		}
	}
	return late
}
