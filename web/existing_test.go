package web

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
)

// fakeDoor is an existing server's sign-up as Mastodon and GoToSocial
// answer it: one account per username and one per email.
type fakeDoor struct {
	api bool

	mu      sync.Mutex
	byName  map[string]string // username -> email
	byEmail map[string]string
	reasons map[string]string // email -> reason
	tries   int
	full    bool
}

func newFakeDoor(api bool) *fakeDoor {
	return &fakeDoor{api: api, byName: map[string]string{}, byEmail: map[string]string{}, reasons: map[string]string{}}
}

func (d *fakeDoor) ViaAPI() bool   { return d.api }
func (d *fakeDoor) Page() string   { return "https://social.example/auth/sign_up" }
func (d *fakeDoor) Domain() string { return "social.example" }

func (d *fakeDoor) SignUp(ctx context.Context, username, email, password, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tries++
	if d.full {
		return fmt.Errorf("sign up: %w", existing.ErrFull)
	}
	if _, ok := d.byEmail[strings.ToLower(email)]; ok {
		return fmt.Errorf("sign up: %w", existing.ErrEmailTaken)
	}
	if _, ok := d.byName[strings.ToLower(username)]; ok {
		return fmt.Errorf("sign up: %w", provision.ErrUsernameTaken)
	}
	d.byName[strings.ToLower(username)] = email
	d.byEmail[strings.ToLower(email)] = username
	d.reasons[strings.ToLower(email)] = reason
	return nil
}

func (d *fakeDoor) Exists(ctx context.Context, username string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.byName[strings.ToLower(username)]
	return ok, nil
}

// existingEnv is a group bound for https://social.example whose request
// the admin accepted, launched, with each member's invite link.
func existingEnv(t *testing.T, door *fakeDoor) (*env, *admission.Request, map[string]string) {
	t.Helper()
	g := testGroup(4, 3)
	g.Destination = groups.Destination{Type: groups.DestExisting, Server: "https://social.example"}
	e := start(t, opts{group: g, noRun: true, tune: func(c *Config) { c.SignUps = door }})
	ctx := context.Background()
	sg, err := e.st.Groups().Get(ctx, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var emails []string
	for _, m := range g.Members {
		emails = append(emails, m.Email)
	}
	req, err := admission.New(admission.Draft{Server: g.Destination.Server, Group: admission.Group{Name: g.Name, Title: g.Title},
		Emails: emails, Window: admission.Window{From: now.Add(-time.Hour), Until: now.Add(48 * time.Hour)}},
		ed25519.PrivateKey(sg.SigningKey), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := admission.SaveRequest(ctx, e.st.Journal(), req); err != nil {
		t.Fatal(err)
	}
	for _, m := range g.Members[:3] {
		e.st.Pledges().Put(ctx, store.Pledge{Group: g.Name, Email: m.Email, Confirmed: true})
	}
	if err := e.srv.Launch(ctx, false); err != nil {
		t.Fatal(err)
	}
	invs, err := e.srv.Invites(ctx)
	if err != nil || len(invs) != 3 {
		t.Fatalf("invites %v, %v", invs, err)
	}
	links := map[string]string{}
	for _, inv := range invs {
		links[inv.Email] = inv.URL
	}
	return e, req, links
}

var proofRE = regexp.MustCompile(`<code class="proof" id="reason">([^<]+)</code>`)

// On GoToSocial Lifeboat signs the member up itself, with the member's
// proof as the reason: it fits every server's reason field, and admits
// this member's email and no other.
func TestExistingSignUpCarriesAdmissionProof(t *testing.T) {
	door := newFakeDoor(true)
	e, req, links := existingEnv(t, door)
	b := newBrowser(t, true)
	code, page := b.get(links["ada@example.org"])
	if code != 200 || !strings.Contains(page, `name="password"`) || !strings.Contains(page, "https://social.example/auth/sign_up") {
		t.Fatalf("invite page %d:\n%s", code, page)
	}
	resp, page := b.post(e.url+"/arrive", url.Values{"csrf": {csrfOf(t, page)}, "username": {"ada"}, "password": {"correct horse"}, "password2": {"correct horse"}})
	if resp.StatusCode != 200 || !strings.Contains(page, "Confirm your email") || !strings.Contains(page, "@ada@social.example") ||
		!strings.Contains(page, `http-equiv="refresh"`) || !strings.Contains(page, `id="authorize"`) {
		t.Fatalf("after sign-up %d:\n%s", resp.StatusCode, page)
	}
	reason := door.reasons["ada@example.org"]
	if n := utf8.RuneCountInString(reason); n < 40 || n > 420 {
		t.Fatalf("reason of %d characters: %q", n, reason)
	}
	p, err := admission.ParseProof(reason)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(req, "ada@example.org", time.Now()); err != nil {
		t.Errorf("the proof does not admit its member: %v", err)
	}
	if err := p.Check(req, "ben@example.org", time.Now()); err == nil {
		t.Error("the proof admits another member")
	}
}

// A member whose username is taken is told so, and their second choice
// makes the account.
func TestExistingTakenUsernameSecondChoice(t *testing.T) {
	door := newFakeDoor(true)
	door.byName["ben"] = "someone@else.example"
	door.full = true
	e, _, links := existingEnv(t, door)
	b := newBrowser(t, true)
	_, page := b.get(links["ben@example.org"])
	// A server whose sign-ups are full for the day says so; the link
	// keeps the member's place.
	resp, page := b.post(e.url+"/arrive", url.Values{"csrf": {csrfOf(t, page)}, "username": {"ben"}, "password": {"correct horse"}, "password2": {"correct horse"}})
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "social.example takes no more sign-ups today") || !strings.Contains(page, `name="password"`) {
		t.Fatalf("full: %d\n%s", resp.StatusCode, page)
	}
	door.full = false
	resp, page = b.post(e.url+"/arrive", url.Values{"csrf": {csrfOf(t, page)}, "username": {"ben"}, "password": {"correct horse"}, "password2": {"correct horse"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "The username ben is taken on social.example. Choose another one.") ||
		!strings.Contains(page, `name="password"`) {
		t.Fatalf("taken: %d\n%s", resp.StatusCode, page)
	}
	resp, page = b.post(e.url+"/arrive", url.Values{"csrf": {csrfOf(t, page)}, "username": {"benk"}, "password": {"second horse"}, "password2": {"second horse"}})
	if resp.StatusCode != 200 || !strings.Contains(page, "@benk@social.example") {
		t.Fatalf("second choice: %d\n%s", resp.StatusCode, page)
	}
	if door.byEmail["ben@example.org"] != "benk" {
		t.Fatalf("accounts %v", door.byEmail)
	}
}

// The link is one account per member: a second browser mid-way resumes
// the path, its stale form makes no second account, and a member the
// server already knows by email (signed up elsewhere) goes on with it.
func TestExistingResumeInAnotherBrowser(t *testing.T) {
	door := newFakeDoor(true)
	e, _, links := existingEnv(t, door)
	link := links["chloe@example.org"]
	first, second := newBrowser(t, true), newBrowser(t, true)
	_, stale := second.get(link)
	_, page := first.get(link)
	first.post(e.url+"/arrive", url.Values{"csrf": {csrfOf(t, page)}, "username": {"chloe"}, "password": {"correct horse"}, "password2": {"correct horse"}})
	code, page := second.get(link)
	if code != 200 || !strings.Contains(page, "Confirm your email") || strings.Contains(page, `name="password"`) {
		t.Fatalf("second browser: %d\n%s", code, page)
	}
	resp, page := second.post(e.url+"/arrive", url.Values{"csrf": {csrfOf(t, stale)}, "username": {"chloe2"}, "password": {"correct horse"}, "password2": {"correct horse"}})
	if resp.StatusCode != 200 || !strings.Contains(page, "@chloe@social.example") || door.tries != 1 {
		t.Fatalf("stale form: %d, %d tries\n%s", resp.StatusCode, door.tries, page)
	}

	// Ada signed up on the server's own page with her email, then asked
	// Lifeboat to sign her up: the server refuses a second account for
	// the email, and her path goes on with the one she has.
	door.byEmail["ada@example.org"], door.byName["ada_own"] = "ada_own", "ada@example.org"
	b := newBrowser(t, true)
	_, page = b.get(links["ada@example.org"])
	resp, page = b.post(e.url+"/arrive", url.Values{"csrf": {csrfOf(t, page)}, "username": {"ada"}, "password": {"correct horse"}, "password2": {"correct horse"}})
	if resp.StatusCode != 200 || !strings.Contains(page, "Confirm your email") || door.byName["ada"] != "" {
		t.Fatalf("email known: %d %v\n%s", resp.StatusCode, door.byName, page)
	}
}

// On Mastodon the member signs up on the server's own page (its API takes
// 5 sign-ups per 30 minutes per address) with the proof to paste, and
// then tells Lifeboat the username, which the server must know.
func TestExistingSignUpOnServerPage(t *testing.T) {
	door := newFakeDoor(false)
	e, req, links := existingEnv(t, door)
	b := newBrowser(t, true)
	_, page := b.get(links["ben@example.org"])
	m := proofRE.FindStringSubmatch(page)
	if m == nil || strings.Contains(page, `name="password"`) || !strings.Contains(page, `href="https://social.example/auth/sign_up"`) {
		t.Fatalf("invite page:\n%s", page)
	}
	reason := html.UnescapeString(m[1])
	if n := utf8.RuneCountInString(reason); n < 40 || n > 420 {
		t.Fatalf("reason of %d characters", n)
	}
	if p, err := admission.ParseProof(reason); err != nil || p.Check(req, "ben@example.org", time.Now()) != nil {
		t.Fatalf("proof on the page: %v", err)
	}
	claim := func(page, username string) (*http.Response, string) {
		return b.post(e.url+"/arrive", url.Values{"csrf": {csrfOf(t, page)}, "action": {"signed-up"}, "username": {username}})
	}
	resp, page := claim(page, "ben_k")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "social.example shows no account ben_k yet") {
		t.Fatalf("claim before signing up: %d\n%s", resp.StatusCode, page)
	}
	door.SignUp(context.Background(), "ben_k", "ben@example.org", "pw", reason) // on the server's page
	resp, page = claim(page, "@ben_k")
	if resp.StatusCode != 200 || !strings.Contains(page, "@ben_k@social.example") || !strings.Contains(page, `id="authorize"`) {
		t.Fatalf("claim: %d\n%s", resp.StatusCode, page)
	}
}
