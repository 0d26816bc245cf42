package gtstest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
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
	if room.Server.URL != "https://"+gtstest.RoomDomain || home.Server.URL != "https://"+gtstest.HomeDomain {
		t.Fatalf("URLs %s, %s; want https://<domain>", room.Server.URL, home.Server.URL)
	}
	n := runs.Add(1) // -count=N shares the servers: new people each run
	rosaID, rosaTok := room.Account(t, fmt.Sprintf("rosa%d", n))
	hugoID, hugoTok := home.Account(t, fmt.Sprintf("hugo%d", n))
	rosa := room.Client().WithToken(rosaTok)
	hugo := home.Client().WithToken(hugoTok)
	rosaAcct := fmt.Sprintf("rosa%d@%s", n, room.Domain)
	hugoAcct := fmt.Sprintf("hugo%d@%s", n, home.Domain)

	follow(ctx, t, hugo, hugoID, home.Server.URL, hugoTok, rosa, rosaID, rosaAcct, hugoAcct)
	follow(ctx, t, rosa, rosaID, room.Server.URL, rosaTok, hugo, hugoID, hugoAcct, rosaAcct)
}

// follow makes from (on its server) follow the account to on another
// server, found there as toAcct, has to accept the request, and reads the
// follow back from both servers.
func follow(ctx context.Context, t *testing.T, from *fedi.Client, fromID, fromURL, fromTok string,
	to *fedi.Client, toID, toAcct, fromAcct string) {
	t.Helper()
	remote := resolve(ctx, t, fromURL, fromTok, toAcct)
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
	waitFor(ctx, t, fmt.Sprintf("%s's server to show the follow request from %s", toAcct, fromAcct), func() bool {
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
	waitFor(ctx, t, fmt.Sprintf("%s's server to show %s following %s", fromAcct, fromAcct, toAcct), func() bool {
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

// resolve finds acct on the server at base, fetching it over federation
// (GET /api/v2/search?resolve=true).
func resolve(ctx context.Context, t *testing.T, base, token, acct string) fedi.Account {
	t.Helper()
	q := url.Values{"q": {"@" + acct}, "resolve": {"true"}, "type": {"accounts"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v2/search?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := gtstest.FederationHTTPClient().Do(req)
	if err != nil {
		t.Fatalf("resolve %s on %s: %v", acct, base, err)
	}
	defer resp.Body.Close()
	var res struct{ Accounts []fedi.Account }
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("resolve %s on %s: %s %v", acct, base, resp.Status, err)
	}
	if len(res.Accounts) != 1 || res.Accounts[0].Acct != acct {
		t.Fatalf("resolve %s on %s: %+v", acct, base, res.Accounts)
	}
	return res.Accounts[0]
}

func waitFor(ctx context.Context, t *testing.T, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
