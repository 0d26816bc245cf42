package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/lifeboat-social/lifeboat/provision/destination"
	"github.com/lifeboat-social/lifeboat/provision/local"
)

// stopDemo stops the local servers (the room and, with remote members,
// theirs) of the group named (with --group, --members or
// --remote-members), or else every local server a demo left running in
// the state directory, whichever group it was for, and names what it
// stopped.
func stopDemo(ctx context.Context, app *App, group string, named bool) error {
	names := []string{group}
	if !named {
		names = names[:0]
		for _, dir := range []string{destination.LocalDir(app.StateDir, "*"), destination.RemoteDir(app.StateDir, "*")} {
			pids, _ := filepath.Glob(filepath.Join(dir, "gotosocial.pid"))
			for _, p := range pids {
				names = append(names, filepath.Base(filepath.Dir(filepath.Dir(p))))
			}
		}
		slices.Sort(names)
		names = slices.Compact(names)
	}
	stopped := 0
	for _, name := range names {
		servers := []struct{ dir, what string }{
			{destination.LocalDir(app.StateDir, name), "demo server"},
			{destination.RemoteDir(app.StateDir, name), "remote members' server"},
		}
		for _, s := range servers {
			if _, err := os.Stat(filepath.Join(s.dir, "gotosocial.pid")); err != nil {
				continue
			}
			if err := local.StopRunning(ctx, s.dir); err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "The %s of %s is stopped.\n", s.what, name)
			stopped++
		}
	}
	if stopped == 0 {
		fmt.Fprintln(app.Stdout, "No demo server is running.")
	}
	return nil
}
