package mastodonfake

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
)

// TestMigration: an account moves only to one that names it as an
// alias, with its password, once in 30 days; then it redirects ("moved"
// in the API, "movedTo" in its actor), its followers ask to follow the
// new account, and its user can no longer use the API.
func TestMigration(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 3, 14, 5, 0, 0, time.UTC)}
	oldS := Start(Config{Now: clk.Now, Mode: Open})
	defer oldS.Close()
	newS := Start(Config{Now: clk.Now, Mode: Open})
	defer newS.Close()
	account := func(s *Server, name string) string {
		id, err := s.CreateAccount(AccountOptions{Username: name, Email: name + "@example.org", Password: "password-" + name, Confirmed: true})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	oldID := account(oldS, "ana")
	account(oldS, "ben")
	account(oldS, "cat")
	newID := account(newS, "ana2")
	for _, f := range []string{"ben", "cat"} {
		if err := oldS.Follow(f, "ana"); err != nil {
			t.Fatal(err)
		}
	}
	oldAddr, newAddr := "ana@"+oldS.cfg.Domain, "@ana2@"+newS.cfg.Domain
	move := func(acct, password string) string {
		t.Helper()
		p, err := NewBrowser().Settings(ctx, oldS.URL+"/settings/migration", "ana@example.org", "password-ana",
			url.Values{"account_migration[acct]": {acct}, "account_migration[current_password]": {password}})
		if err != nil {
			t.Fatal(err)
		}
		return p.Alert()
	}

	// No REST API for either half.
	api := fedi.New(newS.URL).WithToken(newS.MintToken(newID, "read", "write"))
	if _, err := api.Alias(ctx, []string{oldS.URL + "/users/ana"}); !fedi.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("alias through the API: %v", err)
	}
	if err := api.Move(ctx, "password-ana", newS.URL+"/users/ana2"); !fedi.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("move through the API: %v", err)
	}
	if a := move(newAddr, "password-ana"); a != "Handle of the new account is not an alias of this account" {
		t.Fatalf("move before the alias: %q", a)
	}
	p, err := NewBrowser().Settings(ctx, newS.URL+"/settings/aliases", "ana2@example.org", "password-ana2",
		url.Values{"account_alias[acct]": {"@" + oldAddr}})
	if err != nil || p.Alert() != "" {
		t.Fatalf("alias: %v %q", err, p.Alert())
	}
	if a := move(newAddr, "wrong"); a != "Current password is invalid" {
		t.Fatalf("wrong password: %q", a)
	}
	if a := move("@nobody@"+newS.cfg.Domain, "password-ana"); a != "Handle of the new account could not be found" {
		t.Fatalf("unknown target: %q", a)
	}
	user := fedi.New(oldS.URL, fedi.WithClock(clk.Now)).WithToken(oldS.MintToken(oldID, "read"))
	if _, err := user.VerifyCredentials(ctx); err != nil {
		t.Fatalf("before the move: %v", err)
	}
	if a := move(newAddr, "password-ana"); a != "" {
		t.Fatalf("move: %q", a)
	}

	m, err := fedi.New(oldS.URL).LookupMoving(ctx, "ana")
	if err != nil || m.Moved == nil || m.Moved.Acct != "ana2@"+newS.cfg.Domain || m.Moved.URL != newS.URL+"/@ana2" {
		t.Fatalf("moved: %v %+v", err, m.Moved)
	}
	if got := oldS.RemoteFollows(newS.URL + "/users/ana2"); !slices.Equal(got, []string{"ben", "cat"}) {
		t.Fatalf("followers asking to follow the new account: %v", got)
	}
	if fs, err := fedi.New(oldS.URL).Followers(ctx, oldID); err != nil || len(fs) != 0 {
		t.Fatalf("the old account's followers: %v %v", err, fs)
	}
	if _, err := user.VerifyCredentials(ctx); !fedi.IsStatus(err, http.StatusForbidden) {
		t.Fatalf("the moved account's user: %v", err)
	}
	var actor struct{ MovedTo string }
	if err := fetchJSON(oldS.URL+"/users/ana", "application/activity+json", &actor); err != nil || actor.MovedTo != newS.URL+"/users/ana2" {
		t.Fatalf("actor: %v %+v", err, actor)
	}

	clk.Add(29 * 24 * time.Hour)
	if a := move(newAddr, "password-ana"); a != "You are on cooldown" {
		t.Fatalf("29 days later: %q", a)
	}
	clk.Add(2 * 24 * time.Hour)
	if a := move(newAddr, "password-ana"); a != "Handle of the new account is the same account you've already moved to" {
		t.Fatalf("31 days later, the same target: %q", a)
	}
}
