package e2e

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/mailer"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/internal/webmember"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
	"github.com/lifeboat-social/lifeboat/web"
)

// launched is a group's web server after launch, with each member's
// invite link.
type launched struct {
	g      *groups.Group
	st     store.Store
	srv    *web.Server
	base   string
	links  map[string]string // by email
	watch  *admission.Watcher
	server *provision.Server
}

func newGroup(prefix string, n int, dest groups.Destination) *groups.Group {
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e6)
	g := &groups.Group{Version: 1, Name: prefix + "-" + suffix, Title: "River Birders", ViableMass: n,
		Lead: groups.Person{Name: "Ada Heron", Email: "ada" + suffix + "@example.org"}, Destination: dest}
	for _, name := range []string{"ada", "ben", "chloe", "dev"}[:n] {
		g.Members = append(g.Members, groups.Member{Name: strings.ToUpper(name[:1]) + name[1:] + " Bird",
			Email: name + suffix + "@example.org", Username: name + suffix})
	}
	return g
}

// launch serves g with the real arrival engine on server, launches it
// (every member pledged) and, for an existing server, has its admin
// accept the group's admission request.
func launch(t *testing.T, g *groups.Group, server *provision.Server, door web.SignUps) *launched {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng := arrival.New(arrival.Config{Store: st, Group: g, Server: server})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	base := "http://" + ln.Addr().String()
	mb, err := mailbox.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	sender, _ := mailer.New(mailer.Config{Addr: mb.Addr, Security: mailer.None, From: "lifeboat@example.org"})
	srv, err := web.New(sctx, web.Config{Group: g, Store: st, BaseURL: base, SignUps: door, Mail: sender,
		Arrivals: web.EngineArrivals(eng, st, server.URL), PledgeRate: -1, RedeemRate: -1})
	if err != nil {
		t.Fatal(err)
	}
	go web.Serve(sctx, ln, srv.Handler())
	l := &launched{g: g, st: st, srv: srv, base: base, links: map[string]string{}, server: server}
	if g.Destination.Type == groups.DestExisting {
		l.watch = accept(t, st, g, server)
	}
	for _, m := range g.Members {
		if err := st.Pledges().Put(ctx, store.Pledge{Group: g.Name, Email: m.Email, Confirmed: true, ConfirmedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Launch(ctx, false); err != nil {
		t.Fatal(err)
	}
	invs, err := srv.Invites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range invs {
		l.links[inv.Email] = inv.URL
	}
	return l
}

// accept makes the group's admission request on the lead's side and has
// the server's admin accept it on theirs; it returns the admin's watcher.
func accept(t *testing.T, lead store.Store, g *groups.Group, server *provision.Server) *admission.Watcher {
	t.Helper()
	ctx := context.Background()
	sg, err := lead.Groups().Get(ctx, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, m := range g.Members {
		emails = append(emails, m.Email)
	}
	now := time.Now()
	req, err := admission.New(admission.Draft{Server: server.URL, Group: admission.Group{Name: g.Name, Title: g.Title},
		Lead: admission.Contact{Name: g.Lead.Name, Email: g.Lead.Email}, Emails: emails,
		Window: admission.Window{From: now.Add(-time.Hour), Until: now.Add(24 * time.Hour)}}, ed25519.PrivateKey(sg.SigningKey), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := admission.SaveRequest(ctx, lead.Journal(), req); err != nil {
		t.Fatal(err)
	}
	admin, err := store.Open(ctx, store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	got, err := admission.Decode([]byte(req.Token()))
	if err != nil {
		t.Fatal(err)
	}
	if err := admission.Decide(ctx, admin.Journal(), got, true, "", now); err != nil {
		t.Fatal(err)
	}
	return &admission.Watcher{API: fedi.New(server.URL).WithToken(server.AdminToken), Journal: admin.Journal(), Server: server.URL}
}

// approve runs the admin's watcher once and wants username approved.
func (l *launched) approve(t *testing.T, username string) {
	t.Helper()
	vs, err := l.watch.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Username == username && v.Action == admission.Approve {
			return
		}
	}
	t.Fatalf("the watcher did not approve %s: %v", username, vs)
}

// confirmLink waits for the server's confirmation mail to rcpt.
func confirmLink(t *testing.T, mb *mailbox.Server, rcpt string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := mb.Wait(ctx, func(m mailbox.Message) bool {
		return len(m.To) == 1 && strings.EqualFold(m.To[0], rcpt) && strings.Contains(m.Text, "/confirm_email?token=")
	})
	if err != nil {
		t.Fatalf("confirmation mail to %s: %v", rcpt, err)
	}
	return regexp.MustCompile(`https?://\S+/confirm_email\?token=[A-Za-z0-9-]+`).FindString(m.Text)
}

// accountsByEmail reads the server's accounts for the group's emails.
func accountsByEmail(t *testing.T, server *provision.Server, g *groups.Group) map[string][]string {
	t.Helper()
	as, err := fedi.New(server.URL).WithToken(server.AdminToken).AdminAccounts(context.Background(), url.Values{"origin": {"local"}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, a := range as {
		for _, m := range g.Members {
			if strings.EqualFold(a.Email, m.Email) {
				out[m.Email] = append(out[m.Email], a.Username)
			}
		}
	}
	return out
}

var reasonRE = regexp.MustCompile(`<code class="proof" id="reason">([^<]+)</code>`)

// TestMemberPathExistingGoToSocial: three members reach a full room on
// someone else's GoToSocial in approval mode, each by another road: Ada
// signs up through Lifeboat's page, connects too early (the server
// refuses her sign-in), confirms, is approved by the admin's watcher and
// finishes in a second browser; Ben signs up on GoToSocial's own /signup
// page with the proof Lifeboat shows and tells Lifeboat his username;
// Chloe's first username is taken and her second choice is used. The
// server holds exactly one account per member.
func TestMemberPathExistingGoToSocial(t *testing.T) {
	ctx := context.Background()
	f := gtstest.ForeignServer(t, 3)
	r, err := existing.ScoutURL(ctx, f.Server.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	door := existing.NewDoor(r)
	if !door.ViaAPI() || door.Page() != f.Server.URL+"/signup" {
		t.Fatalf("door: api %v, page %s", door.ViaAPI(), door.Page())
	}
	g := newGroup("existing", 3, groups.Destination{Type: groups.DestExisting, Server: f.Server.URL})
	l := launch(t, g, f.Server, door)
	const pw = "birds of a feather 42"
	ada, ben, chloe := g.Members[0], g.Members[1], g.Members[2]

	// Ada, on her phone.
	phone := webmember.New()
	page, err := phone.Get(ctx, l.links[ada.Email])
	if err != nil || !page.Has(`name="password"`) {
		t.Fatalf("invite page %v:\n%s", err, page.Body)
	}
	if page, err = phone.CreateAccount(ctx, page, ada.Username, pw); err != nil || !page.Has("Confirm your email") {
		t.Fatalf("sign-up %v:\n%s", err, page.Body)
	}
	// Too early: GoToSocial knows her address only as unconfirmed and
	// refuses the sign-in.
	if _, err := phone.Connect(ctx, page, ada.Email, pw); !errors.Is(err, webmember.ErrSignInRefused) {
		t.Fatalf("connecting before confirming: %v", err)
	}
	if err := phone.ConfirmEmail(ctx, confirmLink(t, f.Mail, ada.Email)); err != nil {
		t.Fatal(err)
	}
	l.approve(t, ada.Username)
	// …and on her laptop, from the same link.
	laptop := webmember.New()
	page, err = laptop.Get(ctx, l.links[ada.Email])
	if err != nil || !page.Has("Confirm your email") || page.Has(`name="password"`) {
		t.Fatalf("the link on another browser %v:\n%s", err, page.Body)
	}
	if page, err = laptop.Connect(ctx, page, ada.Email, pw); err != nil || !page.Has("You follow 0 people") {
		t.Fatalf("Ada connects %v:\n%s", err, page.Body)
	}

	// Ben, on GoToSocial's own sign-up page.
	b := webmember.New()
	page, err = b.Get(ctx, l.links[ben.Email])
	m := reasonRE.FindStringSubmatch(page.Body)
	if err != nil || m == nil || !page.Has(`href="`+door.Page()+`"`) {
		t.Fatalf("no proof or sign-up link %v:\n%s", err, page.Body)
	}
	if _, err := b.SignUpOnGoToSocial(ctx, door.Page(), ben.Email, ben.Username, pw, html.UnescapeString(m[1])); err != nil {
		t.Fatal(err)
	}
	if page, err = b.ClaimAccount(ctx, page, ben.Username); err != nil || !page.Has("@"+ben.Username+"@") {
		t.Fatalf("claim %v:\n%s", err, page.Body)
	}
	if err := b.ConfirmEmail(ctx, confirmLink(t, f.Mail, ben.Email)); err != nil {
		t.Fatal(err)
	}
	l.approve(t, ben.Username)
	if page, err = b.Connect(ctx, page, ben.Email, pw); err != nil || !page.Has("You follow 1 person") {
		t.Fatalf("Ben connects %v:\n%s", err, page.Body)
	}

	// Chloe: her first choice is Ada's name.
	c := webmember.New()
	page, _ = c.Get(ctx, l.links[chloe.Email])
	page, err = c.CreateAccount(ctx, page, ada.Username, pw)
	if err != nil || page.Status != http.StatusConflict || !page.Has("The username "+ada.Username+" is taken") {
		t.Fatalf("taken %v %d:\n%s", err, page.Status, page.Body)
	}
	if page, err = c.CreateAccount(ctx, page, chloe.Username+"_2", pw); err != nil || !page.Has("@"+chloe.Username+"_2@") {
		t.Fatalf("second choice %v:\n%s", err, page.Body)
	}
	if err := c.ConfirmEmail(ctx, confirmLink(t, f.Mail, chloe.Email)); err != nil {
		t.Fatal(err)
	}
	l.approve(t, chloe.Username+"_2")
	page, err = c.Connect(ctx, page, chloe.Email, pw)
	if want := `You follow 2 people from your group; 2 follow you; a list "River Birders" is on your account.`; err != nil || !page.Has(want) {
		t.Fatalf("Chloe connects %v:\n%s", err, page.Body)
	}

	// Read back from the server: one account per member, the names chosen.
	got := accountsByEmail(t, f.Server, g)
	for email, want := range map[string]string{ada.Email: ada.Username, ben.Email: ben.Username, chloe.Email: chloe.Username + "_2"} {
		if len(got[email]) != 1 || got[email][0] != want {
			t.Errorf("%s: accounts %v, want [%s]", email, got[email], want)
		}
	}
	// Arrived: every link shows the arrival, nothing is done again.
	page, err = webmember.New().Get(ctx, l.links[ada.Email])
	if err != nil || !page.Has(`id="result"`) {
		t.Fatalf("Ada's link after arrival %v:\n%s", err, page.Body)
	}
}
