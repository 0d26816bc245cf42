package hetzner

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/mailer"
	"github.com/lifeboat-social/lifeboat/internal/mastodonfake"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/internal/webmember"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/web"
)

// shellWords splits a command line as sh does for the quoting Lifeboat
// uses: words apart by spaces, '…' quoted, '\” for a quote.
func shellWords(t *testing.T, cmd string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	in, inWord := false, false
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch {
		case c == '\'':
			in, inWord = !in, true
		case in:
			w.WriteByte(c)
		case c == '\\' && i+1 < len(cmd):
			i++
			w.WriteByte(cmd[i])
			inWord = true
		case c == ' ':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if in {
		t.Fatalf("unbalanced quote in %q", cmd)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// fakeTootctl is the server's side of the account maker, run by the SSH
// stand-in: it records every command's argv and standard input, and
// plays `tootctl accounts create` and the Rails password script against
// the Mastodon stand-in, as the web container would.
type fakeTootctl struct {
	t *testing.T
	f *mastodonfake.Server

	mu    sync.Mutex
	argvs [][]string
	stdin []string
}

// tootctlServer starts a Mastodon stand-in and an SSH stand-in whose
// commands the fake tootctl plays, and returns the account maker that
// reaches it.
func tootctlServer(t *testing.T) (*mastodonfake.Server, *fakeTootctl, *MastodonAccounts) {
	t.Helper()
	f := mastodonfake.Start(mastodonfake.Config{Mode: mastodonfake.Approved})
	t.Cleanup(f.Close)
	host, client := newSigner(t), newSigner(t)
	x := &fakeTootctl{t: t, f: f}
	srv := startSSHHandler(t, host, client.PublicKey(), x.handle)
	return f, x, NewMastodonAccounts(SSHTarget{Addr: srv.addr, User: "root", Signer: client, HostKey: host.PublicKey()})
}

func (x *fakeTootctl) handle(_ int, cmd string, ch ssh.Channel) int {
	argv := shellWords(x.t, cmd)
	in, _ := io.ReadAll(ch)
	x.mu.Lock()
	x.argvs = append(x.argvs, argv)
	x.stdin = append(x.stdin, string(in))
	x.mu.Unlock()
	prefix := []string{"cd", "/opt/mastodon", "&&", "docker-compose", "exec", "-T", "web"}
	if len(argv) < len(prefix) || strings.Join(argv[:len(prefix)], " ") != strings.Join(prefix, " ") {
		fmt.Fprintf(ch.Stderr(), "unexpected command %q\n", cmd)
		return 127
	}
	args := argv[len(prefix):]
	switch {
	case len(args) == 8 && strings.Join(args[:4], " ") == "bin/tootctl accounts create "+args[3] &&
		args[4] == "--email" && args[6] == "--confirmed" && args[7] == "--approve":
		_, err := x.f.CreateAccount(mastodonfake.AccountOptions{Username: args[3], Email: args[5], Confirmed: true, Approved: true})
		if err != nil {
			fmt.Fprintf(ch, "Failure/Error: %v\n", err)
			return 1
		}
		fmt.Fprintf(ch, "OK\nNew password: %s\n", "e3b0c44298fc1c149afbf4c8996fb924") // tootctl's own, never used
		return 0
	case len(args) == 5 && args[0] == "bin/rails" && args[1] == "runner" && args[2] == passwordRuby:
		// What passwordRuby does, on the stand-in's records.
		username, email, password := args[3], strings.ToLower(args[4]), strings.TrimSuffix(string(in), "\n")
		fmt.Fprintln(ch, "W, [2026-12-03] WARN -- : some deprecation")
		a, ok := x.f.Lookup(username)
		switch {
		case !ok:
			fmt.Fprintln(ch, markMissing)
		case a.Email != email:
			fmt.Fprintln(ch, markTaken+"username")
		default:
			if err := x.f.SetPassword(username, password); err != nil {
				fmt.Fprintln(ch.Stderr(), err)
				return 1
			}
			fmt.Fprintln(ch, markAccount+a.ID)
		}
		return 0
	}
	fmt.Fprintf(ch.Stderr(), "unexpected command %q\n", cmd)
	return 127
}

// TestMastodonAccounts: a member's account on a new Mastodon is made
// over SSH with tootctl (confirmed, approved) and the member's own
// password set through standard input, never a command line; the member
// then signs in with it and authorises Lifeboat by OAuth. A retry finds
// the account; a name that is someone else's is refused as taken.
func TestMastodonAccounts(t *testing.T) {
	ctx := context.Background()
	f, x, m := tootctlServer(t)

	const pw = "a heron's 'quoted' password $HOME"
	id, err := m.CreateAccount(ctx, "ada", "Ada@example.org", pw)
	if err != nil || id == "" {
		t.Fatalf("create: %q %v", id, err)
	}
	again, err := m.CreateAccount(ctx, "ada", "ada@example.org", pw)
	if err != nil || again != id {
		t.Fatalf("retry: %q %v, want %q", again, err, id)
	}
	if _, err := m.CreateAccount(ctx, "ada", "ben@example.org", pw); !errors.Is(err, provision.ErrUsernameTaken) {
		t.Fatalf("someone else's name: %v", err)
	}
	if _, err := m.CreateAccount(ctx, "ada'; id", "c@example.org", pw); err == nil {
		t.Fatal("a username with shell in it was sent")
	}

	x.mu.Lock()
	for i, argv := range x.argvs {
		for _, a := range argv {
			if strings.Contains(a, "heron") {
				t.Errorf("command %d has the password in its argv: %q", i, argv)
			}
		}
	}
	if len(x.argvs) != 6 || x.argvs[0][7] != "bin/tootctl" || x.stdin[1] != pw+"\n" || x.stdin[0] != "" {
		t.Errorf("commands %q, stdin %q", x.argvs, x.stdin)
	}
	x.mu.Unlock()

	// The member signs in with their own password and authorises
	// Lifeboat; the token is theirs.
	a, ok := f.Lookup("ada")
	if !ok || !a.Confirmed || !a.Approved {
		t.Fatalf("account %+v", a)
	}
	c := fedi.New(f.URL)
	app, err := c.RegisterApp(ctx, "Lifeboat", fedi.OOB, []string{"read", "write", "follow"})
	if err != nil {
		t.Fatal(err)
	}
	back, err := mastodonfake.NewBrowser().Authorize(ctx, c.AuthorizeURL(app, "s"), "ada@example.org", pw)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(back)
	tok, err := c.ExchangeCode(ctx, app, u.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if me, err := c.WithToken(tok).VerifyCredentials(ctx); err != nil || me.ID != id || me.Username != "ada" {
		t.Fatalf("the member's token: %+v %v", me, err)
	}
}

// TestNewMastodonMemberPath: on a new Mastodon, two members go from the
// invite link to a room through Lifeboat's real pages: each chooses a
// username and password, the account is made with tootctl over SSH (the
// password only on standard input), the member signs in on the server's
// own pages and authorises Lifeboat, and the mesh grows.
func TestNewMastodonMemberPath(t *testing.T) {
	ctx := context.Background()
	f, x, maker := tootctlServer(t)
	server := &provision.Server{URL: f.URL, Software: groups.SoftwareMastodon, Accounts: maker}

	g := testGroup(groups.SoftwareMastodon)
	g.Members = []groups.Member{{Name: "Ada", Email: "ada@example.org", Username: "ada"}, {Name: "Ben", Email: "ben@example.org", Username: "ben"}}
	g.ViableMass = 2
	st, err := store.Open(ctx, store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	eng := arrival.New(arrival.Config{Store: st, Group: g, Server: server})
	mb, err := mailbox.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	sender, _ := mailer.New(mailer.Config{Addr: mb.Addr, Security: mailer.None, From: "lifeboat@example.org"})
	srv, err := web.New(sctx, web.Config{Group: g, Store: st, BaseURL: "http://" + ln.Addr().String(), Mail: sender,
		Arrivals: web.EngineArrivals(eng, st, server.URL), PledgeRate: -1, RedeemRate: -1})
	if err != nil {
		t.Fatal(err)
	}
	go web.Serve(sctx, ln, srv.Handler())
	for _, m := range g.Members {
		if err := st.Pledges().Put(ctx, store.Pledge{Group: g.Name, Email: m.Email, Confirmed: true, ConfirmedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Launch(ctx, false); err != nil {
		t.Fatal(err)
	}
	invs, err := srv.Invites(ctx)
	if err != nil || len(invs) != 2 {
		t.Fatalf("invites %v %v", invs, err)
	}
	connectRE := regexp.MustCompile(`href="([^"]+)" id="authorize"`)
	for i, inv := range invs {
		m, _ := g.Member(inv.Email)
		pw := "the password of " + m.Username
		b := webmember.New()
		page, err := b.Get(ctx, inv.URL)
		if err != nil || !page.Has(`name="password"`) {
			t.Fatalf("invite page %v:\n%s", err, page.Body)
		}
		if page, err = b.CreateAccount(ctx, page, m.Username, pw); err != nil || !page.Has("Your account is ready") {
			t.Fatalf("account %v:\n%s", err, page.Body)
		}
		href := connectRE.FindStringSubmatch(page.Body)
		if href == nil {
			t.Fatalf("no connect link:\n%s", page.Body)
		}
		back, err := mastodonfake.NewBrowser().Authorize(ctx, html.UnescapeString(href[1]), m.Email, pw)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"You follow 0 people from your group", "You follow 1 person from your group"}[i]
		if page, err = b.Get(ctx, back); err != nil || !page.Has(want) {
			t.Fatalf("%s connects %v, want %q:\n%s", m.Email, err, want, page.Body)
		}
	}
	if f.FollowCount() != 2 {
		t.Fatalf("%d follows, want 2", f.FollowCount())
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, argv := range x.argvs {
		if strings.Contains(strings.Join(argv, " "), "the password of") {
			t.Errorf("a password in argv: %q", argv)
		}
	}
}
