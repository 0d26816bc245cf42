package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// the module version from the build info is used.
var version = ""

func newVersionCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		Args:    cobra.NoArgs,
		Example: "  lifeboat version",
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(app.Stdout, "lifeboat", lifeboatVersion())
			return nil
		},
	}
}

// lifeboatVersion is this build's version: the one set at build time,
// else the module's, else "(devel)".
func lifeboatVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
