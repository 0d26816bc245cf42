package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
)

func newDownCmd(app *App) *cobra.Command {
	var confirm string
	var noExport bool
	cmd := &cobra.Command{
		Use:   "down GROUP.yaml",
		Short: "Export the server's database, then destroy the group's server",
		Long: `Down first exports a fresh database dump over SSH into the group's state
directory, then destroys everything up created (server, addresses, volume,
firewall, SSH key). When the group's server lives on its campaign home, down
removes GoToSocial, its data and its Caddy site from the home's machine, and
the home keeps running. It asks you to type the group's name first; --confirm
NAME does the same for scripts. Running it again when nothing is left is
not an error.`,
		Example: `  lifeboat down group.yaml
  lifeboat down group.yaml --confirm valley-cyclists --no-export`,
		Args: hetznerArgs("down"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, err := hetznerSetup(ctx, app, args[0], hetznerFlags{})
			if err != nil {
				return err
			}
			name := cfg.Group.Name
			p := hetzner.New(cfg)
			onHome := p.OnHome()
			what := "This destroys the server of " + name + " and everything on it."
			if onHome {
				what = "This removes GoToSocial for " + name + " and everything in it from the campaign home (the home keeps running)."
			}
			if err := confirmGroupName(cmd, app, confirm, name, what, "destroyed"); err != nil {
				return err
			}
			emit := progress.Plain(app.Stderr, 0)
			switch {
			case noExport:
			case hetzner.IsLoopbackEndpoint(cfg.Endpoint):
				fmt.Fprintln(app.Stderr, "lifeboat: HCLOUD_ENDPOINT is on this machine (a fake API): no server to export from")
			default:
				path, err := p.Export(ctx, emit)
				switch {
				case errors.Is(err, hetzner.ErrNothing):
				case err != nil:
					return fmt.Errorf("%w\nnothing was destroyed; fix the export or pass --no-export to destroy without one", err)
				default:
					fmt.Fprintf(app.Stdout, "Exported the database to %s\n", path)
				}
			}
			err = p.Down(ctx, emit)
			if errors.Is(err, hetzner.ErrNothing) {
				fmt.Fprintf(app.Stdout, "Nothing to destroy for %s.\n", name)
				return nil
			}
			if err != nil {
				return hetznerErr(err)
			}
			if onHome {
				fmt.Fprintf(app.Stdout, "Took GoToSocial for %s off the campaign home, which keeps running. Remove the group domain's DNS records at your DNS provider.\n", name)
				return nil
			}
			fmt.Fprintf(app.Stdout, "Destroyed the server of %s. Remove its DNS records at your DNS provider.\n", name)
			return nil
		},
	}
	cmd.Flags().StringVar(&confirm, "confirm", "", "the group's name, to destroy without the prompt")
	cmd.Flags().BoolVar(&noExport, "no-export", false, "destroy without exporting the database first")
	return cmd
}

// confirmGroupName makes the lead type the group's name (or pass it as
// given, from --confirm) before something that cannot be undone; what
// says what will happen, and undone what a refusal left unchanged
// ("destroyed", "changed").
func confirmGroupName(cmd *cobra.Command, app *App, given, name, what, undone string) error {
	if given == "" {
		fmt.Fprintf(app.Stderr, "%s\nType the group's name (%s) to go on: ", what, name)
		line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
		given = strings.TrimSpace(line)
	}
	if given != name {
		return usageErrorf("not confirmed: %q is not the group's name %q; nothing was %s", safetext.Line(given), name, undone)
	}
	return nil
}
