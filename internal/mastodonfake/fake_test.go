package mastodonfake

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/mailbox"
)

// clock is a test's clock: it moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestSignUpConfirmApprove: an API sign-up's token is refused until the
// email is confirmed (through the mailed link) and the admin approves
// the account; the reason reaches the admin.
func TestSignUpConfirmApprove(t *testing.T) {
	ctx := context.Background()
	mb, err := mailbox.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	s := Start(Config{SMTPAddr: mb.Addr, ReasonRequired: true})
	defer s.Close()
	adminID, _ := s.CreateAccount(AccountOptions{Username: "admin", Email: "admin@example.org", Confirmed: true, Approved: true, Admin: true})
	admin := fedi.New(s.URL).WithToken(s.MintToken(adminID, "read", "write", "admin:read", "admin:write"))

	c := fedi.New(s.URL)
	app, err := c.RegisterApp(ctx, "Lifeboat", "", []string{"read", "write:accounts"})
	if err != nil {
		t.Fatal(err)
	}
	appTok, err := c.ClientCredentialsToken(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	su := fedi.SignUp{Username: "ada", Email: "ada@example.org", Password: "a long password", Agreement: true}
	if _, err := c.WithToken(appTok).SignUp(ctx, su); !fedi.IsStatus(err, http.StatusUnprocessableEntity) {
		t.Fatalf("sign-up without the required reason: %v", err)
	}
	su.Reason = "River birders moving together"
	tok, err := c.WithToken(appTok).SignUp(ctx, su)
	if err != nil || tok == "" {
		t.Fatalf("sign-up: %q %v", tok, err)
	}
	if _, err := c.WithToken(appTok).SignUp(ctx, su); !fedi.IsTaken(err) {
		t.Fatalf("second sign-up: %v, want taken", err)
	}
	user := c.WithToken(tok)
	if _, err := user.VerifyCredentials(ctx); !fedi.IsStatus(err, http.StatusForbidden) || !strings.Contains(err.Error(), "confirmed e-mail") {
		t.Fatalf("before confirming: %v", err)
	}
	m, err := mb.Wait(ctx, func(m mailbox.Message) bool { return m.To[0] == "ada@example.org" })
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`http://\S+/auth/confirmation\?confirmation_token=\w+`).FindString(m.Text)
	resp, err := http.Get(link)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("confirm %q: %v %v", link, resp, err)
	}
	resp.Body.Close()
	if _, err := user.VerifyCredentials(ctx); !fedi.IsStatus(err, http.StatusForbidden) || !strings.Contains(err.Error(), "pending approval") {
		t.Fatalf("before approval: %v", err)
	}
	pend, err := admin.PendingAccounts(ctx)
	if err != nil || len(pend) != 1 || pend[0].Username != "ada" || pend[0].InviteRequest != su.Reason {
		t.Fatalf("pending %+v %v", pend, err)
	}
	if err := admin.Approve(ctx, pend[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := admin.Approve(ctx, pend[0].ID); !fedi.IsStatus(err, http.StatusForbidden) {
		t.Fatalf("approving twice: %v", err)
	}
	if me, err := user.VerifyCredentials(ctx); err != nil || me.Username != "ada" {
		t.Fatalf("after approval: %+v %v", me, err)
	}
}

// TestFollowLimit: the 401st follow in a UTC day is refused with 429 and
// a reset at the next midnight; the window reopens then. Following again
// counts nothing.
func TestFollowLimit(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 3, 14, 5, 0, 0, time.UTC)}
	s := Start(Config{Now: clk.Now, Mode: Open})
	defer s.Close()
	var ids []string
	for i := range 402 {
		id, err := s.CreateAccount(AccountOptions{Username: "u" + strconv.Itoa(i), Email: "u" + strconv.Itoa(i) + "@example.org", Confirmed: true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	me := fedi.New(s.URL, fedi.WithClock(clk.Now), fedi.WithLimits(fedi.Limits{MaxRetries: -1, MaxWait: time.Millisecond}))
	meTok := s.MintToken(ids[0], "read", "write", "follow")
	me = me.WithToken(meTok)
	for i, id := range ids[1:401] {
		if _, err := me.Follow(ctx, id); err != nil {
			t.Fatalf("follow %d: %v", i, err)
		}
		if i%100 == 99 {
			clk.Add(5 * time.Minute) // stay within 300 requests per 5 minutes
		}
	}
	other := fedi.New(s.URL, fedi.WithClock(clk.Now)).WithToken(s.MintToken(ids[2], "follow"))
	for range 2 {
		if _, err := other.Follow(ctx, ids[1]); err != nil {
			t.Fatalf("following (again): %v", err)
		}
	}
	// The client knows from the last answer's headers that none are left…
	_, err := me.Follow(ctx, ids[401])
	var fe *fedi.Error
	if !fedi.IsRateLimited(err) || !errors.As(err, &fe) || !fe.RetryAt.Equal(time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("401st follow: %v", err)
	}
	// The token's other requests go on.
	if _, err := me.VerifyCredentials(ctx); err != nil {
		t.Fatalf("the token after its follows are spent: %v", err)
	}
	// …and the server refuses one sent anyway.
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/accounts/"+ids[401]+"/follow", nil)
	req.Header.Set("Authorization", "Bearer "+meTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header; resp.StatusCode != 429 || h.Get("X-RateLimit-Limit") != "400" || h.Get("X-RateLimit-Remaining") != "0" ||
		h.Get("X-RateLimit-Reset") != "2026-12-04T00:00:00.000000Z" {
		t.Fatalf("401st follow on the wire: %d %v", resp.StatusCode, h)
	}
	if st := s.Stats(); st.FollowsMade != 401 || st.FollowRepeats != 1 || st.FollowsLimited != 1 {
		t.Fatalf("stats %+v", st)
	}
	clk.Add(10 * time.Hour)
	if _, err := me.Follow(ctx, ids[401]); err != nil {
		t.Fatalf("next day: %v", err)
	}
}

// TestTokenLimit: 300 API requests per token per 5 minutes, with the
// remaining count in every answer.
func TestTokenLimit(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 3, 14, 0, 1, 0, time.UTC)}
	s := Start(Config{Now: clk.Now, Mode: Open})
	defer s.Close()
	id, _ := s.CreateAccount(AccountOptions{Username: "a", Email: "a@example.org", Confirmed: true})
	tok := s.MintToken(id, "read")
	get := func() *http.Response {
		req, _ := http.NewRequest("GET", s.URL+"/api/v1/accounts/verify_credentials", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 300 {
		r := get()
		if r.StatusCode != 200 || r.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(299-i) {
			t.Fatalf("request %d: %d remaining %s", i, r.StatusCode, r.Header.Get("X-RateLimit-Remaining"))
		}
	}
	r := get()
	if r.StatusCode != 429 || r.Header.Get("X-RateLimit-Reset") != "2026-12-03T14:05:00.000000Z" || r.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("301st: %d %v", r.StatusCode, r.Header)
	}
	clk.Add(5 * time.Minute)
	if r := get(); r.StatusCode != 200 {
		t.Fatalf("next window: %d", r.StatusCode)
	}
}

// TestLimitedFederation: in limited federation mode the API answers only
// signed-in users, the instance's description included; registering an
// app and the OAuth pages stay open, and a member's own token works.
func TestLimitedFederation(t *testing.T) {
	ctx := context.Background()
	f := Start(Config{LimitedFederation: true, Mode: None})
	defer f.Close()
	id, err := f.CreateAccount(AccountOptions{Username: "ana", Email: "ana@example.org", Password: "own password 42", Confirmed: true, Approved: true})
	if err != nil {
		t.Fatal(err)
	}
	c := fedi.New(f.URL)
	if _, err := c.InstanceV2(ctx); !fedi.IsStatus(err, http.StatusUnauthorized) || !strings.Contains(err.Error(), "requires an authenticated user") {
		t.Fatalf("instance without a user: %v", err)
	}
	app, err := c.RegisterApp(ctx, "Lifeboat", "http://lifeboat.test/cb", []string{"read", "write", "follow"})
	if err != nil {
		t.Fatalf("apps stay open: %v", err)
	}
	appTok, err := c.ClientCredentialsToken(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WithToken(appTok).InstanceV2(ctx); !fedi.IsStatus(err, http.StatusUnauthorized) {
		t.Fatalf("instance with an app token (no user): %v", err)
	}
	back, err := NewBrowser().Authorize(ctx, c.AuthorizeURL(app, "s"), "ana@example.org", "own password 42")
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`code=(\w+)`).FindStringSubmatch(back)
	tok, err := c.ExchangeCode(ctx, app, code[1])
	if err != nil {
		t.Fatal(err)
	}
	user := c.WithToken(tok)
	if me, err := user.VerifyCredentials(ctx); err != nil || me.ID != id {
		t.Fatalf("the member's token: %+v, %v", me, err)
	}
	if _, err := user.InstanceV2(ctx); err != nil {
		t.Fatalf("instance for a signed-in user: %v", err)
	}
}
