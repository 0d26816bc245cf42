package gtstest_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/provision/fednet"
)

func TestMain(m *testing.M) { gtstest.Main(m) }

var runs atomic.Int32

// TestFederationFollowBothWays: an account on home follows one on room
// through the API, room's account accepts, and both servers show the
// follow; then the other way round. Every fact is read back from the
// server it lives on.
func TestFederationFollowBothWays(t *testing.T) {
	room, home := gtstest.Federation(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if room.Server.URL != "https://"+fednet.Room || home.Server.URL != "https://"+fednet.Home {
		t.Fatalf("URLs %s, %s; want https://<domain>", room.Server.URL, home.Server.URL)
	}
	n := runs.Add(1) // -count=N shares the servers: new people each run
	rosaID, rosaTok := room.Account(t, fmt.Sprintf("rosa%d", n))
	hugoID, hugoTok := home.Account(t, fmt.Sprintf("hugo%d", n))
	rosa := room.Client().WithToken(rosaTok)
	hugo := home.Client().WithToken(hugoTok)
	rosaAcct := fmt.Sprintf("rosa%d@%s", n, room.Domain)
	hugoAcct := fmt.Sprintf("hugo%d@%s", n, home.Domain)

	follow(ctx, t, hugo, hugoID, rosa, rosaID, rosaAcct, hugoAcct)
	follow(ctx, t, rosa, rosaID, hugo, hugoID, hugoAcct, rosaAcct)
}

// follow makes from (on its server) follow the account to on another
// server, found there as toAcct, has to accept the request, and reads the
// follow back from both servers.
func follow(ctx context.Context, t *testing.T, from *fedi.Client, fromID string, to *fedi.Client, toID, toAcct, fromAcct string) {
	t.Helper()
	remote, err := from.ResolveAccount(ctx, toAcct)
	if err != nil || remote.Acct != toAcct {
		t.Fatalf("%s resolves %s: %+v, %v", fromAcct, toAcct, remote, err)
	}
	rel, err := from.Follow(ctx, remote.ID)
	if err != nil {
		t.Fatalf("%s follows %s: %v", fromAcct, toAcct, err)
	}
	if !rel.Following && !rel.Requested {
		t.Fatalf("%s follows %s: relationship %+v", fromAcct, toAcct, rel)
	}
	// The request travels to the other server; its account is locked, so
	// it accepts the request there.
	var requester fedi.Account
	gtstest.WaitFor(ctx, t, fmt.Sprintf("%s's server to show the follow request from %s", toAcct, fromAcct), func() bool {
		reqs, err := to.FollowRequests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(reqs, func(a fedi.Account) bool { return a.Acct == fromAcct })
		if i >= 0 {
			requester = reqs[i]
		}
		return i >= 0
	})
	if _, err := to.AuthorizeFollowRequest(ctx, requester.ID); err != nil {
		t.Fatalf("%s accepts %s: %v", toAcct, fromAcct, err)
	}
	gtstest.WaitFor(ctx, t, fmt.Sprintf("%s's server to show %s following %s", fromAcct, fromAcct, toAcct), func() bool {
		following, err := from.Following(ctx, fromID)
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(following, func(a fedi.Account) bool { return a.ID == remote.ID && a.Acct == toAcct })
	})
	followers, err := to.Followers(ctx, toID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(followers, func(a fedi.Account) bool { return a.ID == requester.ID && a.Acct == fromAcct }) {
		t.Errorf("%s's server lists followers %+v, without %s", toAcct, followers, fromAcct)
	}
}
