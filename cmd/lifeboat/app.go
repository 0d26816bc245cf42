package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lifeboat-social/lifeboat/store"
)

// App holds what commands share: output streams, where state lives, and
// the store (opened on first use, so commands that need none stay fast).
type App struct {
	Stdout, Stderr io.Writer
	StateDir       string
	DatabaseURL    string

	st store.Store
}

func newApp() *App {
	return &App{
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		StateDir:    defaultStateDir(),
		DatabaseURL: os.Getenv("LIFEBOAT_DATABASE_URL"),
	}
}

// defaultStateDir is $LIFEBOAT_STATE, else $XDG_STATE_HOME/lifeboat, else
// ~/.local/state/lifeboat.
func defaultStateDir() string {
	if d := os.Getenv("LIFEBOAT_STATE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "lifeboat")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "lifeboat")
	}
	return filepath.Join(os.TempDir(), "lifeboat-state")
}

// Close releases the store if it was opened.
func (a *App) Close() {
	if a.st != nil {
		a.st.Close()
	}
}

// usageError marks bad input or usage: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErr(err error) error { return usageError{err} }

func usageErrorf(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// silentError carries an exit code for a failure that was already
// reported (e.g. check printed every problem).
type silentError struct{ code int }

func (e silentError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func exitCode(err error) int {
	var s silentError
	if errors.As(err, &s) {
		return s.code
	}
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// Store opens the store on first use: PostgreSQL when a database URL is
// set, else SQLite in the state directory.
func (a *App) Store(ctx context.Context) (store.Store, error) {
	if a.st != nil {
		return a.st, nil
	}
	st, err := store.Open(ctx, store.Config{Dir: a.StateDir, URL: a.DatabaseURL})
	if err != nil {
		return nil, err
	}
	a.st = st
	return st, nil
}

// GroupDir is where a group's own files live (a local server, Terraform
// state, exports), 0700.
func (a *App) GroupDir(name string) (string, error) {
	d := filepath.Join(a.StateDir, "groups", name)
	return d, os.MkdirAll(d, 0o700)
}
