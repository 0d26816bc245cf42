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

// stopDemo stops the local server of the group named (with --group or
// --members), or else every local server a demo left running in the state
// directory, whichever group it was for, and names what it stopped.
func stopDemo(ctx context.Context, app *App, group string, named bool) error {
	names := []string{group}
	if !named {
		dirs, _ := filepath.Glob(filepath.Join(destination.LocalDir(app.StateDir, "*"), "gotosocial.pid"))
		names = names[:0]
		for _, d := range dirs {
			names = append(names, filepath.Base(filepath.Dir(filepath.Dir(d))))
		}
		slices.Sort(names)
	}
	stopped := 0
	for _, name := range names {
		dir := destination.LocalDir(app.StateDir, name)
		if _, err := os.Stat(filepath.Join(dir, "gotosocial.pid")); err != nil {
			continue
		}
		if err := local.StopRunning(ctx, dir); err != nil {
			return err
		}
		fmt.Fprintf(app.Stdout, "The demo server of %s is stopped.\n", name)
		stopped++
	}
	if stopped == 0 {
		fmt.Fprintln(app.Stdout, "No demo server is running.")
	}
	return nil
}
