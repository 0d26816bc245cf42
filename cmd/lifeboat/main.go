// Command lifeboat moves a whole group off a centralised network onto a
// Mastodon-API server together. main builds the root command; each verb
// lives in its own file.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/internal/safetext"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

// run executes the command line and returns the exit code: 0 ok, 1
// failure, 2 bad input or usage.
func run(ctx context.Context, args []string) int {
	app := newApp()
	defer app.Close()
	return runApp(ctx, app, args)
}

// runApp executes the command line with app's streams and state.
func runApp(ctx context.Context, app *App, args []string) int {
	root := newRootCmd(app)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if isCobraUsage(err) {
		err = usageErr(err)
	}
	var silent silentError
	if !errors.As(err, &silent) {
		// Errors quote files, requests and servers.
		fmt.Fprintln(app.Stderr, "lifeboat:", safetext.Block(err.Error()))
	}
	return exitCode(err)
}

func newRootCmd(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "lifeboat",
		Short: "Move a whole group to a Mastodon-API server, together",
		Long: `Lifeboat moves a group of people off a centralised network onto a
Mastodon-API server at the same moment: members pledge to go if enough others
go, and when the group is viable everyone gets an account, follows everyone
else and finds a list of the group ready.`,
		Example: `  lifeboat init group.yaml      # write a starter group file
  lifeboat check group.yaml     # validate it
  lifeboat demo                 # the whole escape on a local server`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.MaximumNArgs(1),
		RunE:          func(cmd *cobra.Command, args []string) error { return runTUI(cmd, app, args) },
	}
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	root.PersistentFlags().StringVar(&app.StateDir, "state", app.StateDir, "state directory (default $LIFEBOAT_STATE or the XDG state dir)")
	root.PersistentFlags().StringVar(&app.DatabaseURL, "database", app.DatabaseURL, "PostgreSQL URL for shared state (default $LIFEBOAT_DATABASE_URL; SQLite otherwise)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageErr(err) })
	root.AddCommand(
		newVersionCmd(app),
		newToolsCmd(app),
		newDemoCmd(app),
		newRunCmd(app),
		newCheckCmd(app), newInitCmd(app),
		newPlanCmd(app), newUpCmd(app), newDownCmd(app), newBackupCmd(app), newRestoreCmd(app),
		newServeCmd(app), newPledgesCmd(app), newInvitesCmd(app), newMembersCmd(app), newAnnounceCmd(app),
		newScoutCmd(app), newRequestCmd(app), newAdminCmd(app),
		newAnalyzeCmd(app), newImportCmd(app),
		newSecretsCmd(app),
		newHomeCmd(app),
	)
	return root
}

// isCobraUsage recognises the argument errors cobra makes itself (unknown
// command, wrong number of arguments), which it does not type: they are
// usage errors, exit 2.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command ", "accepts ", "requires at least ", "requires at most ", "invalid argument "} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
