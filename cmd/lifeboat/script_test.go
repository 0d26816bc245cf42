package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the lifeboat command inside
// scripts, so they run the real command line end to end.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"lifeboat": func() { os.Exit(run(context.Background(), os.Args[1:])) },
	})
}

// TestScript runs testdata/script/*.txtar. Besides the standard commands
// they can use:
//
//	exits CODE CMD [ARGS…]  run CMD and require exactly exit code CODE
//	filemode FILE MODE      require FILE's permission bits, e.g. 0644
func TestScript(t *testing.T) {
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	exports, err := filepath.Abs("../../analyze/follows/testdata")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("LIFEBOAT_STATE", filepath.Join(env.WorkDir, ".state"))
			env.Setenv("EXAMPLES", examples)
			env.Setenv("EXPORTS", exports)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exits CODE CMD [ARGS…]")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("exits: bad code %q", args[0])
				}
				got := 0
				if err := ts.Exec(args[1], args[2:]...); err != nil {
					var ee *exec.ExitError
					if !errors.As(err, &ee) {
						ts.Fatalf("exits: %v", err)
					}
					got = ee.ExitCode()
				}
				if got != want {
					ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
				}
			},
			"filemode": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: filemode FILE MODE")
				}
				want, err := strconv.ParseUint(args[1], 8, 32)
				if err != nil {
					ts.Fatalf("filemode: bad mode %q", args[1])
				}
				fi, err := os.Stat(ts.MkAbs(args[0]))
				ts.Check(err)
				if got := fi.Mode().Perm(); got != os.FileMode(want) {
					ts.Fatalf("%s has mode %#o, want %#o", args[0], got, want)
				}
			},
		},
	})
}
