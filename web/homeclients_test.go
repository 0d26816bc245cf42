package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/lifeboat-social/lifeboat/internal/netguard"
)

// The engine's clients reach the destination as any client does, and a
// member's own server only through the guard: one on a private address
// gets no request at all unless private servers are allowed.
func TestHomesClientsGuardMembersServers(t *testing.T) {
	var hits atomic.Int32
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"1","username":"ana","acct":"ana"}`))
	}))
	t.Cleanup(member.Close)
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"2","username":"bo","acct":"bo"}`))
	}))
	t.Cleanup(dest.Close)
	ctx := context.Background()

	clients := HomesConfig{}.Clients(dest.URL)
	if _, err := clients(dest.URL).WithToken("t").VerifyCredentials(ctx); err != nil {
		t.Fatalf("the destination, on loopback too, is reached: %v", err)
	}
	if _, err := clients(member.URL).WithToken("t").VerifyCredentials(ctx); !errors.Is(err, netguard.ErrForbidden) {
		t.Fatalf("a member's server on loopback: %v, want netguard.ErrForbidden", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the member's server got %d requests, want none", n)
	}

	allowed := HomesConfig{AllowPrivate: true}.Clients(dest.URL)
	if a, err := allowed(member.URL).WithToken("t").VerifyCredentials(ctx); err != nil || a.Username != "ana" || hits.Load() != 1 {
		t.Fatalf("allowed: %+v, %v, %d requests", a, err, hits.Load())
	}
}
