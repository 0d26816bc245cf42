package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/lead"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/destination"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
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
	d := tui.Deps{StateDir: app.StateDir, ServerTypes: hetzner.PriceTypes, Locations: hetzner.Locations}
	d.Prices = func(ctx context.Context, g *groups.Group) (provision.Prices, error) {
		cfg, err := app.config()
		if err != nil {
			return provision.Prices{}, err
		}
		return destination.Prices(ctx, g, cfg)
	}
	if st, err := app.Store(ctx); err == nil {
		d.Desk = &lead.Desk{Store: st, StateDir: app.StateDir}
		d.Readiness = func(ctx context.Context, g *groups.Group, path string) (campaign.Readiness, error) {
			return campaign.CheckReady(ctx, destinationReady(app, st, g, path))
		}
	} else {
		fmt.Fprintln(app.Stderr, "lifeboat: state unavailable:", err)
	}
	d.Launch = func(ctx context.Context, g *groups.Group, emit progress.Func) (escape.Report, error) {
		return tuiLaunch(ctx, app, g, emit)
	}
	d.OpenPledges = func(ctx context.Context, file, baseURL string) (int, error) {
		return tuiOpenPledges(ctx, app, file, baseURL)
	}
	d.ExportPledges = func(ctx context.Context, file, baseURL, csv, sheet string) (int, error) {
		return tuiExportPledges(ctx, app, file, baseURL, csv, sheet)
	}
	d.Decide = func(ctx context.Context, file, baseURL, email string, approve bool) error {
		return tuiDecide(ctx, app, file, baseURL, email, approve)
	}
	d.Provision = func(ctx context.Context, g *groups.Group, emit progress.Func) error {
		return tuiProvision(ctx, app, g, emit)
	}
	d.AnnounceRequest = func(ctx context.Context, r *existing.Report, req *admission.Request) error {
		return announceRequest(ctx, app, r, req)
	}
	// the admin screen's watcher reads the token as lifeboat admin watch
	// does: $LIFEBOAT_ADMIN_TOKEN, or a file only its owner can read
	d.AdminToken = app.adminToken
	return tui.Run(ctx, d, file, nil, nil)
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// tuiLaunch runs the group's playbook on an existing or new server, as
// lifeboat run does: launch, invites and the mesh so far. The local
// destination's playbook simulates the members and is lifeboat demo's
// alone (escape.ErrDemoOnly); the TUI does not offer it.
func tuiLaunch(ctx context.Context, app *App, g *groups.Group, emit progress.Func) (escape.Report, error) {
	if g.Destination.Type == groups.DestLocal {
		// refused before the server starts: the TUI does not offer it
		return escape.Report{}, fmt.Errorf("%w: try the escape with lifeboat demo --group FILE", escape.ErrDemoOnly)
	}
	dest, err := app.destination(ctx, g)
	if err != nil {
		return escape.Report{}, err
	}
	defer dest.Stop(context.WithoutCancel(ctx))
	st, err := app.Store(ctx)
	if err != nil {
		return escape.Report{}, err
	}
	return escape.New(escape.Config{Store: st, Group: g, Dest: dest, Emit: emit}).Run(ctx, g.Destination.Type)
}

// tuiProvision makes the destination ready: the local server started, an
// existing server scouted, a new server on Hetzner Cloud made and waited
// for (its DNS records come as events as soon as they are known).
func tuiProvision(ctx context.Context, app *App, g *groups.Group, emit progress.Func) error {
	dest, err := app.destination(ctx, g)
	if err != nil {
		return err
	}
	defer dest.Stop(context.WithoutCancel(ctx))
	start := time.Now()
	srv, err := dest.Start(ctx, emit)
	if err != nil {
		return err
	}
	emit.Emit(progress.Event{Kind: progress.Log, Step: "destination",
		Message: fmt.Sprintf("%s answers after %s", srv.URL, time.Since(start).Round(time.Second))})
	return nil
}
