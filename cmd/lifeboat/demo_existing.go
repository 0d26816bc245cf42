package main

import (
	"context"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/mailer"
	"github.com/lifeboat-social/lifeboat/internal/meshcheck"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/internal/webmember"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
	"github.com/lifeboat-social/lifeboat/provision/local"
	"github.com/lifeboat-social/lifeboat/web"
)

// The existing-server demo plays every part on one machine: someone
// else's GoToSocial (approval mode, a reason required, its own admin,
// its mail caught by a loopback mailbox), its admin (their own state
// directory, "lifeboat admin review" and the watcher of "lifeboat admin
// watch"), the lead (the group's web server) and the members (an HTTP
// client on the invite pages and the server's own pages, one browser
// each).

// maxExistingDemo is the most members the demo takes: GoToSocial v0.17.3
// approves at most 10 sign-ups a day, and its admin is one of them.
const maxExistingDemo = 9

// existingDemoReport is the local demo's JSON line and the destination.
type existingDemoReport struct {
	escape.Report
	Destination string `json:"destination"`
}

func existingDemoGroup(members int) (*groups.Group, error) {
	if members == 0 {
		members = 8
	}
	if members < 2 || members > maxExistingDemo {
		return nil, usageErrorf("--members must be between 2 and %d with --destination existing: GoToSocial v0.17.3 approves at most 10 sign-ups a day, its admin's among them", maxExistingDemo)
	}
	g := generatedGroup(members)
	g.Name, g.Title = fmt.Sprintf("demo-existing-%d", members), fmt.Sprintf("Demo group of %d", members)
	return g, nil
}

// runExistingDemo runs (or with stop, stops) the existing-server demo.
func runExistingDemo(ctx context.Context, app *App, members int, asJSON, stop bool) error {
	g, err := existingDemoGroup(members)
	if err != nil {
		return err
	}
	dir, err := app.GroupDir(g.Name)
	if err != nil {
		return err
	}
	serverDir := filepath.Join(dir, "their-server")
	if stop {
		if err := local.StopRunning(ctx, serverDir); err != nil {
			return err
		}
		fmt.Fprintf(app.Stdout, "The demo's existing server for %s is stopped.\n", g.Name)
		return nil
	}
	start := time.Now()
	emit := progress.Plain(app.Stderr, time.Second)
	step := func(name string) func() {
		emit.Emit(progress.Event{Kind: progress.StepStarted, Step: name})
		return func() { emit.Emit(progress.Event{Kind: progress.StepDone, Step: name}) }
	}

	// Someone else's server, and the mailbox its mail goes to (on the same
	// port every run: the running server keeps its configuration).
	mb, moved, err := demoMailbox(dir)
	if err != nil {
		return err
	}
	defer mb.Close()
	if moved {
		if err := local.StopRunning(ctx, serverDir); err != nil {
			return err
		}
	}
	dest := local.New(local.Config{Dir: serverDir, Title: "Someone else's server", Keep: true, ReasonRequired: true,
		ReadyTimeout: 10 * time.Minute, // its first start migrates a new database: minutes on a busy machine
		Settings:     map[string]any{"smtp-host": mb.Host(), "smtp-port": mb.Port(), "smtp-from": "gotosocial@example.org"}})
	server, err := dest.Start(ctx, emit)
	if err != nil {
		return err
	}
	defer dest.Stop(ctx)
	server.Accounts = nil // it is not Lifeboat's: members sign up themselves
	g.Destination = groups.Destination{Type: groups.DestExisting, Server: server.URL}

	lead, err := app.Store(ctx)
	if err != nil {
		return err
	}
	if err := escape.SaveGroup(ctx, lead, g); err != nil {
		return err
	}
	done := step("admission: request, review, answer")
	watcher, err := demoAdmission(ctx, app, lead, g, server, dir)
	if err != nil {
		return err
	}
	done()

	// The lead's web server, as "lifeboat serve" runs it.
	r, err := existing.ScoutURL(ctx, server.URL, nil)
	if err != nil {
		return err
	}
	eng := arrival.New(arrival.Config{Store: lead, Group: g, Server: server})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Lifeboat's own mail (the invites) goes to the same mailbox.
	sender, err := mailer.New(mailer.Config{Addr: mb.Addr, Security: mailer.None, From: "lifeboat@example.org"})
	if err != nil {
		return err
	}
	srv, err := web.New(sctx, web.Config{Group: g, Store: lead, BaseURL: "http://" + ln.Addr().String(), Mail: sender,
		Arrivals: web.EngineArrivals(eng, lead, server.URL), SignUps: existing.NewDoor(r), PledgeRate: -1, RedeemRate: -1})
	if err != nil {
		return err
	}
	go web.Serve(sctx, ln, srv.Handler())

	done = step("pledge and launch")
	links, err := demoLaunch(ctx, lead, srv, g)
	if err != nil {
		return err
	}
	done()
	ms, err := demoMembers(dir, g)
	if err != nil {
		return err
	}
	if err := demoArrive(ctx, dir, g, ms, links, mb, watcher, step); err != nil {
		return err
	}

	rep, err := demoReadBack(ctx, lead, eng, g, server)
	if err != nil {
		return err
	}
	rep.DurationS = time.Since(start).Seconds()
	if asJSON {
		return json.NewEncoder(app.Stdout).Encode(rep)
	}
	fmt.Fprintf(app.Stdout, `
%s has arrived on someone else's server, %s
  %d members signed up through the invite pages, confirmed their email and were
  approved by the admin's watcher: %d accounts, %d follows seeded, %d lists
  took %.1fs

The server keeps running, in approval mode. The members' logins are in
%s (readable only by you). Stop the server with:
  lifeboat demo --destination existing --stop%s
`, safetext.Line(g.Title), rep.Server, rep.Members, rep.AccountsCreated, rep.FollowsSeeded, rep.ListsCreated,
		rep.DurationS, filepath.Join(dir, "members.csv"), demoFlags("", members, 0))
	return nil
}

// demoMailbox starts the mailbox the server's mail goes to, on the port
// saved in dir (a new one the first time). Every mail is kept in
// dir/mail (0600), so a run cut short finds the confirmation links the
// server sent to the one before.
func demoMailbox(dir string) (mb *mailbox.Server, moved bool, err error) {
	path := filepath.Join(dir, "mail-port")
	addr := "127.0.0.1:0"
	if b, err := os.ReadFile(path); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p > 0 && p < 65536 {
			addr = "127.0.0.1:" + strconv.Itoa(p)
		}
	}
	maildir := filepath.Join(dir, "mail")
	if err := os.MkdirAll(maildir, 0o700); err != nil {
		return nil, false, err
	}
	keep := func(m mailbox.Message) {
		name := fmt.Sprintf("%d.eml", time.Now().UnixNano())
		atomicfile.Write(filepath.Join(maildir, name), m.Raw, 0o600)
	}
	mb, err = mailbox.Start(addr, keep)
	if err != nil && addr != "127.0.0.1:0" {
		// Someone took the port: a new one, and the server restarted
		// with it (by the caller).
		moved = true
		mb, err = mailbox.Start("127.0.0.1:0", keep)
	}
	if err != nil {
		return nil, false, err
	}
	return mb, moved, atomicfile.Write(path, []byte(strconv.Itoa(mb.Port())), 0o600)
}

// keptConfirmation is the newest confirmation link to email in the mail
// kept in dir/mail, or "".
func keptConfirmation(dir, email string) string {
	ents, _ := os.ReadDir(filepath.Join(dir, "mail"))
	link := ""
	for _, e := range ents { // named by time: the newest last
		raw, err := os.ReadFile(filepath.Join(dir, "mail", e.Name()))
		if err != nil {
			continue
		}
		m, err := mailbox.Parse(raw)
		if err != nil || !strings.EqualFold(strings.Trim(m.Header.Get("To"), "<> "), email) {
			continue
		}
		if l := confirmURL(m.Text); l != "" {
			link = l
		}
	}
	return link
}

// demoAdmission makes the group's request on the lead's side, has the
// admin accept it with "lifeboat admin review" in the admin's own state
// directory, and imports the admin's signed answer on the lead's side (as
// "lifeboat request accepted" does). It returns the admin's watcher.
func demoAdmission(ctx context.Context, app *App, lead store.Store, g *groups.Group, server *provision.Server, dir string) (*admission.Watcher, error) {
	adminApp := &App{Stdout: io.Discard, Stderr: app.Stderr, StateDir: filepath.Join(dir, "their-admin")}
	adminSt, err := adminApp.Store(ctx)
	if err != nil {
		return nil, err
	}
	watcher := &admission.Watcher{API: fedi.New(server.URL).WithToken(server.AdminToken), Journal: adminSt.Journal(), Server: server.URL}
	if ok, err := admission.AcceptedFor(ctx, lead, g.Name); err != nil || ok {
		return watcher, err
	}
	sg, err := lead.Groups().Get(ctx, g.Name)
	if err != nil {
		return nil, err
	}
	emails := make([]string, len(g.Members))
	for i, m := range g.Members {
		emails[i] = m.Email
	}
	now := time.Now()
	req, err := admission.New(admission.Draft{Server: server.URL, Group: admission.Group{Name: g.Name, Title: g.Title},
		Lead: admission.Contact{Name: g.Lead.Name, Email: g.Lead.Email}, Emails: emails,
		Window: admission.Window{From: now.Add(-time.Hour), Until: now.Add(30 * 24 * time.Hour)}}, ed25519.PrivateKey(sg.SigningKey), now)
	if err != nil {
		return nil, err
	}
	if err := admission.SaveRequest(ctx, lead.Journal(), req); err != nil {
		return nil, err
	}
	reqFile, answerFile := filepath.Join(dir, "admission-request.json"), filepath.Join(dir, "admission-answer.json")
	if err := atomicfile.Write(reqFile, req.Encode(), 0o644); err != nil {
		return nil, err
	}
	review := newAdminReviewCmd(adminApp)
	review.SetArgs([]string{reqFile, "--accept", "--no-scout", "--message", "Welcome, all of you.", "--answer", answerFile})
	review.SetOut(io.Discard)
	review.SetErr(app.Stderr)
	if err := review.ExecuteContext(ctx); err != nil {
		return nil, fmt.Errorf("the admin's review: %w", err)
	}
	data, err := os.ReadFile(answerFile)
	if err != nil {
		return nil, err
	}
	ans, err := admission.DecodeAnswer(data)
	if err != nil {
		return nil, err
	}
	if _, err := admission.ImportAnswer(ctx, lead, g.Name, ans); err != nil {
		return nil, fmt.Errorf("import the admin's answer: %w", err)
	}
	return watcher, nil
}

// demoLaunch has every member pledge, launches the group (once) and
// returns each member's invite link.
func demoLaunch(ctx context.Context, lead store.Store, srv *web.Server, g *groups.Group) (map[string]string, error) {
	sg, err := lead.Groups().Get(ctx, g.Name)
	if err != nil {
		return nil, err
	}
	if sg.State == "gathering" {
		for _, m := range g.Members {
			p := store.Pledge{Group: g.Name, Email: m.Email, Confirmed: true, ConfirmedAt: time.Now(), UpdatedAt: time.Now()}
			if err := lead.Pledges().Put(ctx, p); err != nil {
				return nil, err
			}
		}
		if err := srv.Launch(ctx, true); err != nil {
			return nil, err
		}
	}
	invs, err := srv.Invites(ctx)
	if err != nil {
		return nil, err
	}
	links := map[string]string{}
	for _, inv := range invs {
		links[strings.ToLower(inv.Email)] = inv.URL
	}
	return links, nil
}

// demoMember is a member as the demo plays them: the password is theirs,
// written down in the demo's 0600 members.csv (Lifeboat keeps none).
type demoMember struct {
	groups.Member
	Password string
}

func demoMembers(dir string, g *groups.Group) ([]demoMember, error) {
	path := filepath.Join(dir, "members.csv")
	kept := map[string]string{}
	if f, err := os.Open(path); err == nil {
		rows, _ := csv.NewReader(io.LimitReader(f, 1<<20)).ReadAll()
		f.Close()
		for _, r := range rows {
			if len(r) == 4 {
				kept[strings.ToLower(r[0])] = r[2]
			}
		}
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"email", "username", "password", "server"})
	var out []demoMember
	for _, m := range g.Members {
		pw := kept[strings.ToLower(m.Email)]
		if pw == "" {
			pw = provision.NewPassword()
		}
		out = append(out, demoMember{Member: m, Password: pw})
		w.Write([]string{m.Email, g.Username(m.Email), pw, g.Destination.Server})
	}
	w.Flush()
	return out, atomicfile.Write(path, []byte(b.String()), 0o600)
}

// demoArrive plays each member: the invite page, the sign-up Lifeboat
// makes, the server's confirmation mail; then the admin's watcher
// approves them; then each connects their account and the room fills.
func demoArrive(ctx context.Context, dir string, g *groups.Group, ms []demoMember, links map[string]string, mb *mailbox.Server,
	watcher *admission.Watcher, step func(string) func()) error {
	browsers := map[string]*webmember.Member{}
	pages := map[string]webmember.Page{}
	waiting := map[string]bool{}
	done := step("members sign up and confirm their email")
	for _, m := range ms {
		b := webmember.New()
		browsers[m.Email] = b
		link := links[strings.ToLower(m.Email)]
		if link == "" {
			return fmt.Errorf("no invite for %s", m.Email)
		}
		p, err := b.Get(ctx, link)
		if err != nil {
			return err
		}
		if p.Has(`id="result"`) {
			continue // arrived in an earlier run
		}
		if p.Has(`name="password"`) {
			if p, err = b.CreateAccount(ctx, p, g.Username(m.Email), m.Password); err != nil {
				return err
			}
		}
		if !p.Has(`id="authorize"`) {
			return fmt.Errorf("%s's sign-up: the page says %q", m.Email, pageText(p))
		}
		pages[m.Email], waiting[m.Email] = p, true
	}
	// Who confirmed already (in a run cut short), as the admin sees it.
	pending, err := watcher.API.PendingAccounts(ctx)
	if err != nil {
		return err
	}
	confirmed := map[string]bool{}
	for _, a := range pending {
		confirmed[strings.ToLower(a.Email)] = a.Confirmed
	}
	for _, m := range ms {
		if !waiting[m.Email] || confirmed[strings.ToLower(m.Email)] {
			continue
		}
		link := keptConfirmation(dir, m.Email) // from an earlier run, or already here
		if link == "" {
			wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			_, err := mb.Wait(wctx, func(x mailbox.Message) bool {
				return len(x.To) == 1 && strings.EqualFold(x.To[0], m.Email) && strings.Contains(x.Text, "/confirm_email?token=")
			})
			cancel()
			if err != nil {
				return fmt.Errorf("%s's confirmation mail: %w", m.Email, err)
			}
			link = keptConfirmation(dir, m.Email)
		}
		if err := browsers[m.Email].ConfirmEmail(ctx, link); err != nil {
			return fmt.Errorf("%s confirms their email: %w", m.Email, err)
		}
	}
	done()

	done = step("the admin's watcher approves them")
	deadline := time.Now().Add(2 * time.Minute)
	for approved := 0; approved < len(waiting); {
		vs, err := watcher.Poll(ctx)
		if err != nil {
			return err
		}
		approved = 0
		for _, v := range vs {
			if v.Action == admission.Approve || v.Action == admission.Already {
				approved++
			}
		}
		if approved >= len(waiting) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the watcher approved %d of %d sign-ups: %v", approved, len(waiting), vs)
		}
		time.Sleep(time.Second)
	}
	done()

	done = step("members connect their accounts; the room fills")
	for _, m := range ms {
		if !waiting[m.Email] {
			continue
		}
		p, err := browsers[m.Email].Connect(ctx, pages[m.Email], m.Email, m.Password)
		if err != nil {
			return fmt.Errorf("%s connects: %w", m.Email, err)
		}
		if !p.Has(`id="result"`) {
			return fmt.Errorf("%s connects: the page says %q", m.Email, pageText(p))
		}
	}
	done()
	return nil
}

func confirmURL(text string) string {
	for _, f := range strings.Fields(text) {
		if strings.Contains(f, "/confirm_email?token=") {
			return f
		}
	}
	return ""
}

// pageText is a page's words, short and safe for a terminal.
func pageText(p webmember.Page) string {
	s := p.Body
	if i := strings.Index(s, "<main"); i >= 0 {
		s = s[i:]
	}
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	t := safetext.Line(strings.Join(strings.Fields(b.String()), " "))
	if len(t) > 300 {
		t = t[:300] + "…"
	}
	return t
}

// demoReadBack reads the result back from the server: the members'
// approved and confirmed accounts (admin API), the mesh (every member's
// follows and list, with their own token), and the engine's counts.
func demoReadBack(ctx context.Context, lead store.Store, eng *arrival.Engine, g *groups.Group, server *provision.Server) (existingDemoReport, error) {
	rep := existingDemoReport{Report: escape.Report{Group: g.Name, Members: len(g.Members), Server: server.URL}, Destination: "existing"}
	as, err := fedi.New(server.URL).WithToken(server.AdminToken).AdminAccounts(ctx, url.Values{"origin": {"local"}})
	if err != nil {
		return rep, err
	}
	emails := map[string]bool{}
	for _, m := range g.Members {
		emails[strings.ToLower(m.Email)] = true
	}
	for _, a := range as {
		if emails[strings.ToLower(a.Email)] && a.Approved && a.Confirmed {
			rep.AccountsCreated++
		}
	}
	accs, err := lead.Accounts().List(ctx, g.Name)
	if err != nil {
		return rep, err
	}
	mm := meshcheck.Accounts(accs)
	if err := meshcheck.Verify(ctx, server.URL, eng.ListTitle(), mm); err != nil {
		return rep, fmt.Errorf("read the mesh back: %w", err)
	}
	s, err := eng.Stats(ctx)
	if err != nil {
		return rep, err
	}
	rep.Members, rep.FollowsSeeded, rep.ListsCreated, rep.ListEntries, rep.Welcomes = s.Members, s.Follows, s.Lists, s.Listed, s.Welcomes
	if rep.AccountsCreated != len(g.Members) || len(accs) != len(g.Members) {
		return rep, errors.New("not every member has an approved account and a token: run the demo again to finish")
	}
	return rep, nil
}
