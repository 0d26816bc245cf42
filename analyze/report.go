package analyze

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Report is the answer to "which subgroup would stay?", worded once for
// the command's text and JSON output.
type Report struct {
	Nodes       int         `json:"nodes"`
	Edges       int         `json:"edges"`
	MinFollows  int         `json:"min_follows"`
	ViableSize  int         `json:"viable_size"`
	Viable      []string    `json:"viable"` // labels exactly as written in the input
	Communities []Community `json:"communities"`
	Modularity  float64     `json:"modularity"`
	Retention   Spread      `json:"retention"`
	Suggestions []Suggested `json:"suggestions"`
	DurationS   float64     `json:"duration_s"`
	community   []int32     // by node, for the picture
	viableSet   []bool      // by node
	graph       *Graph
}

// Community is one topic community, largest first.
type Community struct {
	Size int `json:"size"`
	// Viable is how many of its members are in the viable set.
	Viable int `json:"viable"`
}

// Suggested is a Suggestion with its label, for output.
type Suggested struct {
	Label      string  `json:"label"`
	FollowedBy int     `json:"followed_by"`
	MinAfter   float64 `json:"min_retention_after"`
}

// Options tune an analysis.
type Options struct {
	MinFollows  int    // K: everyone in the viable set follows at least K others in it
	Seed        uint64 // the community search's visiting order
	Suggestions int    // how many growth suggestions; 0: none
	// Within, when set, is the starting point: only these nodes may be
	// in the viable set (see ViableWithin).
	Within []bool
}

// MaxFileSize caps an edge list file: a network-wide slice of tens of
// millions of follows is a few hundred megabytes.
const MaxFileSize = 8 << 30

// ErrTooLarge is an edge list over MaxFileSize.
var ErrTooLarge = fmt.Errorf("edge lists are limited to %d GiB", MaxFileSize>>30)

// ReadFile reads an edge list file, refusing one over MaxFileSize.
func ReadFile(path string) (*Graph, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileSize {
		return nil, ErrTooLarge
	}
	lr := &io.LimitedReader{R: f, N: MaxFileSize + 1}
	g, err := ReadEdges(lr)
	if err == nil && lr.N == 0 {
		return nil, ErrTooLarge
	}
	var le *LineError
	if errors.As(err, &le) {
		return nil, fmt.Errorf("%s:%d: %s", path, le.Line, le.Msg)
	}
	return g, err
}

// Analyze finds the viable set, the communities, the retention and the
// growth suggestions of g. start is when the work began (reading
// included), for DurationS.
func Analyze(g *Graph, o Options, start time.Time) *Report {
	r := &Report{Nodes: g.N(), Edges: g.Edges(), MinFollows: o.MinFollows, graph: g}
	r.viableSet = g.ViableWithin(o.MinFollows, o.Within)
	r.Viable = []string{}
	for v, in := range r.viableSet {
		if in {
			r.Viable = append(r.Viable, g.Labels[v])
		}
	}
	r.ViableSize = len(r.Viable)
	r.community, r.Modularity = g.Communities(o.Seed)
	for v, c := range r.community {
		for int(c) >= len(r.Communities) {
			r.Communities = append(r.Communities, Community{})
		}
		r.Communities[c].Size++
		if r.viableSet[v] {
			r.Communities[c].Viable++
		}
	}
	r.Retention = SpreadOf(g.Retention(r.viableSet))
	r.Suggestions = []Suggested{}
	if o.Suggestions > 0 && r.ViableSize > 0 {
		for _, s := range g.Suggest(r.viableSet, o.Suggestions) {
			r.Suggestions = append(r.Suggestions, Suggested{Label: g.Labels[s.Node], FollowedBy: s.FollowedBy, MinAfter: s.MinAfter})
		}
	}
	r.DurationS = time.Since(start).Seconds()
	return r
}
