package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/escape/move"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/config"
	"github.com/lifeboat-social/lifeboat/internal/mailer"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/web"
)

// webFollowWait bounds how long a member's arrival page waits for
// federation; the command-line escape waits arrival.DefaultFollowWait.
const webFollowWait = 30 * time.Second

// serveArrivals gives serve the arrival engine for the group's
// destination; stop releases what it holds. A destination that can attach
// to its running server does (an existing server as the group file names
// it; the server "lifeboat up" made, its state read with no cloud token);
// the local one is started if needed and kept running. While the server
// is not up the error wraps provision.ErrNotReady, and followArrivals
// keeps trying. Members' own servers are reached through homes' guard.
var serveArrivals = func(ctx context.Context, app *App, g *groups.Group, homes web.HomesConfig) (web.Arrivals, func(), error) {
	stop := func() {}
	dest, err := app.destination(ctx, g)
	if err != nil {
		return nil, stop, err
	}
	emit := progress.Plain(app.Stderr, time.Second)
	var server *provision.Server
	if a, ok := dest.(provision.Attacher); ok {
		server, err = a.Attach(ctx, emit)
	} else {
		server, err = dest.Start(ctx, emit)
	}
	if errors.Is(err, provision.ErrNotReady) {
		return nil, stop, err
	}
	if err != nil {
		return nil, stop, fmt.Errorf("connect to the destination: %w", err)
	}
	stop = func() { dest.Stop(context.WithoutCancel(ctx)) }
	st, err := app.Store(ctx)
	if err != nil {
		return nil, stop, err
	}
	// A member's page waits while the mesh is seeded: follows to and from
	// other servers that take longer than webFollowWait to arrive are
	// confirmed by the next arrival instead of holding the page.
	e := arrival.New(arrival.Config{Store: st, Group: g, Server: server, FollowWait: webFollowWait, Client: homes.Clients(server.URL)})
	return web.EngineArrivals(e, st, server.URL), stop, nil
}

// mailFlags are the SMTP settings of the commands that send mail. The
// password is never a flag: it comes from $LIFEBOAT_SMTP_PASSWORD or a
// 0600 file.
type mailFlags struct {
	addr, security, user, from, passwordFile string
}

func (f *mailFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "smtp-addr", "", "SMTP server host:port (default $"+config.EnvSMTPAddr+")")
	fl.StringVar(&f.security, "smtp-security", "", "starttls, tls or none (default $"+config.EnvSMTPSecurity+", else starttls)")
	fl.StringVar(&f.user, "smtp-user", "", "SMTP user name (default $"+config.EnvSMTPUser+"); the password comes from $"+config.EnvSMTPPassword+" or --smtp-password-file")
	fl.StringVar(&f.passwordFile, "smtp-password-file", "", "file holding the SMTP password, mode 0600 (default $"+config.EnvSMTPPasswordFile+")")
	fl.StringVar(&f.from, "smtp-from", "", "sender address, e.g. \"River Birders <lifeboat@example.org>\" (default $"+config.EnvSMTPFrom+")")
}

// sender builds the SMTP sender from the flags over the configuration;
// nil (and no error) when no SMTP server is configured at all and
// required is false.
func (f *mailFlags) sender(app *App, required bool) (mailer.Sender, error) {
	c, err := app.config()
	if err != nil {
		return nil, err
	}
	c.Warn(app.Stderr)
	or := func(flag, conf string) string {
		if flag != "" {
			return flag
		}
		return conf
	}
	cfg := mailer.Config{Addr: or(f.addr, c.SMTP.Addr), Security: mailer.Security(or(f.security, c.SMTP.Security)),
		Username: or(f.user, c.SMTP.User), From: or(f.from, c.SMTP.From), Password: c.SMTP.Password}
	if file := or(f.passwordFile, c.SMTP.PasswordFile); (f.passwordFile != "" || cfg.Password == "") && file != "" {
		p, err := mailer.ReadSecretFile(file)
		if err != nil {
			return nil, usageErr(err)
		}
		cfg.Password = p
	}
	if cfg.Addr == "" {
		if required {
			return nil, usageErrorf("no SMTP server: set --smtp-addr or $%s", config.EnvSMTPAddr)
		}
		return nil, nil
	}
	s, err := mailer.New(cfg)
	if err != nil {
		return nil, usageErr(err)
	}
	return s, nil
}

// webFlags are what every command building the group's server needs.
type webFlags struct {
	baseURL   string
	inviteTTL time.Duration
	rules     []string
	mail      mailFlags
}

// register adds the flags that make links (--base-url, --invite-ttl)
// and, withMail, the SMTP flags.
func (f *webFlags) register(cmd *cobra.Command, withMail bool) {
	cmd.Flags().StringVar(&f.baseURL, "base-url", "", "public URL of the group's web server, used in links (default http://ADDR)")
	cmd.Flags().DurationVar(&f.inviteTTL, "invite-ttl", 14*24*time.Hour, "how long invites stay valid after launch")
	if withMail {
		f.mail.register(cmd)
	}
}

// groupServer loads the group file and builds its web server on the
// app's store (recording the group and members there). cfg carries any
// settings beyond the flags.
func groupServer(ctx context.Context, app *App, file string, f *webFlags, cfg web.Config) (*web.Server, error) {
	g, probs := groups.Load(file)
	if len(probs) > 0 {
		return nil, reportProblems(app, probs)
	}
	return groupServerFor(ctx, app, g, file, f, cfg)
}

// groupServerFor is groupServer for a group file already loaded.
func groupServerFor(ctx context.Context, app *App, g *groups.Group, file string, f *webFlags, cfg web.Config) (*web.Server, error) {
	if f.baseURL == "" {
		return nil, usageErrorf("--base-url is required: the address members reach the server at, e.g. https://lifeboat.example.org")
	}
	st, err := app.Store(ctx)
	if err != nil {
		return nil, err
	}
	cfg.Group, cfg.File, cfg.Store, cfg.BaseURL = g, file, st, f.baseURL
	if cfg.Ready == nil {
		cfg.Ready = destinationReady(app, st, g, file)
	}
	cfg.InviteTTL, cfg.Rules = f.inviteTTL, f.rules
	if cfg.Moves == nil {
		cfg.Moves = serveMoves(st, g, cfg.Homes)
	}
	srv, err := web.New(ctx, cfg)
	if err != nil {
		return nil, usageErr(err)
	}
	return srv, nil
}

func newServeCmd(app *App) *cobra.Command {
	var (
		f          webFlags
		addr       string
		trustProxy bool
		pledgeRate int
		redeemRate int
		pageRate   int
		localHomes bool
	)
	cmd := &cobra.Command{
		Use:   "serve GROUP.yaml… | FOLDER",
		Short: "Run the groups' web pages: pledges, launch, invites, arrival",
		Long: `Serve runs the pages members use: the group's landing page with the pledge
count, personal pledge pages (links mailed by "lifeboat pledges open"), the
launch that mails every going member a personal invite as soon as the group is
viable, the redemption of those invites, and the public "we made it" page.

Given several group files, or a folder of them, serve hosts them all as a
directory: "/" lists the groups that are gathering, by topic (the files'
tags), and each group has its own pages under /g/NAME/. Links mailed while a
group was served alone are sent on to it.

Mail goes through the SMTP server given by --smtp-* or $LIFEBOAT_SMTP_*; the
password only from $LIFEBOAT_SMTP_PASSWORD or a 0600 file. With --database
postgres://… several serve processes share one state and act as one.`,
		Example: `  LIFEBOAT_SMTP_PASSWORD=… lifeboat serve group.yaml --addr 127.0.0.1:8080 \
      --base-url https://lifeboat.example.org --smtp-addr smtp.example.org:587 \
      --smtp-user lifeboat --smtp-from "River Birders <lifeboat@example.org>"
  lifeboat serve groups/ --base-url https://lifeboat.example.org`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("serve needs a group file, several, or a folder of them, e.g. lifeboat serve group.yaml")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			files, err := groupFiles(args)
			if err != nil {
				return err
			}
			gs, err := loadGroups(app, files)
			if err != nil {
				return err
			}
			if len(gs) > 1 && len(f.rules) > 0 {
				return usageErrorf("--rule shows one destination's rules: use it when serving one group")
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return usageErrorf("listen on %s: %v", addr, err)
			}
			defer ln.Close()
			if f.baseURL == "" {
				f.baseURL = "http://" + ln.Addr().String()
			}
			mail, err := f.mail.sender(app, false)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(app.Stderr, nil))
			if mail == nil {
				log.Warn("no SMTP server configured: mail stays unsent (journaled) until serve runs with one")
			}
			// Uploads are spooled beside the state, on its disk (a volume on
			// the campaign home), not in /tmp, which may be memory; one
			// bound for every group served.
			uploads, err := web.NewUploads(filepath.Join(app.StateDir, "uploads"), 0, 0)
			if err != nil {
				return err
			}
			cfg := web.Config{Mail: mail, Log: log, PledgeRate: pledgeRate, RedeemRate: redeemRate, PageRate: pageRate, TrustProxy: trustProxy,
				Homes: web.HomesConfig{AllowPrivate: localHomes, HTTP: localHomes}, Uploads: uploads}
			if len(gs) == 1 {
				srv, stop, err := serveGroup(ctx, app, gs[0], &f, cfg)
				defer stop()
				if err != nil {
					return err
				}
				fmt.Fprintf(app.Stdout, "Serving %s at %s (listening on %s)\n", safetext.Line(gs[0].g.Title), f.baseURL, ln.Addr())
				return web.Serve(ctx, ln, srv.Handler())
			}
			servers := make([]*web.Server, 0, len(gs))
			for _, lg := range gs {
				gf := f
				gf.baseURL = web.GroupBaseURL(f.baseURL, lg.g.Name)
				srv, stop, err := serveGroup(ctx, app, lg, &gf, cfg)
				defer stop()
				if err != nil {
					return err
				}
				servers = append(servers, srv)
			}
			dir, err := web.NewDirectory(web.DirectoryConfig{BaseURL: f.baseURL, Servers: servers, PageRate: pageRate, TrustProxy: trustProxy, Log: log})
			if err != nil {
				return usageErr(err)
			}
			fmt.Fprintf(app.Stdout, "Serving %d groups at %s (listening on %s)\n", len(gs), f.baseURL, ln.Addr())
			for _, lg := range gs {
				fmt.Fprintf(app.Stdout, "  %s: %s/\n", safetext.Line(lg.g.Title), web.GroupBaseURL(f.baseURL, lg.g.Name))
			}
			return web.Serve(ctx, ln, dir.Handler())
		},
	}
	f.register(cmd, true)
	// only the pages show the destination's rules to members
	cmd.Flags().StringArrayVar(&f.rules, "rule", nil, "a rule of the destination to show members (repeatable)")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().BoolVar(&trustProxy, "trust-proxy", false, "take client addresses from X-Forwarded-For (behind a reverse proxy)")
	cmd.Flags().IntVar(&pledgeRate, "pledge-rate", 30, "pledge page requests per IP per minute (-1: no limit)")
	cmd.Flags().IntVar(&redeemRate, "redeem-rate", 20, "invite and arrival requests per IP per minute (-1: no limit)")
	cmd.Flags().IntVar(&pageRate, "page-rate", 240, "requests to any page per IP per minute (-1: no limit)")
	cmd.Flags().BoolVar(&localHomes, "local-homes", false, "let members connect accounts on servers on this machine or a private network, over http (tests and local demos only)")
	return cmd
}

// maxServedGroups caps the groups one serve hosts: each may run a local
// server and ticks every 30 seconds.
const maxServedGroups = 50

// loadedGroup is a group file read for serve.
type loadedGroup struct {
	g    *groups.Group
	file string
}

// groupFiles is the group files serve was given: files as named, and a
// folder's *.yaml and *.yml files (not its subfolders, nor hidden files).
func groupFiles(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, usageErrorf("%s: %v", a, err)
		}
		if !fi.IsDir() {
			files = append(files, a)
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, usageErrorf("%s: %v", a, err)
		}
		n := len(files)
		for _, e := range entries {
			name := e.Name()
			if e.Type().IsRegular() && !strings.HasPrefix(name, ".") && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
				files = append(files, filepath.Join(a, name))
			}
		}
		if len(files) == n {
			return nil, usageErrorf("%s holds no group files (*.yaml, *.yml)", a)
		}
	}
	if len(files) > maxServedGroups {
		return nil, usageErrorf("%d group files: one serve hosts at most %d", len(files), maxServedGroups)
	}
	return files, nil
}

// loadGroups reads every file, reporting every problem of every file,
// and refuses two files of one group.
func loadGroups(app *App, files []string) ([]loadedGroup, error) {
	var (
		out  []loadedGroup
		all  groups.Problems
		seen = map[string]string{}
	)
	for _, file := range files {
		g, probs := groups.Load(file)
		if len(probs) > 0 {
			all = append(all, probs...)
			continue
		}
		if first, dup := seen[g.Name]; dup {
			return nil, usageErrorf("%s and %s are both the group %q: serve each group once", first, file, g.Name)
		}
		seen[g.Name] = file
		out = append(out, loadedGroup{g: g, file: file})
	}
	if len(all) > 0 {
		return nil, reportProblems(app, all)
	}
	return out, nil
}

// serveGroup builds one group's server and starts what it runs: the
// arrival engine (followed until its destination is up) and the ticks.
// stop releases the engine; it is never nil.
func serveGroup(ctx context.Context, app *App, lg loadedGroup, f *webFlags, cfg web.Config) (*web.Server, func(), error) {
	arr := &followArrivals{connect: func(ctx context.Context) (web.Arrivals, func(), error) {
		return serveArrivals(ctx, app, lg.g, cfg.Homes)
	}, every: 30 * time.Second, now: time.Now, log: cfg.Log}
	if err := arr.start(ctx, app.Stderr); err != nil {
		return nil, func() {}, err
	}
	go arr.follow(ctx)
	cfg.Arrivals, cfg.SignUps = arr, serveDoor(ctx, app, lg.g)
	srv, err := groupServerFor(ctx, app, lg.g, lg.file, f, cfg)
	if err != nil {
		return nil, arr.close, err
	}
	go srv.Run(ctx)
	return srv, arr.close, nil
}

// serveMoves offers arrived members to move an old account into the room
// where the room has a public address other servers reach: an existing
// server, or the new instance at its domain. A local destination, on
// loopback, federates with nobody. Old servers are reached as members'
// own servers are (hc): public addresses only unless --local-homes.
func serveMoves(st store.Store, g *groups.Group, hc web.HomesConfig) *move.Mover {
	var dest string
	switch g.Destination.Type {
	case groups.DestExisting:
		dest = g.Destination.Server
	case groups.DestNew:
		dest = "https://" + g.Destination.Domain
	default:
		return nil
	}
	return move.New(move.Config{Store: st, Group: g.Name, Destination: dest, HTTP: hc.Client(), Scheme: hc.Scheme()})
}

func exactlyOneGroupFile(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageErrorf("%s needs one group file, e.g. lifeboat %s group.yaml", cmd.Name(), cmd.CommandPath()[len("lifeboat "):])
	}
	return nil
}

func reportProblems(app *App, probs groups.Problems) error {
	for _, p := range probs {
		fmt.Fprintln(app.Stderr, safetext.Line(p.String()))
	}
	return silentError{code: 2}
}

// followArrivals is the arrival engine of a destination that may come
// up while serve runs (a new server "lifeboat up" finishes): it connects
// on first need and keeps trying, at most once per every, until the
// destination answers, so serve never needs a restart. Until then members
// see that redemption is not open yet.
type followArrivals struct {
	connect func(context.Context) (web.Arrivals, func(), error)
	every   time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu   sync.Mutex
	arr  web.Arrivals
	stop func()
	next time.Time
}

// start makes the first connection: a destination that is not up yet
// (provision.ErrNotReady) is said once and followed; any other failure
// stops serve, as a local server that cannot start must.
func (f *followArrivals) start(ctx context.Context, stderr io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = f.now().Add(f.every)
	arr, stop, err := f.connect(ctx)
	switch {
	case errors.Is(err, provision.ErrNotReady):
		fmt.Fprintf(stderr, "lifeboat: %v; invites cannot be redeemed until then (serve connects by itself once it is up)\n", err)
		return nil
	case err != nil:
		return err
	}
	f.arr, f.stop = arr, stop
	return nil
}

// get returns the engine, connecting when it is time to try again; while
// the destination is not up, members get a notYet.
func (f *followArrivals) get(ctx context.Context) (web.Arrivals, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.arr != nil {
		return f.arr, nil
	}
	if f.now().Before(f.next) {
		return nil, notYet{}
	}
	f.next = f.now().Add(f.every)
	arr, stop, err := f.connect(ctx)
	if err != nil || arr == nil {
		if err != nil && !errors.Is(err, provision.ErrNotReady) && ctx.Err() == nil {
			f.log.Error("connect to the destination (trying again)", "err", err)
		}
		return nil, notYet{}
	}
	f.arr, f.stop = arr, stop
	f.log.Info("connected to the destination: invites can be redeemed")
	return arr, nil
}

// follow tries to connect every f.every until it has, or ctx ends.
func (f *followArrivals) follow(ctx context.Context) {
	t := time.NewTicker(f.every)
	defer t.Stop()
	for {
		if arr, _ := f.get(ctx); arr != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (f *followArrivals) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stop != nil {
		f.stop()
	}
}

func (f *followArrivals) CreateAccount(ctx context.Context, group, email, username, password string) error {
	arr, err := f.get(ctx)
	if err != nil {
		return err
	}
	return arr.CreateAccount(ctx, group, email, username, password)
}

func (f *followArrivals) AuthorizeURL(ctx context.Context, group, redirectURI, state string) (string, error) {
	arr, err := f.get(ctx)
	if err != nil {
		return "", err
	}
	return arr.AuthorizeURL(ctx, group, redirectURI, state)
}

func (f *followArrivals) Complete(ctx context.Context, group, email, code, redirectURI string) (web.ArrivalResult, error) {
	arr, err := f.get(ctx)
	if err != nil {
		return web.ArrivalResult{}, err
	}
	return arr.Complete(ctx, group, email, code, redirectURI)
}

// Destination is the connected engine's; "" before it has connected
// (asking does not connect).
func (f *followArrivals) Destination() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.arr == nil {
		return ""
	}
	return f.arr.Destination()
}

type notYet struct{}

func (notYet) Error() string { return "redemption is not available on this server yet" }
func (notYet) PublicMessage() string {
	return "Accounts cannot be made from this page yet. Please try again later or ask the organiser."
}
