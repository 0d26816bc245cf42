package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/provision/destination"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
)

// hetznerFlags are the options plan, up and down share. None of them is a
// secret: the token comes from HCLOUD_TOKEN or HCLOUD_TOKEN_FILE only.
type hetznerFlags struct {
	sshFrom   []string
	volume    int
	noBackups bool
	image     string
	poll      string
	noWait    bool
	ownServer bool
	waitable  bool // the command waits for the server after apply (up)
}

func (f *hetznerFlags) register(cmd *cobra.Command, withWait bool) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.sshFrom, "ssh-from", nil, "your public address or network; SSH (port 22) is opened to it only (default $LIFEBOAT_SSH_FROM)")
	fl.IntVar(&f.volume, "volume", 0, "size in GB of a volume for media (0: none; else 10..10240)")
	fl.BoolVar(&f.noBackups, "no-backups", false, "turn Hetzner's daily server backups off (they cost 20% of the server)")
	fl.StringVar(&f.image, "image", hetzner.DefaultImage, "operating system image")
	fl.StringVar(&f.poll, "poll-interval", hetzner.DefaultPollInterval, "how often Terraform's provider asks the API whether an action is done; raise it if the API's rate limit is reached")
	f.waitable = withWait
	fl.BoolVar(&f.ownServer, "own-server", false, "a server of its own for the group even when its campaign home exists (default: a GoToSocial server goes on the home's machine, one machine to pay for)")
	if withWait {
		fl.BoolVar(&f.noWait, "no-wait", false, "stop after apply: print the DNS records, do not wait for DNS, TLS or the admin credentials")
	}
}

// hetznerSetup loads the group file and builds the provisioner's config
// through the destination builder, with the command's flags applied: the
// token is required here, since plan, up and down ask the cloud API.
func hetznerSetup(ctx context.Context, app *App, file string, f hetznerFlags) (hetzner.Config, error) {
	g, probs := groups.Load(file)
	if len(probs) > 0 {
		return hetzner.Config{}, reportProblems(app, probs)
	}
	d := g.Destination
	if d.Type != groups.DestNew || d.Cloud != groups.CloudHetzner {
		return hetzner.Config{}, usageErrorf("%s: destination is %q (cloud %q); plan, up and down provision a new server on Hetzner (type: new, cloud: hetzner)", file, d.Type, d.Cloud)
	}
	cfg, err := app.config()
	if err != nil {
		return hetzner.Config{}, err
	}
	if cfg.Hetzner.Token == "" && cfg.Hetzner.TokenFile == "" {
		return hetzner.Config{}, usageErrorf("no Hetzner Cloud token: export HCLOUD_TOKEN, or put it in a file only you can read (chmod 600) and set HCLOUD_TOKEN_FILE")
	}
	if len(f.sshFrom) > 0 {
		cfg.SSHFrom = f.sshFrom
	}
	cfg.Hetzner.PollInterval = f.poll
	cfg.Warn(app.Stderr)
	hc, err := destination.Hetzner(ctx, g, destination.Config{Config: cfg, Log: app.Stderr})
	if err != nil {
		return hc, hetznerErr(err)
	}
	if hc.NoWait && f.waitable && !f.noWait {
		fmt.Fprintln(app.Stderr, "lifeboat: HCLOUD_ENDPOINT is on this machine (a fake API): no real server to wait for; stopping after apply")
	}
	hc.Image, hc.VolumeSize, hc.NoBackups, hc.NoWait = f.image, f.volume, f.noBackups, hc.NoWait || f.noWait
	hc.OwnServer = f.ownServer
	return hc, nil
}

// hetznerErr maps bad input (configuration, and pre-flight's verdicts on
// the token, location, server type and image) to exit code 2.
func hetznerErr(err error) error {
	for _, bad := range []error{hetzner.ErrConfig, hetzner.ErrToken, hetzner.ErrLocation, hetzner.ErrServerType, hetzner.ErrImage, hetzner.ErrHomeInUse, hetzner.ErrReplaceHome, hetzner.ErrReplaceServer} {
		if errors.Is(err, bad) {
			return usageErr(err)
		}
	}
	return err
}

func hetznerJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

func newUpCmd(app *App) *cobra.Command {
	var f hetznerFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "up GROUP.yaml",
		Short: "Create (or update) the group's own server on Hetzner Cloud",
		Long: `Up checks the token, location, server type and image, then applies the
embedded Terraform module: a Debian server with GoToSocial or Mastodon
installed by cloud-init, an SSH key made for the group, a firewall (SSH from
--ssh-from only; HTTP and HTTPS open) and fixed IPv4 and IPv6 addresses.

When the group has a campaign home (lifeboat home up) and its server runs
GoToSocial, up puts GoToSocial on the home's machine instead, so the lead
pays for one: it installs it over SSH with the same script a server of its
own boots with, behind the home's Caddy, which gains the group's domain.
plan says so and what the one machine costs; --own-server makes a server of
its own instead.

It prints the DNS records to set, waits for them, for TLS and for the
instance API, fetches the admin credentials over SSH with the server's
host key pinned, and makes an admin token for Lifeboat (kept in the state
directory, reused while it works). Then it says what comes next. Running it
again changes only what differs.

The token is read from HCLOUD_TOKEN or from the file HCLOUD_TOKEN_FILE
(mode 0600); it is never a flag and never printed. State, keys and
credentials are kept in the group's state directory, readable by you only.`,
		Example: `  HCLOUD_TOKEN_FILE=~/.config/hcloud-token lifeboat up group.yaml --ssh-from 203.0.113.7
  lifeboat up group.yaml --ssh-from 203.0.113.7 --volume 50 --no-wait`,
		Args: hetznerArgs("up"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, err := hetznerSetup(ctx, app, args[0], f)
			if err != nil {
				return err
			}
			start := time.Now()
			emit := progress.Plain(app.Stderr, 0)
			if cfg.NoWait {
				res, err := hetzner.New(cfg).Up(ctx, emit)
				if err != nil {
					return hetznerErr(err)
				}
				if asJSON {
					return hetznerJSON(app.Stdout, upResult{Result: res})
				}
				printHetznerResult(app.Stdout, res, time.Since(start))
				return nil
			}
			// Waiting: the destination also turns the admin credentials
			// into an admin token (saved 0600, reused by later runs).
			dest := hetzner.NewDestination(cfg)
			srv, err := dest.Start(ctx, emit)
			if err != nil {
				if res := dest.Result(); res.Waited && !asJSON {
					// The server is up; only the token failed: show how to reach it.
					printHetznerResult(app.Stdout, res, time.Since(start))
				}
				return hetznerErr(err)
			}
			out := upResult{Result: dest.Result(), AdminTokenFile: dest.TokenFile(), Software: srv.Software}
			if asJSON {
				return hetznerJSON(app.Stdout, out)
			}
			printHetznerResult(app.Stdout, out.Result, time.Since(start))
			printNextSteps(app.Stdout, args[0], out, cfg.SMTP.Host != "")
			return nil
		},
	}
	f.register(cmd, true)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result (IPs, DNS records, SSH, credentials and admin token paths) as JSON on stdout")
	return cmd
}

func hetznerArgs(verb string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageErrorf("%s needs one group file, e.g. lifeboat %s group.yaml", verb, verb)
		}
		return nil
	}
}

func printHetznerResult(w io.Writer, r hetzner.Result, took time.Duration) {
	printServerAccess(w, r, took)
	if r.Waited {
		fmt.Fprintf(w, "%s answers over TLS.\nAdmin credentials: %s (sealed; read them with lifeboat secrets open FILE | …)\n", r.URL, r.Credentials)
		return
	}
	if r.OnHome {
		fmt.Fprintf(w, "Not installing GoToSocial on the home yet, nor waiting. Once the records are set,\nrun lifeboat up again: it installs it over SSH and waits for %s.\n", r.URL)
		return
	}
	fmt.Fprintf(w, "Not waiting for DNS, TLS and the admin credentials. Once the records are set,\nrun lifeboat up again: it changes nothing on the server and waits for %s.\n", r.URL)
}

// printServerAccess prints a server made by up or home up: its
// addresses, the DNS records to set, and the SSH command.
func printServerAccess(w io.Writer, r hetzner.Result, took time.Duration) {
	fmt.Fprintf(w, "Server %s (id %s) is up after %s: %s, %s\n", r.ServerName, r.ServerID, took.Round(time.Second), r.IPv4, r.IPv6)
	if r.OnHome {
		fmt.Fprintf(w, "It is the campaign home's machine: GoToSocial for %s runs there behind its Caddy; no second server was made.\n", strings.TrimPrefix(r.URL, "https://"))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Set these DNS records at your DNS provider:")
	for _, rec := range r.DNS {
		fmt.Fprintf(w, "  %-40s %-5d IN %-5s %s\n", rec.Name+".", rec.TTL, rec.Type, rec.Value)
	}
	fmt.Fprintf(w, "\nSSH (host key pinned, %s):\n  %s\n\n", r.SSH.HostKeySHA2, r.SSH.Command())
}

// upResult is what up --json prints: the server, and where the admin
// token is kept (never the token itself).
type upResult struct {
	hetzner.Result
	Software       string `json:"software,omitempty"`
	AdminTokenFile string `json:"admin_token_file,omitempty"`
}

// printNextSteps tells the lead what to do once the server is ready.
func printNextSteps(w io.Writer, file string, r upResult, smtp bool) {
	fmt.Fprintf(w, "Admin token for Lifeboat: %s (readable by you only; reused by the next run)\n\n", r.AdminTokenFile)
	fmt.Fprintf(w, "%s is ready for the group. Next:\n", r.URL)
	fmt.Fprintf(w, "  1. Send the pledge links:   lifeboat pledges open %s --base-url https://YOUR-LIFEBOAT-PAGES\n", file)
	fmt.Fprintf(w, "  2. Run the group's pages:   lifeboat serve %s --base-url https://YOUR-LIFEBOAT-PAGES\n", file)
	fmt.Fprintln(w, "     it launches when the group is viable; members redeem their invites at lifeboat serve")
	fmt.Fprintf(w, "     and sign up on %s themselves, confirming their email address.\n", r.URL)
	fmt.Fprintf(w, "  3. Follow the count:        lifeboat pledges status %s\n", file)
	if !smtp {
		fmt.Fprintln(w, "\nThe server has no mail relay (LIFEBOAT_SMTP_* were not set): it cannot send the")
		fmt.Fprintln(w, "confirmations members need to finish signing up. Before anyone joins, set them and")
		fmt.Fprintln(w, "run lifeboat up again; the new cloud-init replaces the server (a fresh admin too).")
	}
}
