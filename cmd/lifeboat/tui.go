package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/arrival"
	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/progress"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
	"github.com/lifeboat-social/lifeboat/provision/local"
	"github.com/lifeboat-social/lifeboat/tui"
)

// runTUI is what lifeboat does with no subcommand: the TUI's home screen,
// or the group in args[0]. Without a terminal it prints the help (no
// arguments) or says which command to use.
func runTUI(cmd *cobra.Command, app *App, args []string) error {
	file := ""
	if len(args) == 1 {
		file = args[0]
		if _, err := os.Stat(file); err != nil {
			if !strings.HasSuffix(file, ".yaml") && !strings.HasSuffix(file, ".yml") {
				return usageErrorf("unknown command %q for %q", file, cmd.CommandPath())
			}
			return usageErr(err)
		}
	}
	if !isTerminal(os.Stdin) || !isTerminal(os.Stdout) {
		if file == "" {
			return cmd.Help()
		}
		return usageErrorf("the TUI needs a terminal; without one use lifeboat check %s, lifeboat pledges status %s, lifeboat demo", file, file)
	}
	ctx := cmd.Context()
	d := tui.Deps{StateDir: app.StateDir}
	if st, err := app.Store(ctx); err == nil {
		d.Store = st
	} else {
		fmt.Fprintln(app.Stderr, "lifeboat: state unavailable:", err)
	}
	d.Launch = func(ctx context.Context, g *groups.Group, emit progress.Func) (escape.Report, error) {
		return tuiLaunch(ctx, app, g, emit)
	}
	d.Provision = func(ctx context.Context, g *groups.Group, emit progress.Func, dns func([]string)) error {
		return tuiProvision(ctx, app, file, g, emit, dns)
	}
	// the admin screen's watcher reads the token as lifeboat admin watch
	// does: $LIFEBOAT_ADMIN_TOKEN, or a file only its owner can read
	d.AdminToken = adminToken
	return tui.Run(ctx, d, file, nil, nil)
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// tuiLaunch runs the group's playbook: the whole escape on the local
// destination (as lifeboat demo does), or launch, invites and the mesh so
// far on an existing server (as lifeboat run does).
func tuiLaunch(ctx context.Context, app *App, g *groups.Group, emit progress.Func) (escape.Report, error) {
	var (
		dest   provision.Destination
		logins arrival.Logins
	)
	switch g.Destination.Type {
	case groups.DestLocal:
		dir, err := app.GroupDir(g.Name)
		if err != nil {
			return escape.Report{}, err
		}
		if logins, err = openLogins(dir); err != nil {
			return escape.Report{}, err
		}
		l := local.New(local.Config{Dir: filepath.Join(dir, "local"), Title: g.Title, Keep: true})
		defer l.Stop(context.WithoutCancel(ctx))
		dest = l
	case groups.DestExisting:
		dest = existing.New(existing.Config{URL: g.Destination.Server})
	default:
		return escape.Report{}, fmt.Errorf("a new server needs its cloud token and your address: run lifeboat run %s.yaml --ssh-from ADDRESS", g.Name)
	}
	st, err := app.Store(ctx)
	if err != nil {
		return escape.Report{}, err
	}
	return escape.New(escape.Config{Store: st, Group: g, Dest: dest, Emit: emit, Logins: logins}).Run(ctx, g.Destination.Type)
}

// tuiProvision makes the destination ready: the local server, or a new
// server on Hetzner Cloud (applied once without waiting so the DNS
// records can be shown, then again with the waits; the second apply
// changes nothing).
func tuiProvision(ctx context.Context, app *App, file string, g *groups.Group, emit progress.Func, dns func([]string)) error {
	switch g.Destination.Type {
	case groups.DestLocal:
		dir, err := app.GroupDir(g.Name)
		if err != nil {
			return err
		}
		dest := local.New(local.Config{Dir: filepath.Join(dir, "local"), Title: g.Title, Keep: true})
		srv, err := dest.Start(ctx, emit)
		if err != nil {
			return err
		}
		emit.Emit(progress.Event{Kind: progress.Log, Step: "destination", Message: "GoToSocial answers at " + srv.URL})
		return dest.Stop(context.WithoutCancel(ctx))
	case groups.DestNew:
		cfg, err := hetznerSetup(ctx, app, file, hetznerFlags{}, true)
		if err != nil {
			return err
		}
		cfg.NoWait = true
		res, err := hetzner.New(cfg).Up(ctx, emit)
		if err != nil {
			return hetznerErr(err)
		}
		var recs []string
		for _, r := range res.DNS {
			recs = append(recs, fmt.Sprintf("%-32s %-5d IN %-5s %s", r.Name+".", r.TTL, r.Type, r.Value))
		}
		dns(recs)
		cfg.NoWait = false
		start := time.Now()
		res, err = hetzner.New(cfg).Up(ctx, emit)
		if err != nil {
			return hetznerErr(err)
		}
		emit.Emit(progress.Event{Kind: progress.Log, Step: "up", Message: fmt.Sprintf("%s answers over TLS after %s", res.URL, time.Since(start).Round(time.Second))})
		return nil
	}
	return fmt.Errorf("an existing server is not provisioned: it admits the group (admission request to its admin)")
}
