package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
)

// checkResult is one file in `check --json`.
type checkResult struct {
	File     string         `json:"file"`
	Valid    bool           `json:"valid"`
	Problems []checkProblem `json:"problems"`
}

type checkProblem struct {
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

func newCheckCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check FILE…",
		Short: "Check group files and report every problem",
		Long: `Check reads each group file and reports every problem at once, one per
line on stderr as FILE:LINE:COL: message. It exits 0 when all files are
valid and 2 when any has a problem.`,
		Example: `  lifeboat check group.yaml
  lifeboat check --json examples/*.yaml`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("check needs at least one group file, e.g. lifeboat check group.yaml")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			results := make([]checkResult, 0, len(args))
			bad := false
			for _, file := range args {
				g, probs := groups.Load(file)
				r := checkResult{File: file, Valid: len(probs) == 0, Problems: []checkProblem{}}
				for _, p := range probs {
					fmt.Fprintln(app.Stderr, safetext.Line(p.String()))
					r.Problems = append(r.Problems, checkProblem{Line: p.Line, Col: p.Col, Message: p.Msg})
				}
				if !r.Valid {
					bad = true
				} else if !asJSON {
					fmt.Fprintf(app.Stdout, "%s: ok (%d members, destination %s)\n", safetext.Line(file), len(g.Members), g.Destination.Type)
				}
				results = append(results, r)
			}
			if asJSON {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(results); err != nil {
					return fmt.Errorf("write json: %w", err)
				}
			}
			if bad {
				return silentError{code: 2}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of {file, valid, problems} on stdout")
	return cmd
}
