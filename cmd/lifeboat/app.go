package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/config"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/destination"
)

// App holds what commands share: output streams, the configuration, and
// the store (opened on first use, so commands that need none stay fast).
type App struct {
	Stdout, Stderr io.Writer
	// StateDir and DatabaseURL are the configuration's, as the --state
	// and --database flags may override them.
	StateDir    string
	DatabaseURL string
	// Config is the rest of the configuration, read once at start.
	Config config.Config

	loaded bool  // Config was read (an App made as a literal reads it on first use)
	cfgErr error // the environment's configuration is bad
	st     store.Store
}

func newApp() *App {
	cfg, err := config.Load(os.Getenv)
	return &App{
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		StateDir:    cfg.StateDir,
		DatabaseURL: cfg.DatabaseURL,
		Config:      cfg,
		loaded:      true,
		cfgErr:      err,
	}
}

// config is the configuration with the flags' overrides, or why the
// environment's is unusable (bad input).
func (a *App) config() (config.Config, error) {
	if !a.loaded {
		a.Config, a.cfgErr = config.Load(os.Getenv)
		a.loaded = true
	}
	if a.cfgErr != nil {
		return config.Config{}, usageErr(a.cfgErr)
	}
	c := a.Config
	c.StateDir, c.DatabaseURL = a.StateDir, a.DatabaseURL
	return c, nil
}

// destination builds the group's destination (the one builder), its
// tools' output going to stderr.
func (a *App) destination(ctx context.Context, g *groups.Group) (provision.Destination, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	return destination.For(ctx, g, destination.Config{Config: cfg, Log: a.Stderr})
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
	d := destination.GroupDir(a.StateDir, name)
	return d, os.MkdirAll(d, 0o700)
}
