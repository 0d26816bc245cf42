package fedi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"
)

// TestGoToSocial runs the client against a real GoToSocial when one is
// given: FEDI_GTS_URL, and an admin's FEDI_GTS_ADMIN_EMAIL and
// FEDI_GTS_ADMIN_PASSWORD (created with `gotosocial admin account create`,
// confirmed and promoted). The server needs accounts-registration-open and a
// loopback-friendly rate limit. internal/gtstest will start one for this test
// once it lands; until then the test skips.
func TestGoToSocial(t *testing.T) {
	base, email, password := os.Getenv("FEDI_GTS_URL"), os.Getenv("FEDI_GTS_ADMIN_EMAIL"), os.Getenv("FEDI_GTS_ADMIN_PASSWORD")
	if base == "" || email == "" || password == "" {
		t.Skip("no GoToSocial: set FEDI_GTS_URL, FEDI_GTS_ADMIN_EMAIL, FEDI_GTS_ADMIN_PASSWORD")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := New(base, WithLimits(Limits{SharedPerHost: true}))

	in, err := c.InstanceV2(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("instance %s %s, registrations %+v", in.Domain, in.Version, in.Registrations)
	if ni, err := c.NodeInfo(ctx); err != nil || ni.Software.Name != "gotosocial" {
		t.Fatalf("NodeInfo %+v %v", ni, err)
	}
	if _, err := c.Rules(ctx); err != nil {
		t.Fatal(err)
	}

	scopes := []string{"read", "write", "follow", "admin:read:accounts", "admin:write:accounts"}
	app, err := c.RegisterApp(ctx, "lifeboat-test", "http://127.0.0.1/callback", scopes)
	if err != nil {
		t.Fatal(err)
	}
	adminTok, err := c.SignInAndAuthorize(ctx, app, email, password)
	if err != nil {
		t.Fatal(err)
	}
	admin := c.WithToken(adminTok)
	me, err := admin.VerifyCredentials(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Sign up a member with an app token; v0.17.3 may answer 500 after
	// creating the account.
	appTok, err := c.ClientCredentialsToken(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("m%d", time.Now().UnixNano()%1e9)
	_, err = c.WithToken(appTok).SignUp(ctx, SignUp{Username: name, Email: name + "@example.org",
		Password: "Correct-Horse-Battery-9", Reason: "with the lifeboat group", Agreement: true})
	if err != nil && !IsStatus(err, http.StatusInternalServerError) {
		t.Fatal(err)
	}
	pending, err := admin.PendingAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, p := range pending {
		if p.Username == name {
			id = p.ID
		}
	}
	if id == "" {
		found, err := admin.AdminAccounts(ctx, url.Values{"username": {name}})
		if err != nil || len(found) != 1 {
			t.Fatalf("new account not found: %v %v", found, err)
		}
		id = found[0].ID
	}
	if err := admin.Approve(ctx, id); err != nil {
		t.Fatal(err)
	}

	member, err := admin.Lookup(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // following twice is a no-op
		if _, err := admin.Follow(ctx, member.ID); err != nil {
			t.Fatal(err)
		}
	}
	following, err := admin.Following(ctx, me.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("admin follows %d accounts", len(following))
	list, err := admin.CreateList(ctx, "lifeboat "+name)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // adding twice is fine
		if err := admin.AddToList(ctx, list.ID, []string{member.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if as, err := admin.ListAccounts(ctx, list.ID); err != nil || len(as) != 1 || as[0].ID != member.ID {
		t.Fatalf("ListAccounts %v %v", as, err)
	}
	st, err := admin.PostStatus(ctx, "The lifeboat has landed.", Unlisted)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := admin.AccountStatuses(ctx, me.ID)
	if err != nil || len(ss) == 0 || ss[0].ID != st.ID {
		t.Fatalf("AccountStatuses %v %v", ss, err)
	}
}
