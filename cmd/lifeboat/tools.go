package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/internal/tools"
)

func newToolsCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tools",
		Short: "Install the real components Lifeboat runs (cached)",
	}
	install := &cobra.Command{
		Use:   "install [postgres|gotosocial|terraform|hcloud|restic|chromium|debian-root|s3-server|pebble|graph-references]...",
		Short: "Install and cache components; a second run does nothing",
		Long: `Install builds or installs each named component once and caches it under
$LIFEBOAT_TOOLS (default: the user cache dir). GoToSocial, Terraform and the
hcloud provider are built from the Go module proxy; PostgreSQL and Chromium
come from Debian packages. debian-root is a Debian root filesystem built with
debootstrap from Debian's mirror (as root), where the tests boot a new
server's cloud-init under systemd-nspawn. restic (for lifeboat backup and
restore) and s3-server (Versity's S3 gateway, the tests' bucket) are built
from the Go module proxy. graph-references are Debian's networkx and
igraph, which the graph benchmark measures against. pebble is Let's
Encrypt's ACME test server, which the campaign home's boot test gets its
certificate from.`,
		Example: "  lifeboat tools install gotosocial\n  LIFEBOAT_TOOLS=.tools lifeboat tools install postgres terraform hcloud",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := tools.New()
			in.Log = app.Stderr
			ctx := cmd.Context()
			for _, name := range args {
				var where string
				var err error
				switch name {
				case "postgres":
					where, err = in.Postgres(ctx)
				case "gotosocial":
					var g tools.GoToSocial
					g, err = in.GoToSocial(ctx)
					where = g.Bin
				case "terraform":
					where, err = in.Terraform(ctx)
				case "hcloud":
					where, err = in.HcloudMirror(ctx)
				case "chromium":
					where, err = in.Chromium(ctx)
				case "restic":
					where, err = in.Restic(ctx)
				case "s3-server":
					where, err = in.S3Server(ctx)
				case "debian-root":
					where, err = in.DebianRoot(ctx)
				case "graph-references":
					where, err = in.GraphReferences(ctx)
				case "pebble":
					where, err = in.Pebble(ctx)
				default:
					return usageErrorf("unknown component %q: want postgres, gotosocial, terraform, hcloud, restic, chromium, debian-root, s3-server, pebble or graph-references", name)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(app.Stdout, "%s\t%s\n", name, where)
			}
			return nil
		},
	}
	cmd.AddCommand(install)
	return cmd
}
