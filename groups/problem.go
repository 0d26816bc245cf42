package groups

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a group file, at the line and column
// (both 1-based) of the YAML node it concerns. Line 0 means the problem is
// with the file as a whole (it could not be read).
type Problem struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
	Msg  string `json:"message"`
}

// String formats the problem as FILE:LINE:COL: message, the form editors
// and CI annotate; a problem without a position is FILE: message.
func (p Problem) String() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
}

func (p Problem) Error() string { return p.String() }

// Problems is every problem found in one file, sorted by position. It
// implements error so callers can return it; use Err to turn an empty list
// into a nil error (a nil Problems stored in an error is not nil).
type Problems []Problem

// Error lists the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Err returns nil when there are no problems, else ps.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

func (ps Problems) sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Col < ps[j].Col
	})
}
