package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
)

func newRunCmd(app *App) *cobra.Command {
	var (
		f      hetznerFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "run GROUP.yaml",
		Short: "Run the group's playbook: launch when viable, then seed the mesh as members arrive",
		Long: `Run runs the playbook of the group's destination (playbooks/existing.yaml or
playbooks/new.yaml): it makes the destination ready (checks an existing
server; provisions or finds the group's own), launches once the group is
viable and the destination ready (at the group's launch_at, waiting for it
when it is in the future), issues the personal invites, and seeds follows, lists and the
welcome for every member who has arrived so far. Every step is journaled:
run it again as members arrive, or after a crash, and only what is missing
is done. Hand out the invites with "lifeboat serve" or "lifeboat invites
export". For the local destination use "lifeboat demo --group FILE".`,
		Example: `  lifeboat run group.yaml                      # an existing server
  HCLOUD_TOKEN_FILE=~/.config/hcloud-token lifeboat run group.yaml --ssh-from 203.0.113.7
  lifeboat run group.yaml --json`,
		Args: hetznerArgs("run"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			g, probs := groups.Load(args[0])
			if len(probs) > 0 {
				for _, p := range probs {
					fmt.Fprintln(app.Stderr, safetext.Line(p.String()))
				}
				return silentError{code: 2}
			}
			if g.Destination.Type == groups.DestLocal {
				return usageErrorf("%s: the local destination is for trying an escape: run lifeboat demo --group %s", args[0], args[0])
			}
			if len(f.sshFrom) > 0 {
				app.Config.SSHFrom = f.sshFrom
			}
			dest, err := app.destination(ctx, g)
			if err != nil {
				return hetznerErr(err)
			}
			st, err := app.Store(ctx)
			if err != nil {
				return err
			}
			x := escape.New(escape.Config{Store: st, Group: g, Dest: dest, Ready: destinationReady(app, st, g, args[0]), Emit: progress.Plain(app.Stderr, time.Second)})
			rep, err := x.Run(ctx, g.Destination.Type)
			if err != nil {
				return hetznerErr(err)
			}
			if asJSON {
				return json.NewEncoder(app.Stdout).Encode(rep)
			}
			fmt.Fprintf(app.Stdout, "%s on %s: %d of %d members arrived, %d follows seeded, %d lists.\n"+
				"Run this again as members arrive; invites: lifeboat invites export %s\n",
				safetext.Line(g.Title), rep.Server, rep.AccountsCreated, rep.Members, rep.FollowsSeeded, rep.ListsCreated, filepath.Base(args[0]))
			return nil
		},
	}
	f.register(cmd, false)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as one JSON object on stdout")
	return cmd
}
