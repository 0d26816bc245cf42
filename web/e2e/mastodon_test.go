package e2e

import (
	"context"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/mastodonfake"
	"github.com/lifeboat-social/lifeboat/internal/webmember"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing"
)

var (
	connectRE      = regexp.MustCompile(`href="([^"]+)" id="authorize"`)
	mastoConfirmRE = regexp.MustCompile(`http://\S+/auth/confirmation\?confirmation_token=\w+`)
)

// mastodonMember is one member at their browser: Lifeboat's pages in
// one profile (web), the Mastodon server's own in another (site).
type mastodonMember struct {
	web  *webmember.Member
	site *mastodonfake.Browser
	page webmember.Page
}

// connect follows the page's connect link to the server, signs in,
// allows Lifeboat and comes back to Lifeboat with the code.
func (m *mastodonMember) connect(t *testing.T, email, password string) error {
	t.Helper()
	ctx := context.Background()
	href := connectRE.FindStringSubmatch(m.page.Body)
	if href == nil {
		t.Fatalf("no connect link:\n%s", m.page.Body)
	}
	back, err := m.site.Authorize(ctx, html.UnescapeString(href[1]), email, password)
	if err != nil {
		return err
	}
	if m.page, err = m.web.Get(ctx, back); err != nil {
		t.Fatal(err)
	}
	return nil
}

const pw = "birds of a feather 42"

// mastodonFixture is someone else's Mastodon (the stand-in, approval
// mode, a reason required, mail to a mailbox), scouted.
type mastodonFixture struct {
	f      *mastodonfake.Server
	mb     *mailbox.Server
	server *provision.Server
	report *existing.Report
	door   *existing.Door
}

// startMastodon starts the fixture; followLimit 0 is Mastodon's 400.
// now, if not nil, is the server's clock.
func startMastodon(t *testing.T, followLimit int, now func() time.Time) *mastodonFixture {
	t.Helper()
	mb, err := mailbox.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	f := mastodonfake.Start(mastodonfake.Config{Title: "Herons", Mode: mastodonfake.Approved, ReasonRequired: true,
		SMTPAddr: mb.Addr, Rules: []string{"Be kind to birds."}, FollowLimit: followLimit, Now: now})
	t.Cleanup(f.Close)
	f.AnnounceSignUpURL(f.URL + "/auth/sign_up?from=instance")
	adminID, _ := f.CreateAccount(mastodonfake.AccountOptions{Username: "owner", Email: "owner@example.org", Confirmed: true, Approved: true, Admin: true})
	server := &provision.Server{URL: f.URL, Software: groups.SoftwareMastodon,
		AdminToken: f.MintToken(adminID, "read", "write", "follow", "admin:read", "admin:write")}
	r, err := existing.ScoutURL(context.Background(), f.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &mastodonFixture{f: f, mb: mb, server: server, report: r, door: existing.NewDoor(r)}
}

// signUp opens m's invite, signs up on the server's page with the proof
// Lifeboat shows, tells Lifeboat the username, and confirms the mail.
func (fx *mastodonFixture) signUp(t *testing.T, l *launched, m groups.Member) *mastodonMember {
	t.Helper()
	ctx := context.Background()
	mm := &mastodonMember{web: webmember.New(), site: mastodonfake.NewBrowser()}
	page, err := mm.web.Get(ctx, l.links[m.Email])
	proof := reasonRE.FindStringSubmatch(page.Body)
	if err != nil || proof == nil || !page.Has(`href="`+html.EscapeString(fx.door.Page())+`"`) {
		t.Fatalf("invite page of %s %v:\n%s", m.Email, err, page.Body)
	}
	if _, err := mm.site.SignUp(ctx, fx.door.Page(), m.Username, m.Email, pw, html.UnescapeString(proof[1])); err != nil {
		t.Fatal(err)
	}
	if mm.page, err = mm.web.ClaimAccount(ctx, page, m.Username); err != nil || !mm.page.Has("Confirm your email") {
		t.Fatalf("claim %v:\n%s", err, mm.page.Body)
	}
	if p, err := mm.site.Get(ctx, mastodonConfirmLink(t, fx.mb, m.Email)); err != nil || !strings.Contains(p.Body, `id="confirmed"`) {
		t.Fatalf("confirm %s: %v %d", m.Email, err, p.Status)
	}
	return mm
}

// TestArrivePageShowsHeldFollows: on a Mastodon whose accounts may make
// one follow a day, the third member's arrival leaves half the mesh for
// the next window, and /arrive says so.
func TestArrivePageShowsHeldFollows(t *testing.T) {
	// The server's clock runs 6 hours ahead late in the UTC day, so its
	// day ends hours away whenever the test runs (a reset minutes away
	// would be waited for within the request), and the sign-ups stay in
	// the admission window.
	var ahead time.Duration
	if time.Now().UTC().Hour() >= 20 {
		ahead = 6 * time.Hour
	}
	serverNow := func() time.Time { return time.Now().Add(ahead) }
	fx := startMastodon(t, 1, serverNow)
	g := newGroup("mastolimit", 3, groups.Destination{Type: groups.DestExisting, Server: fx.f.URL})
	l := launch(t, g, fx.server, fx.door)
	var last *mastodonMember
	for _, m := range g.Members {
		last = fx.signUp(t, l, m)
		l.approve(t, m.Username)
		if err := last.connect(t, m.Email, pw); err != nil {
			t.Fatal(err)
		}
	}
	// Ben and Ada follow each other on the first day; Chloe follows Ada,
	// and the other three follows wait for the server's midnight (said in
	// this machine's time).
	if !regexp.MustCompile(`3 of 6 follows made; the rest after \d\d:\d\d UTC (today|tomorrow)`).MatchString(last.page.Body) || fx.f.FollowCount() != 3 {
		t.Fatalf("%d follows; page:\n%s", fx.f.FollowCount(), last.page.Body)
	}
	room, err := arrival.ReadRoom(context.Background(), l.st, g, fx.f.URL)
	sn := serverNow().UTC()
	toMidnight := time.Date(sn.Year(), sn.Month(), sn.Day()+1, 0, 0, 0, 0, time.UTC).Sub(sn)
	if d := time.Until(room.ResumeAt) - toMidnight; err != nil || d < -time.Minute || d > time.Minute {
		t.Fatalf("the mesh resumes at %s (%v), want the server's midnight, %s away", room.ResumeAt, err, toMidnight)
	}
}

func mastodonConfirmLink(t *testing.T, mb *mailbox.Server, rcpt string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := mb.Wait(ctx, func(m mailbox.Message) bool {
		return len(m.To) == 1 && strings.EqualFold(m.To[0], rcpt) && strings.Contains(m.Subject, "Confirmation instructions")
	})
	if err != nil {
		t.Fatalf("confirmation mail to %s: %v", rcpt, err)
	}
	return mastoConfirmRE.FindString(m.Text)
}

// TestMemberPathExistingMastodon: three members reach a full room on
// someone else's Mastodon (the stand-in: approval mode, a reason
// required). Scouting reads the sign-up page the server announces; each
// member signs up there with the proof Lifeboat shows, tells Lifeboat
// the username, confirms the server's mail, is approved by the admin's
// watcher and authorises Lifeboat; the mesh grows with each arrival.
// Ada tries to connect before approval (the server says she is pending)
// and finishes in a second browser profile.
func TestMemberPathExistingMastodon(t *testing.T) {
	ctx := context.Background()
	fx := startMastodon(t, 0, nil)
	f, door, r := fx.f, fx.door, fx.report
	if r.Software != "mastodon" || r.Registrations != existing.Approval || !r.ReasonRequired ||
		door.ViaAPI() || door.Page() != f.URL+"/auth/sign_up?from=instance" {
		t.Fatalf("scouted %+v; door api %v page %s", r, door.ViaAPI(), door.Page())
	}
	g := newGroup("mastodon", 3, groups.Destination{Type: groups.DestExisting, Server: f.URL})
	l := launch(t, g, fx.server, door)
	var err error

	signUp := func(m groups.Member) *mastodonMember { return fx.signUp(t, l, m) }

	ada, ben, chloe := g.Members[0], g.Members[1], g.Members[2]
	a := signUp(ada)
	if err := a.connect(t, ada.Email, pw); err != mastodonfake.ErrPending {
		t.Fatalf("connecting before approval: %v", err)
	}
	l.approve(t, ada.Username)
	// Ada goes on on her laptop, from the same link.
	laptop := &mastodonMember{web: webmember.New(), site: mastodonfake.NewBrowser()}
	if laptop.page, err = laptop.web.Get(ctx, l.links[ada.Email]); err != nil || !laptop.page.Has("Confirm your email") || laptop.page.Has(`name="username"`) {
		t.Fatalf("the link in another browser %v:\n%s", err, laptop.page.Body)
	}
	if err := laptop.connect(t, ada.Email, pw); err != nil || !laptop.page.Has("You follow 0 people") {
		t.Fatalf("Ada connects %v:\n%s", err, laptop.page.Body)
	}

	b := signUp(ben)
	l.approve(t, ben.Username)
	if err := b.connect(t, ben.Email, pw); err != nil || !b.page.Has("You follow 1 person") {
		t.Fatalf("Ben connects %v:\n%s", err, b.page.Body)
	}
	c := signUp(chloe)
	l.approve(t, chloe.Username)
	want := `You follow 2 people from your group; 2 follow you; a list "River Birders" is on your account.`
	if err := c.connect(t, chloe.Email, pw); err != nil || !c.page.Has(want) || !c.page.Has("All 6 follows between the 3 members who have arrived are made.") {
		t.Fatalf("Chloe connects %v:\n%s", err, c.page.Body)
	}

	// Read back from the server: one account each, the reason carrying
	// the proof, and the whole mesh.
	for _, m := range g.Members {
		acc, ok := f.Lookup(m.Username)
		if !ok || acc.Email != strings.ToLower(m.Email) || !acc.Approved || !strings.Contains(acc.Reason, "River Birders") {
			t.Errorf("account of %s: %+v", m.Email, acc)
		}
	}
	if st := f.Stats(); f.FollowCount() != 6 || st.FollowsMade != 6 || st.SignUps != 3 || st.Approvals != 3 {
		t.Fatalf("follows %d, stats %+v", f.FollowCount(), st)
	}
}
