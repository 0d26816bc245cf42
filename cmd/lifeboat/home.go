package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/capped"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/provision/destination"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
)

// maxGroupFileRead caps the group file home reads, as groups.Load does;
// the home itself takes a smaller one (its user data is small), and says
// so.
const maxGroupFileRead = groups.MaxFileSize

// homeFlags are the options of home plan and up. None is a secret.
type homeFlags struct {
	domain, location, image, poll string
	serverType                    string
	volume                        int
	sshFrom                       []string
	noWait, asJSON                bool
	// confirm asks the lead before an up that replaces the home's server
	// (confirmGroupName); nil for the commands that apply nothing.
	confirm func(group string) error
}

func (f *homeFlags) register(cmd *cobra.Command, up bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.domain, "domain", "", "the campaign's domain, where its pages answer over HTTPS (e.g. join.example.org)")
	fl.StringVar(&f.location, "location", "", "Hetzner location (default: the group file's destination location, else "+hetzner.DefaultLocation+")")
	fl.IntVar(&f.volume, "volume", hetzner.DefaultHomeVolumeGB, "size in GB of the volume holding the state (10..10240)")
	fl.StringVar(&f.image, "image", hetzner.DefaultImage, "operating system image")
	fl.StringVar(&f.serverType, "server-type", "", "the home's server type (default: the one it runs with, else the smallest the location recommends); a larger one rescales the home, e.g. to hold the group's server too")
	fl.StringVar(&f.poll, "poll-interval", hetzner.DefaultPollInterval, "how often Terraform's provider asks the API whether an action is done")
	fl.StringSliceVar(&f.sshFrom, "ssh-from", nil, "your public address or network; SSH (port 22) is opened to it only (default $LIFEBOAT_SSH_FROM)")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as JSON on stdout")
	if up {
		fl.BoolVar(&f.noWait, "no-wait", false, "stop after apply: print the DNS records, do not wait for them or for HTTPS")
	}
}

func newHomeCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "home",
		Short: "A public home for the campaign on Hetzner Cloud: plan, up, down",
		Long: `A group's pages (landing, join, pledges) must be reachable by strangers over
HTTPS for weeks, long before a destination exists. home makes a small server
on Hetzner Cloud for them: the smallest server type the location recommends,
lifeboat serve as a systemd service, Caddy in front of it with a certificate
from Let's Encrypt for the campaign's domain, and the state on a volume.

home plan prices it (server, volume, addresses, VAT included) before anything
is created; when the group file asks for a new server on Hetzner it also
prices both on one machine. The token comes from HCLOUD_TOKEN or
HCLOUD_TOKEN_FILE only; the SMTP relay from LIFEBOAT_SMTP_*.`,
		Example: `  lifeboat home plan group.yaml --domain join.example.org
  lifeboat home up group.yaml --domain join.example.org --ssh-from 203.0.113.7
  lifeboat home down group.yaml`,
	}
	cmd.AddCommand(newHomePlanCmd(app), newHomeUpCmd(app), newHomeDownCmd(app))
	return cmd
}

// homeSetup loads the group file (its bytes go to the server) and builds
// the home's configuration with the flags applied.
func homeSetup(ctx context.Context, app *App, file string, f homeFlags) (*hetzner.Home, error) {
	g, probs := groups.Load(file)
	if len(probs) > 0 {
		return nil, reportProblems(app, probs)
	}
	raw, err := capped.ReadFile(file, maxGroupFileRead)
	if err != nil {
		return nil, usageErr(err)
	}
	cfg, err := app.config()
	if err != nil {
		return nil, err
	}
	if cfg.Hetzner.Token == "" && cfg.Hetzner.TokenFile == "" {
		return nil, usageErrorf("no Hetzner Cloud token: export HCLOUD_TOKEN, or put it in a file only you can read (chmod 600) and set HCLOUD_TOKEN_FILE")
	}
	if len(f.sshFrom) > 0 {
		cfg.SSHFrom = f.sshFrom
	}
	cfg.Hetzner.PollInterval = f.poll
	cfg.Warn(app.Stderr)
	hc, err := destination.Home(ctx, g, raw, destination.Config{Config: cfg, Log: app.Stderr})
	if err != nil {
		return nil, hetznerErr(err)
	}
	if hc.NoWait && !f.noWait {
		fmt.Fprintln(app.Stderr, "lifeboat: HCLOUD_ENDPOINT is on this machine (a fake API): no real server to wait for; stopping after apply")
	}
	hc.Domain, hc.Location, hc.VolumeGB, hc.Image, hc.ServerType = f.domain, f.location, f.volume, f.image, f.serverType
	hc.NoWait = hc.NoWait || f.noWait
	if f.confirm != nil {
		hc.ConfirmReplace = func() error { return f.confirm(g.Name) }
	}
	hc.Version = lifeboatVersion()
	return hetzner.NewHome(hc), nil
}

func newHomePlanCmd(app *App) *cobra.Command {
	var f homeFlags
	cmd := &cobra.Command{
		Use:   "plan GROUP.yaml --domain DOMAIN",
		Short: "Show what home up would create and what it costs each month",
		Long: `Plan checks the token and the location, picks the smallest server type the
location recommends and can deliver now, prices the server, its volume and
its addresses from the API's own prices (VAT included), and runs terraform
plan. Nothing is created.`,
		Example: "  lifeboat home plan group.yaml --domain join.example.org --json",
		Args:    hetznerArgs("home plan"),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := homeSetup(cmd.Context(), app, args[0], f)
			if err != nil {
				return err
			}
			plan, err := h.Plan(cmd.Context(), progress.Plain(app.Stderr, 0))
			if err != nil {
				return hetznerErr(err)
			}
			if f.asJSON {
				return hetznerJSON(app.Stdout, plan)
			}
			printHomePlan(app.Stdout, plan)
			return nil
		},
	}
	f.register(cmd, false)
	return cmd
}

func newHomeUpCmd(app *App) *cobra.Command {
	var f homeFlags
	var confirm string
	cmd := &cobra.Command{
		Use:   "up GROUP.yaml --domain DOMAIN --ssh-from YOUR-IP",
		Short: "Create (or update) the campaign's home on Hetzner Cloud",
		Long: `Up prices the home as plan does and prints the monthly cost, then applies
the Terraform module: a Debian server whose first boot mounts the volume,
installs this Lifeboat release, starts lifeboat serve as a systemd service
and Caddy in front of it. It prints the DNS records to set and waits until
the pages answer over HTTPS. Running it again changes only what differs.

A change that replaces the home's server (another --location) deletes its
disk: up shows it and asks you to type the group's name first (--confirm
NAME for scripts). While the group's server lives on the home it refuses:
lifeboat down takes that off first. --server-type changes in place.`,
		Example: "  HCLOUD_TOKEN_FILE=~/.config/hcloud-token lifeboat home up group.yaml --domain join.example.org --ssh-from 203.0.113.7",
		Args:    hetznerArgs("home up"),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.confirm = func(group string) error {
				return confirmGroupName(cmd, app, confirm, group, "This replaces the campaign home's server (see above).", "changed")
			}
			h, err := homeSetup(cmd.Context(), app, args[0], f)
			if err != nil {
				return err
			}
			start := time.Now()
			res, err := h.Up(cmd.Context(), progress.Plain(app.Stderr, 0))
			if err != nil {
				return hetznerErr(err)
			}
			if f.asJSON {
				return hetznerJSON(app.Stdout, res)
			}
			printHomeCost(app.Stdout, res.Plan)
			fmt.Fprintln(app.Stdout)
			printServerAccess(app.Stdout, res.Result, time.Since(start))
			if res.Waited {
				fmt.Fprintf(app.Stdout, "The group's pages answer at %s (lifeboat serve behind Caddy; the state on volume %s).\n", res.URL, res.VolumeID)
			} else {
				fmt.Fprintf(app.Stdout, "Not waiting for DNS and HTTPS. Once the records are set, %s answers\n(lifeboat serve behind Caddy; the state on volume %s); home up again waits for it.\n", res.URL, res.VolumeID)
			}
			fmt.Fprintln(app.Stdout, "Review joins and follow the count on the server, e.g.:")
			fmt.Fprintf(app.Stdout, "  %s lifeboat-admin pledges status /etc/lifeboat/group.yaml\n", res.SSH.Command())
			return nil
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&confirm, "confirm", "", "the group's name, to replace the home's server without the prompt when a change needs it")
	return cmd
}

func newHomeDownCmd(app *App) *cobra.Command {
	var confirm string
	cmd := &cobra.Command{
		Use:   "down GROUP.yaml",
		Short: "Destroy the campaign's home: server, volume (and the state on it), addresses",
		Long: `Down destroys everything home up created, the volume with the group's state
included. It asks you to type the group's name first; --confirm NAME does the
same for scripts. Running it again when nothing is left is not an error.`,
		Example: "  lifeboat home down group.yaml --confirm valley-cyclists",
		Args:    hetznerArgs("home down"),
		RunE: func(cmd *cobra.Command, args []string) error {
			// down waits for nothing: noWait keeps setup from saying so.
			h, err := homeSetup(cmd.Context(), app, args[0], homeFlags{poll: hetzner.DefaultPollInterval, volume: hetzner.DefaultHomeVolumeGB, noWait: true})
			if err != nil {
				return err
			}
			g, _ := groups.Load(args[0])
			if err := confirmGroupName(cmd, app, confirm, g.Name, "This destroys the campaign home of "+g.Name+", its volume and the state on it.", "destroyed"); err != nil {
				return err
			}
			err = h.Down(cmd.Context(), progress.Plain(app.Stderr, 0))
			if errors.Is(err, hetzner.ErrNothing) {
				fmt.Fprintf(app.Stdout, "No campaign home to destroy for %s.\n", g.Name)
				return nil
			}
			if err != nil {
				return hetznerErr(err)
			}
			fmt.Fprintf(app.Stdout, "Destroyed the campaign home of %s. Remove its DNS records at your DNS provider.\n", g.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&confirm, "confirm", "", "the group's name, to destroy without the prompt")
	return cmd
}

func printHomePlan(w io.Writer, p hetzner.HomePlan) {
	fmt.Fprintf(w, "Campaign home for %s on Hetzner Cloud\n", p.Group)
	row := func(k, v string) { fmt.Fprintf(w, "  %-10s %s\n", k, v) }
	row("pages", "https://"+p.Domain+" (lifeboat serve behind Caddy, its certificate over ACME)")
	row("location", p.Location)
	st := p.ServerType
	from := map[string]string{hetzner.TypeSmallest: "the smallest " + p.Location + " recommends", hetzner.TypeRunning: "the home's own", hetzner.TypeAsked: "as asked"}[p.TypeFrom]
	row("server", fmt.Sprintf("%s: %d vCPU, %g GB RAM, %d GB disk (%s), %s", st.Name, st.Cores, st.MemoryGB, st.DiskGB, st.Architecture, from))
	row("image", p.Image)
	row("volume", fmt.Sprintf("%d GB, holding the state", p.VolumeGB))
	if len(p.SSHFrom) > 0 {
		row("ssh from", strings.Join(p.SSHFrom, ", "))
	}
	printChanges(w, p.Resources)
	fmt.Fprintln(w)
	printHomeCost(w, p)
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "\nwarning: %s", safetext.Line(warn)) // may quote the API
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintln(w)
	}
}

// printHomeCost prints the home's monthly cost and, with a new server in
// the group file, what both cost on two machines or on one.
func printHomeCost(w io.Writer, p hetzner.HomePlan) {
	c := p.Cost
	printCost(w, c)
	if t := p.Together; t != nil {
		fmt.Fprintf(w, "\nWith the group's new server (%s) as well:\n", t.DestinationType)
		fmt.Fprintf(w, "  %-22s %8.2f  (home %.2f + server %.2f)\n", "on two machines", t.Separate, c.Monthly, t.Destination)
		holds := "the home's " + t.OneServerType + " holds both"
		if t.Resize {
			holds = "the home resized to " + t.OneServerType + " holds both"
		}
		fmt.Fprintf(w, "  %-22s %8.2f  (%s; %.2f less)\n", "on one machine", t.OneServer, holds, t.Saving)
		fmt.Fprintln(w, "lifeboat up puts the group's server on this machine once the home exists (--own-server for one of its own).")
	}
}
