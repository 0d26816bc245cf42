package fedi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ResolveAccount asks the search that fetches unknown remote accounts,
// and takes only the account at the address: a server writes its own
// accounts' acct without the domain.
func TestResolveAccount(t *testing.T) {
	f := newFake(t)
	f.json("GET /api/v2/search", 200, `{"accounts":[{"id":"9","username":"ana","acct":"ana@other.example"},{"id":"10","username":"bo","acct":"bo"}],"statuses":[],"hashtags":[]}`)
	c := New(f.srv.URL).WithToken("T")
	a, err := c.ResolveAccount(context.Background(), "@Ana@other.example")
	if err != nil || a.ID != "9" {
		t.Fatalf("resolve ana: %+v, %v", a, err)
	}
	q := f.last().Query
	for _, want := range []string{"resolve=true", "type=accounts", "q=%40Ana%40other.example"} {
		if !strings.Contains(q, want) {
			t.Errorf("query %q lacks %s", q, want)
		}
	}
	if f.last().Auth != "Bearer T" {
		t.Error("the search went without the token: servers resolve only for a signed-in caller")
	}
	if a, err := c.ResolveAccount(context.Background(), "bo@here.example"); err != nil || a.ID != "10" {
		t.Errorf("a local account: %+v, %v", a, err)
	}
	if _, err := c.ResolveAccount(context.Background(), "ana@elsewhere.example"); !IsStatus(err, http.StatusNotFound) {
		t.Errorf("an address the server does not hold: %v, want 404", err)
	}
}

func TestDomain(t *testing.T) {
	f := newFake(t)
	f.json("GET /api/v2/instance", 200, `{"domain":"Social.Example","title":"x"}`)
	if d, err := New(f.srv.URL).Domain(context.Background()); err != nil || d != "social.example" {
		t.Fatalf("domain %q, %v", d, err)
	}
	g := newFake(t)
	g.json("GET /api/v2/instance", 200, `{"title":"x"}`)
	if _, err := New(g.srv.URL).Domain(context.Background()); err == nil {
		t.Error("a server that names no domain gave one")
	}
}

// Every pause for a 429 is reported, by every copy of the client.
func TestReportWaits(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1)%2 == 1 {
			w.Header().Set("Retry-After", "0.05")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, `{"id":"1","username":"a","acct":"a"}`)
	}))
	defer srv.Close()
	c := New(srv.URL)
	var mu sync.Mutex
	var waits []Wait
	c.ReportWaits(func(w Wait) {
		mu.Lock()
		waits = append(waits, w)
		mu.Unlock()
	})
	for _, tok := range []string{"A", "B"} {
		if _, err := c.WithToken(tok).VerifyCredentials(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 2 {
		t.Fatalf("%d waits reported, want 2", len(waits))
	}
	for _, w := range waits {
		if w.Status != http.StatusTooManyRequests || w.Host != strings.TrimPrefix(srv.URL, "http://") || w.Until.IsZero() || time.Until(w.Until) > time.Second {
			t.Errorf("wait %+v", w)
		}
	}
}
