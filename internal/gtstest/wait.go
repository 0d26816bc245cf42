package gtstest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
)

// WaitFor polls ok until it holds, failing the test with what it waited
// for when ctx ends first: federation delivers over seconds to minutes.
func WaitFor(ctx context.Context, t testing.TB, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Resolve finds acct (user@domain) through f with a user's token,
// fetching it over federation (GET /api/v2/search?resolve=true), as a
// person does who follows someone on another server.
func (f *Fed) Resolve(ctx context.Context, t testing.TB, token, acct string) fedi.Account {
	t.Helper()
	q := url.Values{"q": {"@" + acct}, "resolve": {"true"}, "type": {"accounts"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.Server.URL+"/api/v2/search?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := FederationHTTPClient().Do(req)
	if err != nil {
		t.Fatalf("resolve %s on %s: %v", acct, f.Domain, err)
	}
	defer resp.Body.Close()
	var res struct{ Accounts []fedi.Account }
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != http.StatusOK ||
		len(res.Accounts) != 1 || res.Accounts[0].Acct != acct {
		t.Fatalf("resolve %s on %s: %s %v %+v", acct, f.Domain, resp.Status, err, res.Accounts)
	}
	return res.Accounts[0]
}
